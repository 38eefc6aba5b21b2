"""The reviewers' papers: the 初评意见表 (what a chain of reviews changed, for one county) and the city's
summary of all its counties. Each has a context of plain strings, built here; the templates
(review_changes.html, review_summary.html) lay them out and never see scoring objects.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from scoring.base.numbers import ZERO, fmt
from scoring.base.text import cn_date
from scoring.domain.model import OUTCOME, STAGES
from scoring.domain.records import DistrictTotals, Rating, Summary
from scoring.papers.changes import Changes, Entry, StageChanges
from scoring.papers.report import render, template_dirs
from scoring.papers.report.context import Standing, programme, standings


@dataclass(frozen=True)
class EntryRow:
    text: str
    reason: str
    reviewer: str


@dataclass(frozen=True)
class ChangeRow:
    id: str
    title: str
    max: str
    before: str
    after: str
    before_supported: str
    after_supported: str
    entries: tuple[EntryRow, ...]


@dataclass(frozen=True)
class PendingRow:
    id: str
    title: str
    entry: EntryRow


@dataclass(frozen=True)
class StageView:
    name: str
    unit: str
    reviewer: str
    date: str  # 2022年12月5日, or ""
    changes: tuple[ChangeRow, ...]
    pending: tuple[PendingRow, ...]


@dataclass(frozen=True)
class OpenClaim:
    id: str
    title: str
    score: str
    supported: str
    flags: tuple[str, ...]


@dataclass(frozen=True)
class ChangesContext:
    """The 意见表, as `paper` in review_changes.html."""

    title: str
    assessee: str
    rubric: str  # title（version）
    bundle_sha256: str
    mandatory_noun: str  # "" when the rubric has no mandatory indicators
    standings: tuple[Standing, ...]  # 自评, then each stage
    stages: tuple[StageView, ...]
    unaddressed: tuple[OpenClaim, ...]
    unit: str  # the last stage's reviewing unit, for the sign-off
    reviewer: str
    date: str
    verdict: str
    outcome: str  # 推荐, 通过验收 …


def changes_context(ch: Changes) -> ChangesContext:
    r, b, last = ch.result.rubric, ch.result.bundle, ch.stages[-1]
    assessee = b.assessee.get("name", "").strip()
    noun = r.natures.must if any(i.mandatory for i in r.indicators) else ""
    return ChangesContext(
        title=f"{assessee}{programme(r)}{last.stage.name}意见表", assessee=assessee,
        rubric=f"{r.title}（{r.version}）", bundle_sha256=b.sha256, mandatory_noun=noun,
        standings=tuple(standings(ch.result)), stages=tuple(_stage(ch, s) for s in ch.stages),
        unaddressed=tuple(OpenClaim(i.id, i.indicator.title, fmt(i.own.points), fmt(i.own.supported),
                                    tuple(f.message for f in i.own.flags)) for i in ch.unaddressed),
        unit=last.stage.unit, reviewer=last.stage.author, date=cn_date(last.stage.date),
        verdict=last.after.verdict.text, outcome=last.outcome)


def _entry(e: Entry) -> EntryRow:
    return EntryRow(e.text, e.override.reason, e.override.author)


def _stage(ch: Changes, s: StageChanges) -> StageView:
    rows = tuple(ChangeRow(c.indicator.id, c.indicator.indicator.title, fmt(c.indicator.indicator.max),
                           fmt(c.before.points), fmt(c.after.points), fmt(c.before.supported), fmt(c.after.supported),
                           tuple(_entry(e) for e in c.entries))
                 for c in s.changes)
    titles = {i.id: i.indicator.title for i in ch.result.indicators}
    pending = tuple(PendingRow(e.override.indicator, titles.get(e.override.indicator, ""), _entry(e))
                    for e in s.pending)
    return StageView(s.stage.name, s.stage.unit, s.stage.author, cn_date(s.stage.date), rows, pending)


PAPERS: dict[str, tuple[str, Callable[[Any], Any]]] = {}  # subject -> (template, context builder)


def html(subject: str, obj: Any, templates: Path | None = None, archive: render.Archive | None = None) -> str:
    """A paper's HTML: its template over the context built from the object, and the SHA-256 of the JSON the
    PDF carries (`json_sha256`, for the signature block)."""
    template, context = PAPERS[subject]
    digest = hashlib.sha256(archive.data).hexdigest() if archive else ""
    return render.render_html(template, template_dirs(templates), paper=context(obj), json_sha256=digest)


def pdf(subject: str, obj: Any, templates: Path | None = None, archive: render.Archive | None = None) -> bytes:
    """A paper as PDF/A-3b, carrying `archive` (the JSON of the same object) when given."""
    render.require_cjk_font()
    return render.render_pdf(html(subject, obj, templates, archive), template_dirs(templates), None, archive)[0]


@dataclass(frozen=True)
class Cell:
    total: str
    supported: str
    mandatory: str


@dataclass(frozen=True)
class CountyRow:
    no: int
    name: str  # the assessee, else the bundle's file name
    cells: tuple[Cell | None, ...]  # per stage of the summary; None where the county has not reached it
    verdict: str
    passed: bool
    recommended: str
    pending: int
    error: str


@dataclass(frozen=True)
class SummaryContext:
    """The city's summary table, as `paper` in review_summary.html."""

    title: str
    rubric: str
    stages: tuple[str, ...]
    mandatory_noun: str  # "" for no mandatory column
    rows: tuple[CountyRow, ...]
    counted: str  # 共 12 个县（市、区）…
    problems: tuple[str, ...]
    unit: str


def summary_context(s: Summary) -> SummaryContext:
    rows = []
    for k, c in enumerate(s.counties, start=1):
        cells = tuple(Cell(fmt(f.total), fmt(f.supported), f"{f.mandatory_met}/{f.mandatory_total}") if f else None
                      for f in map(c.at, s.stages))
        last = c.stages[-1] if c.stages else None
        verdict = f"{last.stage}结论：{last.verdict}" if last else ""
        rows.append(CountyRow(k, c.name or c.source, cells, verdict, bool(last and last.passed),
                              c.recommended, sum(f.pending for f in c.stages), c.error))
    scored = [c for c in s.counties if not c.error]
    yes = sum(1 for c in scored if c.recommended == OUTCOME[STAGES[1]][0])
    counted = f"共 {len(s.counties)} 个材料包，评分 {len(scored)} 个，其中{STAGES[1]}推荐 {yes} 个"
    if len(scored) < len(s.counties):
        counted += f"；{len(s.counties) - len(scored)} 个材料包无法评分，见表中说明"
    return SummaryContext(f"{s.unit}{STAGES[1]}情况汇总表" if s.unit else f"{STAGES[1]}情况汇总表", s.rubric,
                          s.stages, s.mandatory, tuple(rows), counted, s.problems, s.unit)


# ---------------------------------------------------------------- a rating committee's papers


@dataclass(frozen=True)
class BandCount:
    band: str
    count: int
    ratio: float  # of the largest count, for the bar chart


@dataclass(frozen=True)
class RankRow:
    rank: str
    id: str
    name: str
    district: str
    score: str
    band: str
    reward: str
    payer: str
    refund: str
    rewarded: bool
    tie: bool
    line_after: bool  # the quota line falls after this row


@dataclass(frozen=True)
class MoneyRow:
    district: str
    centers: int
    rewarded: int
    reward: str
    payer: str
    refund: str


@dataclass(frozen=True)
class CenterNote:
    name: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class CommitteeContext:
    """The committee's paper, as `paper` in committee.html."""

    title: str
    rubric: str
    programme: str
    counted: str  # 全市共 N 个养老服务中心，参评 M 个…
    distribution: tuple[BandCount, ...]
    target: str  # 三星及以上 K 个，占全市 x%，目标 50%：已达到
    quota: str  # 奖励名额：全市 N 个 × 50% = Q 个
    payer: str
    refund_by: str
    ranking: tuple[RankRow, ...]
    ties: str  # "" when none
    money: tuple[MoneyRow, ...]
    total: MoneyRow
    exits: tuple[CenterNote, ...]
    broken: tuple[CenterNote, ...]
    flagged: tuple[CenterNote, ...]
    unrated: tuple[str, ...]
    problems: tuple[str, ...]


def committee_context(r: Rating) -> CommitteeContext:
    p, scored = r.programme, [c for c in r.centers if not c.error]
    counts = r.distribution
    top = max((n for _, n in counts), default=0) or 1
    rewarded = [c for c in scored if c.rewarded]
    last = rewarded[-1] if rewarded and r.quota is not None else None
    money, total = tuple(_money(d) for d in r.districts), _money(r.city)
    return CommitteeContext(
        title=f"{p.title}评定结果", rubric=r.rubric_title, programme=p.source or p.title,
        counted=(f"全市共 {r.city_total} 个养老服务中心，参评 {len(r.centers)} 个，评定 {len(scored)} 个"
                 + (f"，{len(r.centers) - len(scored)} 个材料包无法评定" if len(scored) < len(r.centers) else "")),
        distribution=tuple(BandCount(b, n, n / top) for b, n in counts),
        target=_target(r), quota=_quota_text(r), payer=p.payer or "兑现方", refund_by=p.refund_by,
        ranking=tuple(RankRow(str(c.rank or ""), c.id, c.name, c.district, fmt(c.score or ZERO), c.band or "未达到",
                              fmt(c.reward) if c.rewarded else "", fmt(c.payer_share) if c.rewarded else "",
                              fmt(c.refund) if c.rewarded else "", c.rewarded, c.tie, c is last) for c in scored),
        ties=(f"得分 {fmt(r.cut)} 分的 {len(r.ties)} 个中心在奖励名额线上并列（{'、'.join(r.ties)}），按方案"
              + ("均不予奖励" if p.ties == "exclude" else "均予奖励") + "，请评定委员会审定。") if r.ties and r.cut else "",
        money=money, total=total,
        exits=tuple(CenterNote(f"{c.name}（{c.id}）", (f"连续 {c.years_below} 年未达到{p.exit_below}",))
                    for c in r.centers if c.exit),
        broken=tuple(CenterNote(c.source, (c.error,)) for c in r.centers if c.error),
        flagged=tuple(CenterNote(f"{c.name}（{c.id}）", c.flags) for c in scored if c.flags),
        unrated=tuple(f"{n}（{i}，{d}）" for i, n, d in r.unrated), problems=r.problems)


def _money(d: DistrictTotals) -> MoneyRow:
    return MoneyRow(d.district or "（未填）", d.centers, d.rewarded, fmt(d.reward), fmt(d.payer_share), fmt(d.refund))


def _target(r: Rating) -> str:
    p = r.programme
    if not p.target_band or p.target_share is None or not r.city_total:
        return ""
    share = (Decimal(r.at_target) * 100 / r.city_total).quantize(Decimal("0.1"), ROUND_HALF_UP)
    met = "已达到" if share >= p.target_share else "未达到"
    return (f"{p.target_band}及以上 {r.at_target} 个，占全市 {r.city_total} 个的 {fmt(share)}%；"
            f"目标为不低于 {fmt(p.target_share)}%：{met}")


def _quota_text(r: Rating) -> str:
    p = r.programme
    if r.quota is None or p.quota_share is None:
        return "本方案不设奖励名额上限。"
    return f"奖励名额：全市 {r.city_total} 个 × {fmt(p.quota_share)}% = {r.quota} 个（向下取整）。"


@dataclass(frozen=True)
class PartRow:
    title: str
    score: str
    max: str
    share: str  # 80%


@dataclass(frozen=True)
class SheetContext:
    """One center's 评定结果单: score by part, band, what held it back, the reward and who pays."""

    anchor: str  # the id the sheet starts with, for splitting one layout into a PDF per center
    title: str
    name: str
    id: str
    district: str
    rubric: str
    programme: str
    stage: str
    score: str
    supported: str
    band: str
    rank: str
    next: str
    held: tuple[str, ...]
    parts: tuple[PartRow, ...]
    reward: str  # "" when none
    payer: str
    refund: str
    tie: str
    exit: str
    flags: tuple[str, ...]


def sheet_contexts(r: Rating) -> list[SheetContext]:
    p, out = r.programme, []
    for k, c in enumerate(c for c in r.centers if not c.error):
        parts = tuple(PartRow(t, fmt(s), fmt(m), f"{fmt((s * 100 / m).quantize(Decimal('0.1'), ROUND_HALF_UP))}%"
                              if m else "") for t, s, m in c.categories)
        out.append(SheetContext(
            anchor=f"c{k}", title=f"{c.name}星级评定结果", name=c.name, id=c.id, district=c.district,
            rubric=r.rubric_title, programme=p.title, stage=c.stage, score=fmt(c.score or ZERO),
            supported=fmt(c.supported or ZERO), band=c.band or "未达到星级", rank=f"{c.rank} / {len(r.centers)}",
            next=c.next or "", held=c.held, parts=parts,
            reward=fmt(c.reward) if c.rewarded else "", payer=f"{p.payer or '兑现方'}承担 {fmt(c.payer_share)} 元",
            refund=f"{p.refund_by}返还 {fmt(c.refund)} 元" if p.refund_by else "",
            tie=f"得分与奖励名额线上的其他中心并列，按方案{'不予' if p.ties == 'exclude' else '均予'}奖励" if c.tie else "",
            exit=f"连续 {c.years_below} 年未达到{p.exit_below}，取消运营资格" if c.exit else "", flags=c.flags))
    return out


def sheets_html(sheets: Sequence[SheetContext], templates: Path | None = None) -> str:
    return render.render_html("center_sheet.html", template_dirs(templates), sheets=sheets)


def sheet_pdfs(sheets: Sequence[SheetContext], templates: Path | None = None) -> list[bytes]:
    """Each center's sheet as its own PDF, from one layout of them all."""
    render.require_cjk_font()
    return render.render_parts(sheets_html(sheets, templates), template_dirs(templates), [s.anchor for s in sheets])


PAPERS.update({"changes": ("review_changes.html", changes_context), "summary": ("review_summary.html", summary_context),
               "rating": ("committee.html", committee_context)})
