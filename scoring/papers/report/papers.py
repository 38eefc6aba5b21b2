"""The reviewers' papers: the 初评意见表 (what a chain of reviews changed, for one county) and the city's
summary of all its counties. Each has a context of plain strings, built here; the templates
(review_changes.html, review_summary.html) lay them out and never see scoring objects.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scoring.base.numbers import fmt
from scoring.base.text import cn_date
from scoring.domain.model import OUTCOME, STAGES, Stage
from scoring.domain.records import Summary
from scoring.papers.changes import Changes, Entry, StageChanges
from scoring.papers.report import render, template_dirs
from scoring.papers.report.committee import committee_context
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
        title=f"{assessee}{programme(r)}{r.stage_name(last.stage.name)}意见表", assessee=assessee,
        rubric=f"{r.title}（{r.version}）", bundle_sha256=b.sha256, mandatory_noun=noun,
        standings=tuple(standings(ch.result)), stages=tuple(_stage(ch, s) for s in ch.stages),
        unaddressed=tuple(OpenClaim(i.id, i.indicator.title, fmt(i.own.points), fmt(i.own.supported),
                                    tuple(f.message for f in i.own.flags)) for i in ch.unaddressed),
        unit=last.stage.unit, reviewer=_reviewers(last.stage), date=cn_date(last.stage.date),
        verdict=last.after.verdict.text, outcome=last.outcome)


def _entry(e: Entry) -> EntryRow:
    return EntryRow(e.shown, e.override.reason, e.override.author)


def _stage(ch: Changes, s: StageChanges) -> StageView:
    rows = tuple(ChangeRow(c.indicator.id, c.indicator.indicator.title, fmt(c.indicator.indicator.max),
                           fmt(c.before.points), fmt(c.after.points), fmt(c.before.supported), fmt(c.after.supported),
                           tuple(_entry(e) for e in c.entries))
                 for c in s.changes)
    titles = {i.id: i.indicator.title for i in ch.result.indicators}
    pending = tuple(PendingRow(e.override.indicator, titles.get(e.override.indicator, ""), _entry(e))
                    for e in s.pending)
    return StageView(ch.result.rubric.stage_name(s.stage.name), s.stage.unit, _reviewers(s.stage), cn_date(s.stage.date), rows, pending)


def _reviewers(stage: Stage) -> str:
    """Everyone who made the stage's entries (the review desk records each entry's signed-in reviewer), the
    file's reviewer first."""
    return "、".join(dict.fromkeys(x for x in (stage.author, *(o.author for o in (*stage.overrides, *stage.pending))) if x))


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


PAPERS.update({"changes": ("review_changes.html", changes_context), "summary": ("review_summary.html", summary_context),
               "rating": ("committee.html", committee_context)})
