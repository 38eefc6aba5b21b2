"""Each rule kind's own checks: what its lint sees in the rubric that the schema cannot, and which answers
it refuses. The registry in rules.py names them; nothing here scores."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

from scoring.base.numbers import ZERO, dec, fmt, is_multiple
from scoring.domain.model import Indicator, Input

Rule = Mapping[str, Any]


def lint_choice(rule: Rule, ind: Indicator) -> Iterator[str]:
    inp = ind.input(rule["input"])
    codes = {v for v, _ in inp.values} if inp else set()
    for code in rule["points"]:
        if code not in codes:
            yield f"分档 “{code}” 不是输入 “{rule['input']}” 的可选值"


def lint_threshold(rule: Rule, ind: Indicator) -> Iterator[str]:
    inp = ind.input(rule["input"])
    if inp is None or inp.type != "multi" or rule.get("op", ">=") != ">=":
        return
    for lv in rule.get("levels") or [{"at": rule["target"]}]:
        if dec(lv["at"]) > len(inp.values):
            yield f"目标 {fmt(dec(lv['at']))} 项多于输入 “{inp.name}” 的可选项数 {len(inp.values)}，无法达到"


def lint_per_item(rule: Rule, ind: Indicator) -> Iterator[str]:
    inp = ind.input(rule["input"])
    if inp is None or inp.type != "multi":
        return
    each, cap = dec(rule["each"]), dec(rule["cap"])
    if each * len(inp.values) < cap:
        yield (f"输入 “{inp.name}” 共 {len(inp.values)} 个可选项，每项 {fmt(each)} 分，"
               f"最多 {fmt(each * len(inp.values))} 分，达不到封顶 {fmt(cap)} 分")


def lint_gate(rule: Rule, ind: Indicator) -> Iterator[str]:
    """A gate's or a veto's `equals` fits its input: a code of a choice (which needs one), or true/false."""
    inp = ind.input(rule["input"])
    if inp is None:
        return
    role = "开启前提" if rule["kind"] == "gate" else "一票否决"
    codes = [v for v, _ in inp.values]
    if inp.type == "choice" and "equals" not in rule:
        yield (f"输入 “{inp.name}” 是单选，需用 equals 写明哪个选项{role}（可选值：{'、'.join(codes)}），"
               f"如 equals: {codes[0]}")
    elif inp.type == "choice" and rule["equals"] not in codes:
        yield f"equals 的值 “{rule['equals']}” 不是输入 “{inp.name}” 的可选值（可选值：{'、'.join(codes)}）"
    elif inp.type == "bool" and not isinstance(rule.get("equals", True), bool):
        yield f"输入 “{inp.name}” 是是否类，equals 应为 true 或 false（不写即为 true），实际为 “{rule['equals']}”"


def lint_judged(rule: Rule, ind: Indicator) -> Iterator[str]:
    if not is_multiple(dec(rule["max"]), dec(rule["step"])):
        yield f"酌情打分的上限 {fmt(dec(rule['max']))} 不是步长 {fmt(dec(rule['step']))} 的整数倍"


def lint_deduction(rule: Rule, ind: Indicator) -> Iterator[str]:
    if dec(rule.get("floor", 0)) > dec(rule["base"]):
        yield f"扣分规则的下限 {fmt(dec(rule['floor']))} 高于基础分 {fmt(dec(rule['base']))}"
    inp = ind.input(rule["input"])
    yield from _lint_weights(rule, inp)
    if ("max" in rule or "step" in rule) and inp and inp.type != "score":
        yield f"扣分的 max 和 step 只用于酌情扣分（score 类型的输入），“{inp.name}” 是 {inp.type} 类型"
    elif "max" in rule and "step" in rule and not is_multiple(dec(rule["max"]), dec(rule["step"])):
        yield f"扣分上限 {fmt(dec(rule['max']))} 不是步长 {fmt(dec(rule['step']))} 的整数倍"


def _lint_weights(rule: Rule, inp: Input | None) -> Iterator[str]:
    """Weights name the items of a multi-select; a multi-select without weights costs `each` per item."""
    if inp is None or "weights" not in rule:
        return
    if inp.type != "multi":
        yield (f"weights 只用于多选（multi）输入的不符合项，“{inp.name}” 是 {inp.type} 类型；"
               f"按件数扣分请用 each")
        return
    codes = [v for v, _ in inp.values]
    for code in rule["weights"]:
        if code not in codes:
            yield f"weights 中的 “{code}” 不是输入 “{inp.name}” 的可选值（可选值：{'、'.join(codes)}）"


def lint_dates(rule: Rule, ind: Indicator) -> Iterator[str]:
    ends: list[str] = [rule.get(k, "") for k in ("from", "to")]
    for end in filter(None, ends):
        try:
            date.fromisoformat(end)
        except ValueError:
            yield f"日期 “{end}” 不存在"
    if all(ends) and ends[0] > ends[1]:
        yield f"日期范围的起点 {ends[0]} 晚于终点 {ends[1]}"


def check_deduction(rule: Rule, value: Any) -> str | None:
    """A judged deduction keeps to its declared range and step (扣1–3分: max 3, step 1)."""
    if isinstance(value, list) or not ("max" in rule or "step" in rule):
        return None
    amount, step = dec(value), dec(rule.get("step", 0))
    top = dec(rule["max"]) if "max" in rule else None
    if (top is None or amount <= top) and (not step or is_multiple(amount, step)):
        return None
    within = f"应在 0 至 {fmt(top)} 分之间" if top is not None else "应不低于 0 分"
    return f"扣分 {fmt(amount)} 无效：{within}{f'，且为 {fmt(step)} 分的整数倍' if step else ''}"


def check_judged(rule: Rule, value: Any) -> str | None:
    points, top, step = dec(value), dec(rule["max"]), dec(rule["step"])
    if ZERO <= points <= top and is_multiple(points, step):
        return None
    return f"酌情打分 {fmt(points)} 无效：应在 0 至 {fmt(top)} 分之间，且为 {fmt(step)} 分的整数倍"
