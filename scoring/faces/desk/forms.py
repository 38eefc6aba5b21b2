"""What a county page's form asks for: read from the posted fields into a change of the stage, checked
first in a reviewer's words (the field, what is allowed), and kept as typed (`Typed`) so that a refused
save shows the form again with everything the reviewer wrote in it.

The pipeline's checks still run on the file about to be written (folder.py); their messages reach the page
through `worded`, without the file's line numbers or YAML key names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date as Date
from decimal import Decimal
from functools import partial
from typing import Any

from scoring.base.errors import ScoringError
from scoring.domain.model import Completion, Override, Stage
from scoring.faces.desk.reviewers import Reviewer

NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
INDEX = re.compile(r"^[0-9]{1,6}$")  # ASCII digits only: "²" is a digit to str.isdigit, not to int()
ACTIONS = ("score", "input", "reject")
DOINGS = {"header", "delete", "confirm", "complete", "reopen", *ACTIONS}
WIDGETS = {"bool", "choice", "checks", "lines", "number"}
WHAT = {"score": "定分", "input": "更正", "reject": "不采信"}
HEAD = "请先在页面上方填写评审人和评审日期并保存，再填写评审意见（你填写的内容已保留在下面）。"
# what the pipeline's messages say for a file's reader, not for a reviewer at a form
_LINES = re.compile(r"（[^（）]*第 ?\d+ ?行[^（）]*）|第 ?\d+ ?行[，、：]?")
_KEYS = re.compile(r"[（(][A-Za-z_][A-Za-z0-9_. ]*[）)]")


class FormData:
    """A posted form's fields as strings (an upload's value, which no page sends, as its name)."""

    def __init__(self, items: Iterable[tuple[str, Any]]) -> None:
        self.fields: dict[str, list[str]] = {}
        for key, value in items:
            self.fields.setdefault(key, []).append(value if isinstance(value, str) else str(value))

    def get(self, key: str, default: str = "") -> str:
        return self.fields.get(key, [default])[0]

    def getlist(self, key: str) -> list[str]:
        return list(self.fields.get(key, []))


class Malformed(ValueError):
    """A field no page of the desk sends (an unknown action, an index that is no number): a 400."""


class Refused(ScoringError):
    """A save refused before anything is written, its message meant for the form `key` names."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class Typed:
    """What the reviewer sent in one form, to fill it in again."""

    indicator: str
    key: str  # header | score | input:<name> | reject | entry
    values: tuple[str, ...] = ()
    reason: str = ""
    target: str = ""
    head: tuple[str, str, str] = ("", "", "")  # reviewer, unit, date as typed in the header form


def typed(form: FormData) -> Typed:
    """The form's fields as sent, whatever they hold."""
    what, target = str(form.get("do", "")), str(form.get("target", ""))
    key = _key(what, target)
    return Typed(str(form.get("indicator", "")), key, tuple(str(v) for v in form.getlist("value")),
                 str(form.get("reason", "")), target,
                 (str(form.get("reviewer", "")), str(form.get("unit", "")), str(form.get("date", ""))))


def _key(what: str, target: str) -> str:
    """The form a message is shown beside: the header's, an entry's, the completion's, or an indicator's."""
    return {"header": "header", "delete": "entry", "confirm": "entry", "complete": "complete",
            "reopen": "complete"}.get(what, f"input:{target}" if what == "input" else what)


def change(form: FormData, by: Reviewer | None = None, at: str = "") -> Callable[[Stage], Stage]:
    """The change the form asks for, as a function of the stage, made by `by` (the signed-in reviewer;
    None when the desk knows no reviewers and the header's typed name stands) at `at`; Malformed for fields
    no page sends, Refused (when called on the stage) for what a reviewer must put right. A finished stage
    (初评完成) takes no change but being reopened."""
    what = str(form.get("do", ""))
    if what not in DOINGS:
        raise Malformed("do")
    if what in ("complete", "reopen"):
        return partial(_complete, by=by, at=at) if what == "complete" else _reopen
    made = _change(form, what, by, at)
    key = _key(what, str(form.get("target", "")))

    def unless_finished(s: Stage) -> Stage:
        if s.completed is not None:
            raise Refused(key, f"{s.name}已由{_who(s.completed)}标记完成，不能再修改。"
                               f"如需修改，请先点页面上方的“重新打开{s.name}”。")
        return made(s)
    return unless_finished


def _change(form: FormData, what: str, by: Reviewer | None, at: str) -> Callable[[Stage], Stage]:
    ind = str(form.get("indicator", ""))
    if what == "header":
        reviewer, unit, when = (str(form.get(k, "")).strip() for k in ("reviewer", "unit", "date"))
        return _header(by.name, by.unit, when) if by else _header(reviewer, unit, when)
    if not ind:
        raise Malformed("indicator")
    if what in ("delete", "confirm"):
        raw = str(form.get("index", ""))
        if not INDEX.match(raw):
            raise Malformed("index")
        return lambda s: _edit(s, ind, int(raw), what)
    target, reason = str(form.get("target", "")), str(form.get("reason", "")).strip()
    key = f"input:{target}" if what == "input" else what
    value = _entered(form, what, key)

    def add(s: Stage) -> Stage:
        _ready(s, ind, what, target, key, reason)
        made = Override(ind, what, target if what != "score" else "", value, reason, by.name if by else s.author,
                        at=at)
        return replace(s, overrides=(*s.overrides, made))
    return add


def _complete(s: Stage, by: Reviewer | None, at: str) -> Stage:
    """The stage marked finished by `by` (or the header's reviewer), when nothing is left open."""
    if s.completed is not None:
        raise Refused("complete", f"{s.name}已由{_who(s.completed)}标记完成。")
    if not s.author or not s.date:
        raise Refused("complete", f"请先在页面上方填写评审人和评审日期并保存，再标记{s.name}完成。")
    if s.pending:
        listed = "、".join(dict.fromkeys(o.indicator for o in s.pending))
        raise Refused("complete", f"还有 {len(s.pending)} 条待复核的意见（指标 {listed}）：请先逐条“复核无误，生效”"
                                  f"或删除，再标记{s.name}完成。")
    who = by or Reviewer(s.author, s.unit)
    return replace(s, completed=Completion(who.name, who.unit, at))


def _reopen(s: Stage) -> Stage:
    if s.completed is None:
        raise Refused("complete", f"{s.name}尚未标记完成，不必重新打开。")
    return replace(s, completed=None)


def _who(done: Completion) -> str:
    """Who finished a stage and when: 李明（淄博市民政局，2022-12-05 10:41）."""
    return f"{done.reviewer}（{'，'.join(x for x in (done.unit, done.at.replace('T', ' ')[:16]) if x)}）"


def _header(reviewer: str, unit: str, when: str) -> Callable[[Stage], Stage]:
    if not reviewer:
        raise Refused("header", "请填写评审人姓名。")
    if not when:
        raise Refused("header", "请填写评审日期（年-月-日，如 2022-12-05）。")
    try:
        Date.fromisoformat(when)
    except ValueError:
        raise Refused("header", f"评审日期 “{when}” 不是有效的日期，应为年-月-日，如 2022-12-05。") from None
    return lambda s: replace(s, author=reviewer, unit=unit, date=when)


def _entered(form: FormData, what: str, key: str) -> Any:
    """The value a form sends: a score or a corrected answer as the checks expect it."""
    if what == "reject":
        if not str(form.get("target", "")):
            raise Refused(key, "请选择不采信的文件。")
        return None
    widget = "number" if what == "score" else str(form.get("widget", ""))
    if widget not in WIDGETS:
        raise Malformed("widget")
    raw = str(form.get("value", "")).strip()
    if widget == "checks":
        return [str(v) for v in form.getlist("value")]
    if widget == "lines":
        return [line.strip() for line in raw.splitlines() if line.strip()]
    if widget == "bool":
        return {"true": True, "false": False}.get(raw, raw)
    if widget == "number":
        if not NUMBER.match(raw):
            said = f"，你填写的是 “{raw}”" if raw else ""
            raise Refused(key, f"{'本项得分' if what == 'score' else '更正值'}应为数字，如 2 或 1.5{said}。")
        return Decimal(raw)
    return raw


def _ready(s: Stage, ind: str, what: str, target: str, key: str, reason: str) -> None:
    """What a new entry needs from the stage and the reviewer, checked before the file's own checks."""
    if not s.author or not s.date:
        raise Refused("header", HEAD)
    if not reason:
        raise Refused(key, "请填写理由：说明为什么这样调整，理由会写入意见表。")
    for o in (*s.overrides, *s.pending):
        if (o.indicator, o.action, o.target) == (ind, what, target if what != "score" else ""):
            thing = {"score": "定分", "input": "这一项的更正", "reject": f"不采信 {target}"}[what]
            raise Refused(key, f"本阶段已有一条{thing}的意见（见本项“本阶段的评审意见”）；"
                               "如要改，请先删除那一条再保存。")


def _edit(s: Stage, ind: str, index: int, what: str) -> Stage:
    from scoring.loading import review

    mine = review.entries(s).get(ind, [])
    if not 0 <= index < len(mine):
        raise Refused("entry", "这条评审意见已不存在（可能已被删除），请刷新页面。")
    o, waiting = mine[index]
    overrides = tuple(x for x in s.overrides if x is not o)
    pending = tuple(x for x in s.pending if x is not o)
    if what == "confirm" and waiting:
        overrides = (*overrides, o)
    return replace(s, overrides=overrides, pending=pending)


def worded(exc: ScoringError) -> str:
    """A check's message for a reviewer: what is wrong and what is allowed, without the file's line
    numbers or YAML key names (the file is the desk's business, not the reviewer's)."""
    text = _KEYS.sub("", _LINES.sub("", exc.message)).strip("，、： ")
    hint = _KEYS.sub("", exc.hint or "")
    if exc.hint and "scoring " not in hint:
        text += f"（{hint}）"
    return text.replace("评审得分", "本项得分")


def sent(form: FormData) -> tuple[str, ...]:
    """What a form sent, in words, for the page that says it was not saved."""
    words = {**WHAT, "input": "更正输入", "reject": "不采信文件", "delete": "删除一条意见",
             "confirm": "确认一条待复核意见", "header": "修改评审人信息", "complete": "标记本阶段完成",
             "reopen": "重新打开本阶段"}
    what = str(form.get("do", ""))
    shown = "、".join(str(v) for v in form.getlist("value"))
    head = " ".join(x for x in (words.get(what, what), str(form.get("target", ""))) if x)
    return (head + (f"：{shown}" if shown else ""),
            f"理由：{form.get('reason', '')}" if form.get("reason") else "")
