"""Input types: one entry each, saying how an answer is checked and how a county is asked for it.

A check returns the value the rules see, or raises InputProblem with a Chinese message; the engine
adds the file, line, indicator and input. Everywhere a county or a reviewer is asked for an answer reads
the type's entry: the blank bundle's hint, the workbook's wording and its cell check, the desk's widget.
Adding a type means one check and one entry in TYPES (and the rubric schema's enum and
docs/rubric-language.md).

This is the one place a county's way of writing an answer becomes the rules' value: 是/否 for yes/no, a
choice's label for its code, a multi-select or a list written in one line (as a workbook cell holds it).
YAML bundles, workbooks and a review's corrected value all pass through here.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from scoring.base import limits
from scoring.base.numbers import dec, fmt
from scoring.base.text import excerpt
from scoring.domain.model import Answer, Input


class InputProblem(Exception):
    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def shown(value: Any) -> str:
    """A bundle value as a county wrote it, for a message (which shows a long one as an excerpt)."""
    if isinstance(value, Decimal):
        return fmt(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"“{value}”" if isinstance(value, str) else excerpt(str(value))  # quoted: ScoringError shortens it


YES_NO = {"是": True, "否": False}
SEPARATORS = re.compile(r"[、，,；;\n]+")  # between a multi-select's items
LINES = re.compile(r"[；;\n]+")  # between a list's names, which may hold a 、 themselves


def _bool(inp: Input, ans: Answer) -> Any:
    value = YES_NO.get(ans.value.strip(), ans.value) if isinstance(ans.value, str) else ans.value
    if not isinstance(value, bool):
        raise InputProblem(f"应填 是 或 否（也可写 true、false），实际为 {shown(ans.value)}")
    return value


def _options(inp: Input) -> str:
    return "可选：" + "、".join(f"{label}（{v}）" for v, label in inp.values)


def _code(inp: Input, value: Any) -> Any:
    """A choice as its code, whether the county wrote the code or the label; None if it is neither."""
    text = str(value).strip()
    if text in dict(inp.values):
        return value if not isinstance(value, str) else text
    return {label: code for code, label in inp.values}.get(text)


def _items(value: Any, separators: re.Pattern[str]) -> Any:
    """A list as written, or one text naming several items (a workbook cell, a one-line answer), within
    the budget of items and of each item's length (each is a line of the report)."""
    if isinstance(value, str):
        value = [v.strip() for v in separators.split(value) if v.strip()]
    if isinstance(value, list):
        if len(value) > limits.LIST_ITEMS:
            raise InputProblem(f"列表项过多（{len(value)} 项，上限 {limits.LIST_ITEMS} 项）")
        if any(isinstance(v, str) and len(v) > limits.ITEM_CHARS for v in value):
            raise InputProblem(f"列表中有一项过长（上限 {limits.ITEM_CHARS} 字）")
    return value


def _choice(inp: Input, ans: Answer) -> Any:
    code = _code(inp, ans.value)
    if code is None:
        raise InputProblem(f"取值 {shown(ans.value)} 无效", _options(inp))
    return code


def _multi(inp: Input, ans: Answer) -> Any:
    value = _items(ans.value, SEPARATORS)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputProblem("应为所选项的列表，每项一行：- 选项，或写在一行中用“、”分隔", _options(inp))
    unknown = [v for v in value if _code(inp, v) is None]
    if unknown:
        raise InputProblem(f"“{'、'.join(unknown)}” 不是可选项", _options(inp))
    codes = [_code(inp, v) for v in value]
    repeated = sorted(inp.choice_label(v) for v, n in Counter(codes).items() if n > 1)
    if repeated:
        raise InputProblem(f"“{'、'.join(repeated)}” 重复出现", "同一项只能选一次")
    return codes


def _list(inp: Input, ans: Answer) -> Any:
    value = _items(ans.value, LINES)
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise InputProblem("应为列表，每项一行写明名称，如 - 某某政策")
    repeated = sorted(v for v, n in Counter(value).items() if n > 1)
    if repeated:
        raise InputProblem(f"列表中 “{'、'.join(repeated)}” 重复出现", "同一项只能列一次")
    return value


def _number(inp: Input, ans: Answer) -> Any:
    value = ans.value
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise InputProblem(f"应为数字，实际为 {shown(value)}")
    number = dec(value)
    if inp.type == "integer" and number != number.to_integral_value():
        raise InputProblem(f"应为整数，实际为 {fmt(number)}")
    if number < 0 and inp.min is None:
        raise InputProblem(f"数值 {fmt(number)} 不能为负数")
    if (inp.min is not None and number < inp.min) or (inp.max is not None and number > inp.max):
        unit = inp.unit or ""
        low = fmt(inp.min) if inp.min is not None else "0"
        high = fmt(inp.max) + unit if inp.max is not None else "不限"
        raise InputProblem(f"数值 {fmt(number)}{unit} 超出范围（{low}{unit} 至 {high}）")
    return number


def _score(inp: Input, ans: Answer) -> Any:
    number = _number(inp, ans)
    if not ans.reason:
        raise InputProblem("酌情打分必须写明理由", "请在该输入下填写 reason: 打分理由")
    return number


@dataclass(frozen=True)
class InputType:
    """One input type. The workbook's cell check is a 是/否 drop-down (yes_no), a drop-down of the input's
    labels (choice), or a whole or decimal number within the input's min and max; "" leaves the cell free."""

    check: Callable[[Input, Answer], Any]
    hint: str  # how to answer, for the blank bundle
    workbook_hint: str  # how to answer in the fill-in workbook's answer cell
    cell: Literal["yes_no", "choice", "whole", "decimal", ""]  # the workbook's own check of that cell, "" none
    widget: Literal["bool", "choice", "checks", "lines", "number"]  # the desk's control for a correction
    reason: bool = False  # a reason must go with the value (the blank bundle asks for one)


TYPES: dict[str, InputType] = {
    "bool": InputType(_bool, hint="填 是 或 否（也可写 true、false）", workbook_hint="从下拉列表选择 是 或 否",
                      cell="yes_no", widget="bool"),
    "number": InputType(_number, hint="填数字", workbook_hint="填数字", cell="decimal", widget="number"),
    "integer": InputType(_number, hint="填整数", workbook_hint="填整数", cell="whole", widget="number"),
    "choice": InputType(_choice, hint="填以下选项之一，写名称或代码均可", workbook_hint="从下拉列表选择",
                        cell="choice", widget="choice"),
    "multi": InputType(_multi, hint="可多选，逐项列出所选项（名称或代码），每项一行：- 选项，或写在一行中用“、”分隔",
                       workbook_hint="可多选，用“、”分隔", cell="", widget="checks"),
    "list": InputType(_list, hint="逐项列出，每项一行：- 名称（或写在一行中用“；”分隔）",
                      workbook_hint="逐项填写，每项一行（Alt+Enter 换行）或用“；”分隔", cell="", widget="lines"),
    "score": InputType(_score, hint="填分数，并在 reason 中写明打分理由", workbook_hint="填分数，并在“理由”栏写明打分理由",
                       cell="decimal", widget="number", reason=True),
}


def check(inp: Input, ans: Answer) -> Any:
    return TYPES[inp.type].check(inp, ans)


def hint(inp: Input) -> str:
    """How to answer an input, in the words of the blank bundle's comments."""
    if inp.values:
        return TYPES[inp.type].hint + "：" + "；".join(f"{v} = {label}" for v, label in inp.values)
    text = TYPES[inp.type].hint
    if inp.unit:
        text += f"，单位：{inp.unit}"
    if inp.min is not None or inp.max is not None:
        low = fmt(inp.min) if inp.min is not None else "不限"
        text += f"，范围 {low} 至 {fmt(inp.max) if inp.max is not None else '不限'}"
    return text + ("；须引用佐证文件" if inp.document else "")
