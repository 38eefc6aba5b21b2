"""The review desk's pages as contexts of plain strings, built from the served folder and its results;
the templates in reports/templates/desk/ lay them out and never see scoring objects (as the reports'
contexts in report/context.py, whose pieces they reuse)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from scoring.base.errors import ScoringError
from scoring.base.numbers import dec, fmt
from scoring.domain.inputs import TYPES
from scoring.domain.model import DOCUMENT_STATUS, Indicator, Input, Override, Stage
from scoring.domain.results import IndicatorResult, Result
from scoring.faces.desk import reviewers
from scoring.faces.desk.counties import county_url
from scoring.faces.desk.folder import REVIEWING, Case
from scoring.faces.desk.forms import Typed
from scoring.loading import review
from scoring.papers.changes import changes
from scoring.papers.report.context import Block, Standing, blocks, standings

ACTION_WORDS = {"score": "定分", "input": "更正输入", "reject": "不采信文件"}
STATE_WORDS = {"score": "已改分", "input": "已更正", "reject": "不采信"}  # an indicator's entries, in the index
KINDS = {"待复核": "recheck", "有标记": "flagged", "": ""}  # an index chip's look by state; any entry's: done


@dataclass(frozen=True)
class DocLink:
    id: str
    title: str
    number: str
    status: str  # 已核验, 文件缺失, 未采信 …
    ok: bool
    url: str


@dataclass(frozen=True)
class AnswerRow:
    label: str
    value: str  # as the county answered
    documents: tuple[DocLink, ...]
    reason: str  # the county's reason or note, "" for none


@dataclass(frozen=True)
class EntryRow:
    index: int  # its place among the indicator's entries, for deleting it
    text: str
    reason: str
    pending: bool  # 待复核: kept, not applied
    action: str = ""  # score, input or reject


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    selected: bool


@dataclass(frozen=True)
class Field:
    """An input the reviewer may correct: a select (yes/no, a choice), checkboxes (multi-select),
    lines (a list) or a number."""

    name: str
    label: str
    widget: str  # bool | choice (a select), checks, lines or number
    choices: tuple[Choice, ...]
    text: str  # the value in force, for a number or lines
    shown: str  # the value in force, as a reader says it
    unit: str


@dataclass(frozen=True)
class Card:
    """One indicator on the county page."""

    id: str
    title: str
    nature: str
    max: str
    own: str  # the county's claim
    own_supported: str
    before: str  # the score before this stage
    after: str  # the score at this stage
    after_supported: str
    changed: bool
    step: str  # 本项得分为 0.5 的整数倍, or "" when a set score has no step
    flags: tuple[str, ...]
    trace: tuple[str, ...]
    statement: tuple[Block, ...]  # the county's 工作说明
    answers: tuple[AnswerRow, ...]
    entries: tuple[EntryRow, ...]
    fields: tuple[Field, ...]
    rejectable: tuple[Choice, ...]  # the documents the indicator cites that no stage has rejected yet
    errors: Mapping[str, str]  # form ("score", "input:<name>", "reject", "entry", "other") -> message beside it
    typed: Typed | None = None  # what the reviewer sent in one of this card's forms, refused: shown again
    saved: str = ""  # the confirmation of a save just made on this card, with the stage's new standing
    must: str = ""  # 强制 for a mandatory indicator (the rubric's word), else ""

    @property
    def state(self) -> str:
        """Where the indicator stands at this stage, for the page's index: 待复核; what this stage's entries
        did (已改分, 已更正, 不采信, joined by 、); 有标记 while a flag stands with no entry; else ""."""
        if any(e.pending for e in self.entries):
            return "待复核"
        if self.entries:
            return "、".join(dict.fromkeys(STATE_WORDS.get(e.action, "已调整") for e in self.entries))
        return "有标记" if self.flags else ""

    @property
    def kind(self) -> str:
        """The index chip's look: recheck, flagged, done (entries made) or ""."""
        return KINDS.get(self.state, "done")


@dataclass(frozen=True)
class Group:
    title: str
    cards: tuple[Card, ...]


@dataclass(frozen=True)
class StageLink:
    name: str
    url: str
    current: bool


@dataclass(frozen=True)
class Download:
    label: str
    url: str


@dataclass(frozen=True)
class Conflicted:
    """A save refused because the file changed meanwhile: what the reviewer sent and what the file has."""

    indicator: str
    sent: tuple[str, ...]
    theirs: tuple[str, ...]
    changed: tuple[str, ...] = ()  # what the file gained and lost since the reviewer's page, in words


@dataclass(frozen=True)
class Viewer:
    """Who looks at the page: whether the desk knows its reviewers by name, and who signed in (their label)."""

    named: bool = False
    signed: str = ""


@dataclass(frozen=True)
class LogRow:
    """One save in the review file's audit log (修改记录)."""

    at: str
    who: str  # 李明（淄博市民政局）, with （页面填写） for a name typed where the desk knows no reviewers
    changes: tuple[str, ...]


@dataclass(frozen=True)
class Finish:
    """The stage's 完成 step (初评完成): finished, by whom and when; or what stands in its way."""

    done: str = ""  # 初评已完成：李明（淄博市民政局），2022-12-05 10:41; "" while the review goes on
    blocking: tuple[str, ...] = ()  # what must be put right before it can be marked finished
    unchecked: tuple[str, ...] = ()  # flagged indicators with no entry at this stage: finishing accepts them
    error: str = ""  # a refused 完成 or 重新打开, beside its form


@dataclass(frozen=True)
class CountyPage:
    """One county at one stage, as `page` in desk/county.html."""

    title: str
    name: str
    url: str  # this page, for forms to post to
    assessee: str
    rubric: str
    bundle_sha256: str
    stage: str
    stages: tuple[StageLink, ...]
    standings: tuple[Standing, ...]  # 自评, then each stage up to this one
    file: str  # the review file's name
    version: str
    reviewer: str
    unit: str
    date: str
    editable: bool
    problem: str
    notice: str
    alert: str  # a save refused, at the top of the page; the message itself is beside its form
    alert_url: str  # the card it is about
    header_error: str
    conflict: Conflicted | None
    groups: tuple[Group, ...]
    downloads: tuple[Download, ...]
    viewer: Viewer
    log: tuple[LogRow, ...]  # newest first, at most reviewers.SHOWN
    log_problem: str  # the audit log cannot be read, or the review file changed outside the desk
    csrf: str = field(default="", repr=False)
    finish: Finish = Finish()

    @property
    def reopenable(self) -> bool:
        """A finished stage the reviewer may open again for edits."""
        return bool(self.finish.done) and not self.problem

    @property
    def next(self) -> Card | None:
        """The next indicator to review: the first, in the page's order, with a flag or an entry waiting to be
        re-checked (None when every one is handled)."""
        return next((c for g in self.groups for c in g.cards if c.state in ("有标记", "待复核")), None)


def county_page(case: Case, csrf: str, notice: str = "", errors: Mapping[str, Mapping[str, str]] | None = None,
                header_error: str = "", conflict: Conflicted | None = None, alert: str = "",
                alert_about: str = "", typed: Typed | None = None, viewer: Viewer | None = None,
                saved: str = "", finish_error: str = "") -> CountyPage:
    result, stage = case.result, case.stage_made
    k = len(result.chain) if case.current else len(result.chain) + 1  # this stage's place in the scores
    worded = _worded(result)
    own_entries = review.entries(stage)
    pending = {o.indicator for o in stage.pending}
    groups = tuple(Group(title, tuple(_card(case, i, k, own_entries.get(i.id, []), worded, (errors or {}).get(i.id, {}),
                                            typed if typed and typed.indicator == i.id else None)
                                      for i in items))
                   for title, items in review.groups(result, pending))
    head = typed.head if typed and typed.key == "header" else (stage.author, stage.unit, stage.date)
    groups = _confirmed(groups, saved, standings(result)[-1])
    url = county_url(case.name, case.stage)
    base = f"/county/{quote(case.name)}"
    q = f"?stage={quote(case.stage)}"
    downloads = (Download("评审意见文件（YAML）", f"{base}/review.yaml{q}"),
                 *(Download(f"{case.stage}意见表（{e.upper()}）", f"{base}/diff.{e}{q}") for e in ("pdf", "csv", "json")),
                 Download("自评报告（附各阶段评审得分，PDF）", f"{base}/report.pdf{q}"))
    assessee = result.bundle.assessee.get("name", "")
    return CountyPage(
        f"{assessee}：{case.stage}", case.name, url, assessee, f"{result.rubric.title}（{result.rubric.version}）",
        result.bundle.sha256, case.stage,
        tuple(StageLink(s, county_url(case.name, s), s == case.stage) for s in REVIEWING),
        tuple(standings(result)), case.file.name, case.version, *head,
        case.editable and stage.completed is None, case.problem, notice, alert,
        f"#i-{alert_about}" if alert_about else "", header_error, conflict, groups, downloads, viewer or Viewer(),
        *_log(case), csrf, _finish(stage, groups, finish_error))


def _finish(stage: Stage, groups: tuple[Group, ...], error: str) -> Finish:
    """The 完成 step: who finished the stage and when; else what must be done first and what finishing
    accepts as the county claimed it."""
    done = stage.completed
    if done is not None:
        who = done.reviewer + (f"（{done.unit}）" if done.unit else "")
        return Finish(f"{stage.name}已完成：{who}，{done.at.replace('T', ' ')[:16]}", error=error)
    cards = [c for g in groups for c in g.cards]
    blocking = ["页面上方的评审人和评审日期尚未填写并保存"] if not stage.author or not stage.date else []
    blocking += [f"指标 {c.id} {c.title}：有待复核的意见，须先复核生效或删除" for c in cards if c.state == "待复核"]
    return Finish("", tuple(blocking), tuple(f"{c.id} {c.title}" for c in cards if c.state == "有标记"), error)


def _confirmed(groups: tuple[Group, ...], saved: str, now: Standing) -> tuple[Group, ...]:
    """The card a save was just made on, with the confirmation where the reviewer is (not only at the top)."""
    said = f"已保存。本阶段总分 {now.total} 分（有据 {now.supported} 分），结论：{now.verdict}。"
    return tuple(Group(g.title, tuple(replace(c, saved=said) if c.id == saved else c for c in g.cards))
                 for g in groups)


def _log(case: Case) -> tuple[tuple[LogRow, ...], str]:
    """The stage's audit log, newest first, and what is wrong with it ("" when the chain holds)."""
    try:
        records, problems = reviewers.check(case.file)
    except ScoringError as exc:
        return (), str(exc)
    rows = tuple(LogRow(str(r["at"]).replace("T", " ")[:19],
                        (f"{r['reviewer']}（{r['unit']}）" if r.get("unit") else str(r["reviewer"]))
                        + ("" if r.get("signed_in") else "（页面填写）"),
                        tuple(map(str, r["changes"])) or ("（内容未变）",))
                 for r in reversed(records[-reviewers.SHOWN:]))
    return rows, "；".join(problems)


def _worded(result: Result) -> dict[tuple[str, str, str, str], str]:
    """Each entry of the chain in the 意见表's words, by stage, indicator, action and target."""
    return {(s.stage.name, e.override.indicator, e.override.action, e.override.target): e.text
            for s in changes(result).stages for e in (*(x for c in s.changes for x in c.entries), *s.pending)}


def _card(case: Case, i: IndicatorResult, k: int, made: list[tuple[Override, bool]],
          worded: Mapping[tuple[str, str, str, str], str], errors: Mapping[str, str], typed: Typed | None) -> Card:
    ind, bundle = i.indicator, case.bundle
    natures = case.rubric.natures
    at = i.scores[k] if k < len(i.scores) else i.scores[-1]
    before = i.scores[k - 1] if k - 1 < len(i.scores) else i.scores[-1]
    rejected = {o.target for o in at.overrides if o.action == "reject"} | {
        o.target for s in case.result.chain for o in s.overrides if o.action == "reject" and o.indicator == ind.id} | {
        o.target for o, _ in made if o.action == "reject"}
    step = ind.step
    answers = tuple(AnswerRow(inp.label, ind.say(inp.name, ans.value),
                              tuple(_doc(case, d, d in rejected) for d in ans.documents),
                              "；".join(t for t in (ans.reason, ans.note) if t.strip()))
                    for inp, ans in i.answers if ans is not None)
    answers += tuple(AnswerRow(inp.label, "未填报", (), "") for inp, ans in i.answers if ans is None)
    entries = tuple(EntryRow(n, worded.get((case.stage, o.indicator, o.action, o.target), _plain(o)), o.reason, wait,
                             o.action) for n, (o, wait) in enumerate(made))
    values = at.values
    known = {"score", "reject", "entry", *(f"input:{inp.name}" for inp in ind.inputs)}
    errors = {(key if key in known else "other"): text for key, text in errors.items()}
    return Card(
        ind.id, ind.title, natures.of(ind.mandatory), fmt(ind.max), fmt(i.own.points), fmt(i.own.supported),
        fmt(before.points), fmt(at.points), fmt(at.supported), at.points != before.points or at.supported != before.supported,
        f"定分须为 {fmt(step)} 分的整数倍" if step is not None else "定分可为 0 至分值间任意数",
        tuple(f.message for f in at.flags), tuple(s.text for s in at.trace),
        blocks(bundle.statements.get(ind.id, "")), answers, entries,
        tuple(_field(inp, values.get(inp.name), ind, _again(typed, inp, values.get(inp.name))) for inp in ind.inputs),
        tuple(Choice(d, f"{d} {bundle.documents[d].title}", bool(typed and typed.key == "reject" and typed.target == d))
              for d in i.cited() if d not in rejected), errors, typed,
        must=natures.short(True) if ind.mandatory and natures.mandatory else "")


def _again(typed: Typed | None, inp: Input, value: Any) -> Any:
    """The value a correction form shows: what the reviewer sent in it when refused, else the one in force."""
    if typed is None or typed.key != f"input:{inp.name}":
        return value
    widget = TYPES[inp.type].widget
    if widget == "checks":
        return list(typed.values)
    sent = typed.values[0] if typed.values else ""
    if widget == "lines":
        return [line for line in sent.splitlines() if line.strip()]
    if widget == "bool":
        return {"true": True, "false": False}.get(sent, sent)
    return sent


def _doc(case: Case, ident: str, rejected: bool) -> DocLink:
    d = case.bundle.documents[ident]
    status = DOCUMENT_STATUS["rejected"] if rejected else DOCUMENT_STATUS.get(d.status, d.status)
    return DocLink(d.id, d.title, d.number, status, d.status == "ok" and not rejected,
                   f"/county/{quote(case.name)}/doc/{quote(d.id)}")


def _plain(o: Override) -> str:
    target = f" {o.target}" if o.target else ""
    value = f"：{o.value}" if o.action != "reject" else ""
    return f"{ACTION_WORDS.get(o.action, o.action)}{target}{value}"


def _field(inp: Input, in_force: Any, ind: Indicator, value: Any) -> Field:
    """The correction form of an input: `in_force` said as 当前, the widget set to `value`."""
    shown = ind.say(inp.name, in_force)
    widget = TYPES[inp.type].widget
    if widget == "bool":
        opts = (("true", "是"), ("false", "否"))
        chosen = {True: "true", False: "false"}.get(value, "")
        return Field(inp.name, inp.label, "bool", tuple(Choice(v, t, v == chosen) for v, t in opts), "", shown, "")
    if widget == "choice":
        return Field(inp.name, inp.label, "choice",
                     tuple(Choice(v, t, v == str(value)) for v, t in inp.values), "", shown, "")
    if widget == "checks":
        given = set(value) if isinstance(value, list) else set()
        return Field(inp.name, inp.label, "checks", tuple(Choice(v, t, v in given) for v, t in inp.values), "",
                     shown, "")
    if widget == "lines":
        text = "\n".join(map(str, value)) if isinstance(value, list) else ""
        return Field(inp.name, inp.label, "lines", (), text, shown, "")
    text = fmt(dec(value)) if isinstance(value, int | Decimal) and not isinstance(value, bool) else (
        value if isinstance(value, str) else "")
    return Field(inp.name, inp.label, "number", (), text, shown, inp.unit or "")


def changed_lines(case: Case, shown: Stage | None) -> tuple[str, ...]:
    """What the stage's file changed since the reviewer's page showed `shown` (None: a page this desk did
    not make, or the file was new then), in words, each entry with its reviewer."""
    now = case.stage_made
    if shown is None:
        shown = Stage(now.name)
    worded = _worded(case.result)

    def said(o: Override) -> str:
        return f"指标 {o.indicator}：{worded.get((case.stage, o.indicator, o.action, o.target), _plain(o))}（{o.author}）"

    lines = reviewers.entry_changes(shown, now, said)
    if head := reviewers.header_change(shown, now):
        lines.append(f"评审人信息改为：{head}")
    return tuple(lines)


def entry_lines(case: Case, indicator: str) -> tuple[str, ...]:
    """An indicator's entries in a review file, in words, for showing a conflict."""
    worded = _worded(case.result)
    return tuple(f"{worded.get((case.stage, o.indicator, o.action, o.target), _plain(o))}。理由：{o.reason}"
                 + ("（待复核）" if wait else "")
                 for o, wait in review.entries(case.stage_made).get(indicator, []))

