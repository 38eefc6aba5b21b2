"""The self-evaluation report's context: everything the templates show, already worded and formatted.

Built from a score result and its bundle; the templates and the renderer never see scoring objects.
Every figure is exact text (numbers.fmt), every date comes from the bundle, and every piece of the
county's own text stays a plain string for the templates to escape.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import groupby

from scoring.base import limits
from scoring.base.errors import ScoringError
from scoring.base.numbers import fmt
from scoring.base.text import clip, cn_date
from scoring.domain import model, results
from scoring.domain.model import DOCUMENT_STATUS, NARRATIVE, Bundle, Document, Natures
from scoring.domain.results import IndicatorResult, Result
from scoring.papers.changes import changes, unmet_why
from scoring.papers.report.render import chinese_number


@dataclass(frozen=True)
class Block:
    """A paragraph (its lines kept as the county broke them) or a bulleted list."""

    kind: str  # "p" or "ul"
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Section:
    """One part of the county's narrative; no blocks when the bundle leaves it blank."""

    key: str
    heading: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class SignOff:
    """Who files the report; "" for anything the bundle leaves out (the report leaves a blank line)."""

    unit: str
    head: str
    preparer: str
    phone: str
    date: str  # 2022年11月20日, or ""


@dataclass(frozen=True)
class DocumentRef:
    id: str
    title: str
    number: str
    status: str
    ok: bool


@dataclass(frozen=True)
class Reason:
    """An assessor's written reason or note on one input."""

    label: str
    kind: str  # 打分理由 or 备注
    text: str


@dataclass(frozen=True)
class Standing:
    """One stage's totals, mandatory compliance and verdict."""

    stage: str
    who: str  # 淄博市民政局 李明, "" for the self-assessment
    date: str  # 2022年12月5日, or ""
    total: str
    supported: str
    mandatory: str  # 16/16, or "" when the rubric has no mandatory indicators
    unsupported: str  # mandatory indicators full by score but not by evidence: 2.2、3.1
    verdict: str
    passed: bool
    why: tuple[str, ...] = ()  # per mandatory indicator the stage does not count as met for want of evidence

    @property
    def brief(self) -> str:
        """The verdict without its reasons (未达到创建标准), for a narrow cell."""
        return self.verdict.split("：", 1)[0]


@dataclass(frozen=True)
class StageScore:
    """A reviewing stage's score of one indicator and, when it changed anything, what and why."""

    stage: str
    score: str
    supported: str
    entries: tuple[str, ...]  # 不采信 D12《…》…。理由：…（李明）


@dataclass(frozen=True)
class IndicatorView:
    id: str
    title: str
    text: str
    criteria: str
    mandatory: bool
    nature: str  # 强制性 or 倡导性, or what the rubric calls them ("" for nothing)
    tag: str  # the nature as a noun for the indicator's heading: 强制性指标, 必备项, or ""
    score: str
    max: str
    lost: str
    supported: str
    differs: bool  # the claimed score is not fully supported by the evidence
    trace: tuple[str, ...]
    reasons: tuple[Reason, ...]
    statement: tuple[Block, ...]
    documents: tuple[DocumentRef, ...]
    evidence: tuple[str, ...]  # for the score table: 文号 (or title when none), marked when not verified
    flags: tuple[str, ...]
    stages: tuple[StageScore, ...]  # each reviewing stage's score, when the report has a chain


@dataclass(frozen=True)
class CategoryView:
    id: str
    numeral: str  # 一, 二 … for the Chinese heading
    title: str
    score: str
    max: str
    lost: str
    ratio: float  # score / max, for the bar chart
    indicators: tuple[IndicatorView, ...]
    stages: tuple[str, ...]  # each reviewing stage's score of the category


@dataclass(frozen=True)
class Loss:
    id: str
    title: str
    nature: str
    score: str
    max: str
    lost: str
    hints: tuple[str, ...]


@dataclass(frozen=True)
class EvidenceRow:
    id: str
    title: str
    number: str
    issuer: str
    date: str
    sha256: str  # first 12 hex digits
    status: str
    ok: bool
    cited_by: tuple[str, ...]
    stages: tuple[str, ...] = ()  # with reviews, the status at each stage: 初评：不予采信（2.2）


@dataclass(frozen=True)
class ReportContext:
    """The whole 自评报告, as `report` in the templates."""

    title: str
    subject: str  # what the report is about, from the rubric title; the cover puts the assessee before it
    noun: str  # what the report is: 自评报告, or what the rubric's report title says (评定报告)
    assessee: str
    rubric_title: str
    rubric_version: str
    rubric_source: str
    rubric_sha256: str
    bundle_sha256: str
    period: str
    created: str  # ISO date for the PDF metadata, from the sign-off; "" when not given
    signoff: SignOff
    total: str
    max_total: str
    lost_total: str
    supported_total: str
    supported_differs: bool
    categories: tuple[CategoryView, ...]
    natures: bool  # the rubric names its indicators' natures (else no 性质 column)
    mandatory_noun: str  # 强制性指标, or what the rubric calls mandatory indicators
    mandatory_met: int
    mandatory_total: int  # 0: the rubric has no mandatory indicators, and the report says nothing of them
    shortfalls: tuple[IndicatorView, ...]  # mandatory, below full marks
    unsupported: tuple[IndicatorView, ...]  # mandatory, full by the self-score but not by the evidence
    passed: bool
    verdict: str
    rule: str  # the verdict's rule in one sentence, from the rubric's declaration
    banded: bool  # the rubric rates by bands (五星 …): the conclusion is the band and what held it back
    band: str  # the band reached, "" for none
    next_band: str  # the band the result fell short of, "" at the top
    held: tuple[str, ...]  # what kept it from next_band
    further: tuple[tuple[str, tuple[str, ...]], ...]  # each band beyond next_band, with what held it
    by_total: str  # the band the total alone would have given, when above the band reached; else ""
    chain: tuple[Standing, ...]  # the self-assessment and each reviewing stage; () without reviews
    narrative: tuple[Section, ...]
    losses: tuple[Loss, ...]
    evidence: tuple[EvidenceRow, ...]
    missing: tuple[str, ...]  # parts the bundle leaves blank; any makes the report a draft (草稿 on every page)
    json_sha256: str = ""  # of the JSON the PDF carries (scoring score --format json), printed on the cover

    @property
    def draft(self) -> bool:
        return bool(self.missing)


def build(result: Result, json_sha256: str = "") -> ReportContext:
    rubric, bundle, own = result.rubric, result.bundle, result.own
    staged = _stage_scores(result)
    cats = tuple(_category(c, result.in_category(c.id), bundle, rubric.natures, staged,
                           tuple(fmt(s.categories[k].score) for s in result.stages[1:]))
                 for k, c in enumerate(own.categories))
    views = {v.id: v for c in cats for v in c.indicators}
    assessee = bundle.assessee.get("name", "").strip()
    subject, noun = programme(rubric), report_noun(rubric)
    verdict = own.verdict
    return ReportContext(
        title=f"{assessee}{subject}{noun}", subject=subject, noun=noun, assessee=assessee,
        rubric_title=rubric.title, rubric_version=rubric.version, rubric_source=rubric.source,
        rubric_sha256=rubric.sha256, bundle_sha256=bundle.sha256, period=_period(bundle.period),
        created=bundle.signoff.date, signoff=_signoff(bundle.signoff),
        total=fmt(own.total), max_total=fmt(rubric.total),
        lost_total=fmt(rubric.total - own.total), supported_total=fmt(own.supported_total),
        supported_differs=own.supported_total != own.total, categories=cats,
        natures=bool(rubric.natures.mandatory or rubric.natures.advisory),
        mandatory_noun=rubric.natures.must,
        mandatory_met=own.mandatory.met, mandatory_total=own.mandatory.total,
        shortfalls=tuple(views[i] for i in own.mandatory.failures),
        unsupported=tuple(views[i] for i in own.mandatory.unsupported),
        passed=verdict.passed, verdict=verdict.text, rule=verdict_rule(rubric), banded=rubric.bands is not None,
        band=verdict.band or "", next_band=verdict.next or "", held=verdict.held,
        further=tuple((b.band, b.held) for b in verdict.further), by_total=verdict.by_total_text(own.total),
        chain=tuple(standings(result)) if result.chain else (),
        narrative=tuple(Section(k, h, blocks(bundle.narrative.get(k, ""))) for k, h, _ in NARRATIVE),
        losses=_losses(result.indicators, rubric.natures), evidence=_evidence(result), missing=missing_parts(result),
        json_sha256=json_sha256)


def draft_notice(result: Result, final: bool, where: str) -> str:
    """What `report` says of a draft ("" for a complete bundle); a final report of a draft is refused."""
    missing = missing_parts(result)
    if not missing:
        return ""
    lines = "\n".join(f"  - {part}" for part in missing)
    if final:
        raise ScoringError(f"材料包有 {len(missing)} 处未填写，不能生成正式报告（请补齐后再生成；不加 --final "
                           f"可先出草稿）：\n{lines}", where)
    return f"材料包有 {len(missing)} 处未填写，报告每页标有“草稿”，不宜盖章报送：\n{lines}"


def missing_parts(result: Result) -> tuple[str, ...]:
    """What a stamped report may not lack and the bundle leaves blank: each indicator's 工作说明 and each part
    of the narrative, in the report's order (narrative first)."""
    narrative = result.bundle.narrative
    parts = [f"{heading}（报告正文）" for key, heading, _ in NARRATIVE if not narrative.get(key, "").strip()]
    parts += [f"{i.id} {i.indicator.title}：工作说明" for i in result.indicators
              if not result.bundle.statements.get(i.id, "").strip()]
    return tuple(parts)


def verdict_rule(rubric: model.Rubric) -> str:
    """The rule the verdict applies, in one sentence: mandatory indicators, category minimums, the total line
    (or bands), as the rubric declares them."""
    rule, parts = rubric.verdict, []
    count = sum(1 for i in rubric.indicators if i.mandatory)
    if rule.mandatory_full and count:
        parts.append(f"{rubric.natures.must}（共{count}项）须全部得满分")
    parts += [f"一级指标“{c.title}”不低于{fmt(c.min)}分" for c in rubric.categories if c.min is not None]
    if rubric.bands is not None:
        lines = "，".join(f"{b.name}{fmt(b.min_total)}分以上" for b in rubric.bands.levels)
        parts.append(f"按总分评定等级（{lines}），并须满足该等级的其他条件")
    elif rule.min_total is not None:
        parts.append(f"总分不低于{fmt(rule.min_total)}分")
    else:
        parts.append("不设总分线")
    return f"{'评定' if rubric.bands is not None else '判定'}规则：{'；'.join(parts)}。"


_NOUN = re.compile(r"((自评|评定|评估)?报告)$")


def programme(rubric: model.Rubric) -> str:
    """What the papers are about: the rubric may name it (…创新示范县创建自评报告); else its title says."""
    return _NOUN.sub("", rubric.report_title) or report_subject(rubric.title)


def report_noun(rubric: model.Rubric) -> str:
    """What the report is: 自评报告 unless the rubric's report title says otherwise (…星级评定报告)."""
    found = _NOUN.search(rubric.report_title)
    return found.group(1) if found and found.group(1) != "报告" else "自评报告"


def standings(result: Result) -> list[Standing]:
    out: list[Standing] = []
    for s, stage in zip(result.stages, (model.Stage(model.SELF), *result.chain), strict=True):
        m = s.mandatory
        who = " ".join(x for x in (stage.unit, stage.author) if x)
        out.append(Standing(result.rubric.stage_name(s.stage), who, cn_date(stage.date), fmt(s.total), fmt(s.supported_total),
                            f"{m.met}/{m.total}" if m.total else "", "、".join(m.unsupported), s.verdict.text,
                            s.verdict.passed, unmet_why(result, len(out))))
    return out



def _stage_scores(result: Result) -> dict[str, tuple[StageScore, ...]]:
    """Per indicator, each reviewing stage's score with its changes worded as in the 意见表."""
    worded: dict[tuple[str, str], list[str]] = {}
    for s in changes(result).stages:
        for c in s.changes:
            worded[(s.stage.name, c.indicator.id)] = [f"{e.shown}。理由：{e.override.reason}（{e.override.author}）"
                                                      for e in c.entries]
    named = result.rubric.stage_name
    return {i.id: tuple(StageScore(named(sc.stage), fmt(sc.points), fmt(sc.supported),
                                   tuple(worded.get((sc.stage, i.id), ()))) for sc in i.scores[1:])
            for i in result.indicators}


def report_subject(rubric_title: str) -> str:
    """What the report is about, from the rubric's title: a 评分细则 titled "…创建指引与评分细则"
    is about "…创建"; a title without that ending is kept whole."""
    return re.sub(r"(指引)?(与|和|及)?(评分细则|评分标准)$", "", rubric_title) or rubric_title


def blocks(text: str) -> tuple[Block, ...]:
    """Paragraphs split on blank lines; lines starting with "- " become list items."""
    out: list[Block] = []
    for chunk in re.split(r"\n[ \t\u3000]*\n", text.replace("\r\n", "\n").replace("\r", "\n")):
        lines = [line.strip() for line in chunk.split("\n") if line.strip()]
        for is_item, group in groupby(lines, key=lambda line: line.startswith("- ")):
            items = tuple(line[2:].strip() if is_item else line for line in group)
            out.append(Block("ul" if is_item else "p", items))
    return tuple(out)


def numeral(ident: str) -> str:
    """一, 二 … for a numeric category id; any other id as it is."""
    return chinese_number(int(ident)) if ident.isdigit() else ident


def _signoff(given: model.SignOff) -> SignOff:
    return SignOff(given.unit, given.head, given.preparer, given.phone, cn_date(given.date))


def _period(period: Mapping[str, str]) -> str:
    span = f"{cn_date(period['start'])}至{cn_date(period['end'])}"
    label = period.get("label", "").strip()
    return f"{label}（{span}）" if label else span


def _category(c: results.CategoryScore, results: Iterable[IndicatorResult], bundle: Bundle, natures: Natures,
              staged: Mapping[str, tuple[StageScore, ...]], stage_scores: tuple[str, ...]) -> CategoryView:
    ratio = float(c.score / c.max) if c.max else 0.0
    return CategoryView(c.id, numeral(c.id), c.title, fmt(c.score), fmt(c.max), fmt(c.max - c.score), ratio,
                        tuple(_indicator(r, bundle, natures, staged[r.id]) for r in results), stage_scores)


def _indicator(r: IndicatorResult, bundle: Bundle, natures: Natures, stages: tuple[StageScore, ...]) -> IndicatorView:
    ind = r.indicator
    docs = [bundle.documents[d] for d in r.cited()]
    reasons = [Reason(inp.label, kind, text.strip()) for inp, ans in r.answers if ans is not None
               for kind, text in (("打分理由", ans.reason), ("备注", ans.note)) if text.strip()]
    return IndicatorView(
        id=r.id, title=ind.title, text=ind.text, criteria=ind.criteria, mandatory=ind.mandatory,
        nature=natures.of(ind.mandatory), tag=natures.noun(ind.mandatory), score=fmt(r.score), max=fmt(ind.max), lost=fmt(r.lost),
        supported=fmt(r.supported_score),
        differs=r.supported_score != r.score,
        trace=tuple(step.text for step in r.trace), reasons=tuple(reasons),
        statement=blocks(bundle.statements.get(r.id, "")),
        documents=tuple(DocumentRef(d.id, _title(d), _number(d), _status(d), d.status == "ok") for d in docs),
        evidence=tuple((_number(d) or _title(d)) + ("" if d.status == "ok" else f"【{_status(d)}】") for d in docs),
        flags=tuple(f.message for f in r.flags), stages=stages)


def _losses(results: Iterable[IndicatorResult], natures: Natures) -> tuple[Loss, ...]:
    below = [r for r in results if r.lost > 0]
    # sorted() is stable, so equal losses keep the rubric's order.
    ranked = sorted(below, key=lambda r: -r.lost)
    return tuple(
        Loss(r.id, r.indicator.title, natures.of(r.indicator.mandatory), fmt(r.score), fmt(r.indicator.max),
             fmt(r.lost), tuple(s.hint for s in r.trace if s.lost > 0 and s.hint))
        for r in ranked)


def _evidence(result: Result) -> tuple[EvidenceRow, ...]:
    cited: dict[str, list[str]] = {}
    for r in result.indicators:
        for d in r.cited():
            cited.setdefault(d, []).append(r.id)
    return tuple(_evidence_row(d, tuple(cited.get(d.id, ())), _staged_status(result, d))
                 for d in result.bundle.documents.values())


def _staged_status(result: Result, d: Document) -> tuple[str, ...]:
    """With reviews, the document's status at each stage: a rejection holds for the indicator it was made on
    from its stage on (a later stage never re-admits it)."""
    out, refused = [f"{model.SELF} {_status(d)}"], list[str]()
    for stage in result.chain:
        refused += [o.indicator for o in stage.overrides if o.action == "reject" and o.target == d.id]
        status = f"不予采信（{'、'.join(dict.fromkeys(refused))}）" if refused else _status(d)
        out.append(f"{result.rubric.stage_name(stage.name)} {status}")
    return tuple(out) if refused else ()  # the same at every stage: the one status says it


def _evidence_row(d: Document, cited_by: tuple[str, ...], stages: tuple[str, ...]) -> EvidenceRow:
    return EvidenceRow(d.id, _title(d), _number(d), clip(d.issuer, limits.ISSUER_PRINTED), d.date, d.sha256[:12],
                       _status(d), d.status == "ok", cited_by, stages)


def _title(d: Document) -> str:
    """What the report prints of a document's title and 文号: a bounded cost per document and citation."""
    return clip(d.title, limits.TITLE_PRINTED)


def _number(d: Document) -> str:
    return clip(d.number, limits.NUMBER_PRINTED)


def _status(d: Document) -> str:
    return DOCUMENT_STATUS.get(d.status, d.status)
