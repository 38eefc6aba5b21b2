"""The rating committee's papers: the results (`committee.html`, `committee_context`) and each center's
评定结果 sheet (`center_sheet.html`, `sheet_contexts`), each with its context of plain strings: every figure
worded, every reason said (what held a center below the next band, the amount's formula, the quota place)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from pathlib import Path

from scoring.base.numbers import ZERO, fmt, grouped
from scoring.domain.model import STAGES
from scoring.domain.records import CenterRating, DistrictTotals, Rating, unsent
from scoring.papers.formats import stage_words
from scoring.papers.report import digest, render, template_dirs


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
    stage: str = ""  # 第三方评估, or that there is only the self-assessment
    claimed: str = ""  # the claimed score and band when they differ from the supported ones
    why: str = ""  # what held it below the next band, and the reward's formula or why there is none


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
    unrated: tuple[str, ...]  # registry centers without a bundle, the first UNRATED_LISTED of them
    problems: tuple[str, ...]
    unreadable: str = ""  # how the exit rule counts a submission missing or unreadable
    assessment: str = "评审"  # what the programme calls the assessment after the self-assessment
    line: str = ""  # the quota line's words
    unit: str = "养老服务中心"  # what is rated (养老机构), from the programme
    noun: str = "星级"  # what a band is called (等级), from the rubric or the programme's grade
    paid: str = "奖励"  # what the money is called (运营补助), from the programme
    graded: bool = False  # the grades come from the registry: nothing scored, ranked or staged
    basis: str = "评分依据"  # the label of `rubric`
    notes: tuple[str, ...] = ()  # what the programme decides that its source leaves open
    exit_rule: bool = True  # the programme has an exit rule (the paper then has a section on it)
    unrated_count: int = 0  # all registry centers without a bundle
    unrated_rest: str = ""  # "" when `unrated` lists them all; else how many more, by district, and where all are


# A registry may list far more centers than sent bundles (100,000 rows fit its budget): the paper names the
# first of those without a bundle and counts the rest by district, so its length does not grow with the
# registry; ratings.json, .csv and .xlsx list every one.
UNRATED_LISTED = 50
DISTRICTS_LISTED = 20


def committee_context(r: Rating) -> CommitteeContext:
    p, scored = r.programme, [c for c in r.centers if not c.error]
    counts = r.distribution
    top = max((n for _, n in counts), default=0) or 1
    rewarded = [c for c in scored if c.rewarded]
    last = rewarded[-1] if rewarded and r.quota is not None else None
    money, total = tuple(_money(d) for d in r.districts), _money(r.city)
    return CommitteeContext(
        title=f"{p.title}评定结果", rubric=r.rubric_title, programme=p.source or p.title,
        counted=_counted(r),
        distribution=tuple(BandCount(b, n, n / top) for b, n in counts),
        target=_target(r), quota=_quota_text(r), payer=p.payer or "兑现方", refund_by=p.refund_by,
        ranking=tuple(RankRow(str(c.rank or ""), c.id, c.name, c.district, fmt(c.score or ZERO), c.band or r.none,
                              grouped(c.reward) if c.rewarded else "", grouped(c.payer_share) if c.rewarded else "",
                              grouped(c.refund) if c.rewarded else "", c.rewarded, c.tie, c is last,
                              "仅自评" if c.stage == STAGES[0] else stage_words(p, c), _claimed(r, c), _why(r, c))
                      for c in scored),
        ties=_ties(r, len(rewarded)), money=money, total=total,
        exits=tuple(CenterNote(f"{c.name}（{c.id}）", (_exit_words(r, c),)) for c in r.centers if c.exit),
        broken=tuple(CenterNote(f"{c.name}（{c.id}），材料包 {c.source}" if c.name else c.source, (c.error,))
                     for c in r.submitted if c.error),
        flagged=tuple(CenterNote(f"{c.name}（{c.id}）", c.flags) for c in scored if c.flags),
        unrated=tuple(f"{n}（{i}，{d or '区（市）未填'}）" for i, n, d in r.unrated[:UNRATED_LISTED]),
        problems=_problems(r), unreadable=_unreadable(r), assessment=p.assessment,
        line=f"—— {p.money}名额线：以上获得{p.money} {len(rewarded)} 个（名额 {r.quota} 个） ——",
        unit=p.unit, noun=r.noun, paid=p.money, graded=p.graded, basis=f"{r.noun}依据" if p.graded else "评分依据",
        notes=p.notes, exit_rule=bool(p.exit_below), unrated_count=len(r.unrated),
        unrated_rest=_unrated_rest(r))


def _problems(r: Rating) -> tuple[str, ...]:
    """The run's problems; a registry center without a bundle among them only while the paper lists every
    such center by name (beyond that, the paragraph counting them says it once)."""
    if len(r.unrated) <= UNRATED_LISTED:
        return r.problems
    listed = {unsent(i, n) for i, n, _ in r.unrated}
    return tuple(p for p in r.problems if p not in listed)


def _unrated_rest(r: Rating) -> str:
    """After the names listed: how many more registry centers sent no bundle, by district, and where the
    full list is."""
    rest = len(r.unrated) - UNRATED_LISTED
    if rest <= 0:
        return ""
    counts = Counter(d or "区（市）未填" for _, _, d in r.unrated)
    shown = "、".join(f"{d} {n:,} 个" for d, n in list(counts.items())[:DISTRICTS_LISTED])
    if len(counts) > DISTRICTS_LISTED:
        others = list(counts.values())[DISTRICTS_LISTED:]
        shown += f"、其余 {len(others)} 个区（市）共 {sum(others):,} 个"
    return (f"等，另有 {rest:,} 个不在此列出（全部 {len(r.unrated):,} 个按区（市）："
            f"{shown}）；完整名单见 ratings.csv、ratings.xlsx 和 ratings.json")


def _why(r: Rating, c: CenterRating) -> str:
    """What held a center below the next band, and the reward's formula or why there is none, in words."""
    held = r.none if r.programme.graded and c.band is None else ""
    if c.held and c.next:
        held = f"{'未达到' if c.band is None else '未达'}{c.next}：{c.held[0]}"
        held += f"等 {len(c.held)} 项" if len(c.held) > 1 else ""
    return "；".join(x for x in (held, _reward_words(r, c)) if x)


def _reward_words(r: Rating, c: CenterRating) -> str:
    money = r.programme.money
    if c.rewarded:
        return f"{money} {c.formula} 元" if c.formula else ""
    if c.band is None or c.error:
        return f"不予{money}" if c.band is None and not c.error else ""
    if c.counted and not any(v for _, v in c.counted):
        return f"计{money}的人数均为 0，不予{money}"
    if c.place is None:
        return f"{c.band}按方案无{money}"
    where = f"可获{money}的第 {c.place} 位，名额 {r.quota} 个"
    return f"名额线上并列（{where}），按方案不予{money}" if c.tie else f"名额线外（{where}），不予{money}"


def _ties(r: Rating, rewarded: int) -> str:
    p = r.programme
    if not r.ties or r.cut is None:
        return ""
    text = f"有据得分 {fmt(r.cut)} 分的 {len(r.ties)} 个{p.unit}在{p.money}名额线上并列（{'、'.join(r.ties)}），按方案"
    if p.ties == "exclude":
        return text + f"均不予{p.money}，请评定委员会审定。"
    over = f"；获{p.money} {rewarded} 个，超过名额 {r.quota} 个" if r.quota is not None and rewarded > r.quota else ""
    return text + f"均予{p.money}{over}，请评定委员会审定。"


def _exit_words(r: Rating, c: CenterRating) -> str:
    p, n = r.programme, c.years_below
    years = f"{r.year - n + 1}–{r.year} 年度" if r.year else ""
    text = f"{years}连续 {n} 年未达到{p.exit_below}"
    if r.previous is not None:
        text += f"（{r.previous.year} 年度及以前据上一年的评定结果 {Path(r.previous.file).name}）"
    return text


def _claimed(r: Rating, c: CenterRating) -> str:
    """The center's own claim beside the supported score, when evidence does not bear it out."""
    if c.claimed is None or (c.claimed == c.score and c.claimed_band == c.band):
        return ""
    return f"自报 {fmt(c.claimed)} 分、{c.claimed_band or f'未达到{r.noun}'}"


def _counted(r: Rating) -> str:
    sent, rated, p = len(r.submitted), len(r.rated), r.programme
    if p.graded:
        return f"名册共 {r.city_total} 个{p.unit}，{r.noun}均取自名册，本方案不另行评分"
    text = f"全市共 {r.city_total} 个{p.unit}，报送材料包 {sent} 个，评定 {rated} 个"
    text += f"，{sent - rated} 个材料包无法评定" if rated < sent else ""
    missing = r.city_total - sent
    return text + (f"，{missing} 个未报送" if missing > 0 else "")


def _unreadable(r: Rating) -> str:
    p = r.programme
    if not p.exit_below or not any(c.error for c in r.centers):
        return ""
    if p.exit_unreadable == "keep":
        return f"按方案，材料包无法评定或未报送的{p.unit}本年度不计入连续未达到{p.exit_below}的年数（保留上一年的年数）。"
    return f"按方案，材料包无法评定或未报送的{p.unit}本年度计为未达到{p.exit_below}（连续未达标年数加 1）。"


def _money(d: DistrictTotals) -> MoneyRow:
    return MoneyRow(d.district or "区（市）待核实", d.centers, d.rewarded, grouped(d.reward), grouped(d.payer_share),
                    grouped(d.refund))


def _target(r: Rating) -> str:
    p = r.programme
    if not p.target_band or p.target_share is None or not r.city_total:
        return ""
    share = (Decimal(r.at_target) * 100 / r.city_total).quantize(Decimal("0.01"), ROUND_DOWN)  # shown, never above
    met = "已达到" if r.at_target * 100 >= p.target_share * r.city_total else "未达到"  # compared exactly
    return (f"{p.target_band}及以上 {r.at_target} 个，占全市 {r.city_total} 个的 {fmt(share)}%；"
            f"目标为不低于 {fmt(p.target_share)}%：{met}")


def _quota_text(r: Rating) -> str:
    p = r.programme
    if r.quota is None or p.quota_share is None:
        return f"本方案不设{p.money}名额上限。"
    return f"{p.money}名额：全市 {r.city_total} 个 × {fmt(p.quota_share)}% = {r.quota} 个（向下取整）。"


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
    claimed: str = ""
    why: str = ""  # the reward's formula, or why there is none
    further: tuple[tuple[str, tuple[str, ...]], ...] = ()  # each band beyond `next` and what held it
    by_total: str = ""  # the band the total alone would have given, in words, when above `band`
    graded: bool = False  # the grade is the registry's: no score, stage, rank or parts
    noun: str = "星级"
    unit: str = "养老服务中心"
    paid: str = "奖励"


def sheet_contexts(r: Rating) -> list[SheetContext]:
    p, out, rated = r.programme, [], len(r.rated)
    for k, c in enumerate(c for c in r.centers if not c.error):
        parts = tuple(PartRow(t, fmt(s), fmt(m), f"{fmt((s * 100 / m).quantize(Decimal('0.1'), ROUND_HALF_UP))}%"
                              if m else "") for t, s, m in c.categories)
        out.append(SheetContext(
            anchor=f"c{k}", title=f"{c.name}{r.noun}评定结果", name=c.name, id=c.id, district=c.district,
            rubric=r.rubric_title, programme=p.title, stage=stage_words(p, c), score=fmt(c.score or ZERO),
            supported=fmt(c.supported or ZERO), band=c.band or (r.none if p.graded else f"未达到{r.noun}"),
            rank=f"{c.rank} / {rated}",
            next=c.next or "", held=c.held, parts=parts,
            reward=grouped(c.reward) if c.rewarded else "", payer=f"{p.payer or '兑现方'}承担 {grouped(c.payer_share)} 元",
            refund=f"{p.refund_by}返还 {grouped(c.refund)} 元" if p.refund_by else "",
            tie=f"得分与{p.money}名额线上的其他{p.unit}并列，按方案{'不予' if p.ties == 'exclude' else '均予'}{p.money}"
            if c.tie else "",
            exit=f"连续 {c.years_below} 年未达到{p.exit_below}，取消运营资格" if c.exit else "", flags=c.flags,
            claimed=_claimed(r, c), why=_sheet_why(r, c), further=c.further, by_total=c.by_total, graded=p.graded,
            noun=r.noun, unit=p.unit, paid=p.money))
    return out


def _sheet_why(r: Rating, c: CenterRating) -> str:
    """The reward's formula on a rewarded center's sheet; else why it has none."""
    if c.rewarded:
        return c.formula
    if c.band is None:
        return f"{r.none}" if r.programme.graded else f"未达到任何{r.noun}"
    money = r.programme.money
    return _reward_words(r, c).removesuffix(f"，按方案不予{money}").removesuffix(f"，不予{money}")


def sheets_html(sheets: Sequence[SheetContext], templates: Path | None = None,
                archives: Sequence[render.Archive] = ()) -> str:
    """The sheets, each with the SHA-256 of the JSON its PDF carries (`digests`, in the sheets' order)."""
    return render.render_html("center_sheet.html", template_dirs(templates), sheets=sheets,
                              digests=[digest(a) for a in archives])


def sheet_pdfs(sheets: Sequence[SheetContext], templates: Path | None = None,
               archives: Sequence[render.Archive] = ()) -> list[bytes]:
    """Each center's sheet as its own PDF/A-3b (carrying its entry of ratings.json), from one layout of them all."""
    render.require_cjk_font()
    return render.render_parts(sheets_html(sheets, templates, archives), template_dirs(templates),
                               [s.anchor for s in sheets], archives)


def summary(r: Rating, output: Path) -> str:
    """What `scoring rate` says when it has written its outputs."""
    p, scored, sent = r.programme, r.rated, r.submitted
    bands = "，".join(f"{b} {n} 个" for b, n in r.distribution)
    paid = f"{p.money} {sum(1 for c in scored if c.rewarded)} 个"
    if p.graded:
        return (f"已写入 {output}：名册 {len(r.centers)} 个{p.unit}（{bands}，{r.noun}取自名册），{paid}，"
                f"合计 {grouped(r.city.reward)} 元，需核实的问题 {len(r.problems)} 个。")
    missing = f"，名册中未报送 {len(r.centers) - len(sent)} 个" if len(sent) < len(r.centers) else ""
    stages = Counter(stage_words(p, c) for c in scored)
    return (f"已写入 {output}：报送 {len(sent)} 个（{bands}；无法评定 {len(sent) - len(scored)} 个）{missing}，"
            f"{paid}，取消资格 {sum(1 for c in r.centers if c.exit)} 个，需核实的问题 {len(r.problems)} 个。\n"
            "均按最新评定阶段的有据得分评定：" + "，".join(f"{s} {n} 个" for s, n in sorted(stages.items())) + "。")
