"""Checks across indicators: answers of two indicators that the standard ties together.

`equal`: the same fact asked in two indicators in different words has the same answer; `implies`: when the
left answer is as stated, the right one must be as stated; `at_most`: the left number (or count) is at most
the right one; `excludes`: no item is listed in both (residents counted in one item are not counted again in
another). A check whose answers are not both given is not applied (the missing answer is flagged anyway).

Where the standard says so, a check changes the score instead of refusing the answers: `effect: zero` scores
the right-hand indicator 0, and `effect: uncount` (on `excludes`) takes what the left answer counts out of
the right answer before the right-hand indicator is scored (long-term residents "不再计入助餐、助医……服务绩效").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

from scoring.base.errors import ScoringError
from scoring.base.numbers import ZERO, dec, fmt
from scoring.domain.model import Bundle, Check, Indicator, Input, Rubric, Side
from scoring.domain.results import IndicatorResult, Step

KINDS = ("equal", "implies", "at_most", "excludes")
COUNTED = ("number", "integer", "list", "multi")
LISTS = ("list", "multi")
# Stage k of an indicator scored again with some of its values replaced, a step put first in its trace.
Rescore = Callable[[IndicatorResult, int, Mapping[str, Any], Step], IndicatorResult]


def _amount(value: Any) -> Decimal:
    return Decimal(len(value)) if isinstance(value, list) else dec(value)


def meets(side: Side, value: Any) -> bool:
    """Whether an answer is as an `implies` side states it (a yes/no side with no value stated: yes)."""
    if side.one_of:
        return str(value) in side.one_of
    if side.at_least is not None or side.at_most is not None:
        amount = _amount(value)
        return (side.at_least is None or amount >= side.at_least) and (side.at_most is None or amount <= side.at_most)
    return value is (True if side.value is None else side.value)


def failed(check: Check, left: Any, right: Any) -> str | None:
    """Why two answers break a check, or None when they keep it."""
    if check.kind == "equal" and (sorted(left) if isinstance(left, list) else left) != (
            sorted(right) if isinstance(right, list) else right):
        return "两处填报不一致"
    if check.kind == "implies" and meets(check.left, left) and not meets(check.right, right):
        return "前者成立时后者也应成立"
    if check.kind == "at_most" and _amount(left) > _amount(right):
        return f"前者 {fmt(_amount(left))} 多于后者 {fmt(_amount(right))}"
    if check.kind == "excludes":
        both = [item for item in left if item in right]
        if both:
            return f"“{'、'.join(map(str, both))}” 在两处都已计入"
    return None


def broken(rubric: Rubric, values: Mapping[str, Mapping[str, Any]]) -> Iterator[tuple[Check, str]]:
    """Each check the answers in force break (indicator id -> input name -> value), with the message; an
    `uncount` check is never broken (it changes what is counted instead)."""
    for check in (c for c in rubric.checks if c.effect != "uncount"):
        left = values.get(check.left.indicator, {}).get(check.left.input)
        right = values.get(check.right.indicator, {}).get(check.right.input)
        if left is None or right is None:
            continue
        why = failed(check, left, right)
        if why:
            yield check, (f"{check.label}：{_named(rubric, check.left, left)}，{_named(rubric, check.right, right)}，"
                          f"{why}")


def _named(rubric: Rubric, side: Side, value: Any) -> str:
    ind = rubric.indicator(side.indicator)
    inp = ind.input(side.input) if ind else None
    return f"指标 {side.indicator} 的“{inp.label if inp else side.input}”为 {ind.say(side.input, value) if ind else value}"


def lint(rubric: Rubric, check: Check) -> Iterator[str]:
    """What the schema cannot see: both sides real, their types fitting the kind."""
    inputs: list[Input] = []
    for side in (check.left, check.right):
        ind: Indicator | None = rubric.indicator(side.indicator)
        inp = ind.input(side.input) if ind else None
        if ind is None:
            yield f"检查 “{check.label}” 引用了不存在的指标 “{side.indicator}”"
        elif inp is None:
            yield f"检查 “{check.label}”：指标 {side.indicator} 没有输入 “{side.input}”（该指标的输入有：{'、'.join(i.name for i in ind.inputs)}）"
        else:
            inputs.append(inp)
            yield from _lint_side(check, side, inp)
    if len(inputs) < 2:
        return
    a, b = inputs
    if (check.left.indicator, a.name) == (check.right.indicator, b.name):
        yield f"检查 “{check.label}”：两边是同一项填报（指标 {check.left.indicator} 的 “{a.name}”），请改为两个指标的输入"
    if a.fact and b.fact and a.name == b.name:
        yield f"检查 “{check.label}”：两边是同一个共用事实 “{a.name}”，本来就一致，无需检查"
    if check.kind == "equal" and (a.type != b.type or a.values != b.values):
        yield f"检查 “{check.label}”：equal 的两边应为同一类型、同样选项的输入（“{a.name}” 是 {a.type}，“{b.name}” 是 {b.type}）"
    if check.kind == "at_most" and not (a.type in COUNTED and b.type in COUNTED):
        yield f"检查 “{check.label}”：at_most 只用于数值、列表或多选输入（{'、'.join(COUNTED)}）"
    if check.effect == "uncount":
        yield from _lint_uncount(check, a, b)
    elif check.kind == "excludes" and not (a.type in LISTS and b.type in LISTS):
        yield f"检查 “{check.label}”：excludes 只用于两个列表或多选输入，比较其中的项"


def _lint_uncount(check: Check, a: Input, b: Input) -> Iterator[str]:
    if check.kind != "excludes":
        yield (f"检查 “{check.label}”：effect: uncount 只用于 excludes（前者已计入的不再计入后者），"
               f"{check.kind} 请用 refuse 或 zero")
    elif not ((b.type in LISTS and a.type in LISTS) or (b.type in ("number", "integer") and a.type in COUNTED)):
        yield (f"检查 “{check.label}”：uncount 的后者为列表或多选时，前者也应为列表或多选（按项扣除）；后者为数值时，"
               f"前者应为数值、列表或多选（按数扣除）。现为前者 {a.type}、后者 {b.type}")


def _lint_side(check: Check, side: Side, inp: Input) -> Iterator[str]:
    stated = bool(side.one_of) or side.at_least is not None or side.at_most is not None or side.value is not None
    if check.kind != "implies" and stated:
        yield f"检查 “{check.label}”：one_of、at_least、at_most、value 只用于 implies；{check.kind} 比较两边的填报本身"
    if side.one_of and (inp.type != "choice" or not set(side.one_of) <= {v for v, _ in inp.values}):
        yield f"检查 “{check.label}”：one_of 应列出单选输入 “{inp.name}” 的选项代码"
    if (side.at_least is not None or side.at_most is not None) and inp.type not in COUNTED:
        yield f"检查 “{check.label}”：at_least、at_most 只用于数值、列表或多选输入，“{inp.name}” 是 {inp.type}"
    if check.kind == "implies" and not stated and inp.type != "bool":
        yield f"检查 “{check.label}”：“{inp.name}” 不是是否类，请用 one_of、at_least 或 at_most 写明条件"


def apply(rubric: Rubric, bundle: Bundle, results: tuple[IndicatorResult, ...], stages: int, rescore: Rescore
          ) -> tuple[IndicatorResult, ...]:
    """Each stage's answers in force held to the checks: what an `uncount` check takes out of a right-hand
    answer is taken out first (the indicator scored again); then a broken check is refused, or, when the
    standard says so (`effect: zero`), its right-hand indicator scores nothing at that stage, the trace saying why."""
    for k in range(stages):
        results = _uncount(rubric, results, k, rescore)
        for check, message in broken(rubric, {r.id: r.scores[k].values for r in results}):
            if check.effect != "zero":
                refuse(bundle, check, message)
            results = tuple(_zeroed(r, k, message) if r.id == check.right.indicator else r for r in results)
    return results


def _uncount(rubric: Rubric, results: tuple[IndicatorResult, ...], k: int, rescore: Rescore
             ) -> tuple[IndicatorResult, ...]:
    for check in (c for c in rubric.checks if c.effect == "uncount"):
        by_id = {r.id: r for r in results}
        target = by_id[check.right.indicator]
        left = by_id[check.left.indicator].scores[k].values.get(check.left.input)
        right = target.scores[k].values.get(check.right.input)
        if left is None or right is None:
            continue
        counted, why = uncounted(rubric, check, left, right)
        if why:
            again = rescore(target, k, {check.right.input: counted}, Step("check", why, ZERO))
            results = tuple(again if r.id == again.id else r for r in results)
    return results


def uncounted(rubric: Rubric, check: Check, left: Any, right: Any) -> tuple[Any, str]:
    """The right answer less what the left one already counts, and the trace's words ("" when nothing is
    taken): a list less the items listed on the left; a number less the left number or count, not below 0."""
    ind = rubric.indicator(check.right.indicator)
    inp = ind.input(check.right.input) if ind else None
    assert ind is not None and inp is not None, "a check's sides are linted when the rubric is loaded"
    head = f"{check.label}：{_named(rubric, check.left, left)}；“{inp.label}”"
    there = f"已在指标 {check.left.indicator} 计入"
    if isinstance(right, list):
        both = [item for item in right if item in left]
        kept = [item for item in right if item not in left]
        if not both:
            return right, ""
        return kept, f"{head}中的 {ind.say(inp.name, both)}{there}，不再计入本项，按 {ind.say(inp.name, kept)}计分"
    less = min(_amount(left), dec(right))
    if not less:
        return right, ""
    rest = dec(right) - less
    return rest, (f"{head}为 {ind.say(inp.name, right)}，其中{there}的 {fmt(less)} 不再计入本项，"
                  f"按 {fmt(dec(right))} − {fmt(less)} = {ind.say(inp.name, rest)}计分")


def _zeroed(r: IndicatorResult, k: int, message: str) -> IndicatorResult:
    s = r.scores[k]
    step = Step("check", f"{message}，按评分细则本项不得分", ZERO, s.points, "核对两处填报，使其符合两项关系的要求")
    scores = list(r.scores)
    scores[k] = replace(s, points=ZERO, supported=ZERO, trace=(*s.trace, step))
    return replace(r, scores=tuple(scores))


def refuse(bundle: Bundle, check: Check, message: str) -> None:
    """Refuse answers that break a check, like a bad answer: the bundle's line of the left answer, both
    indicators named."""
    ans = bundle.answers.get(check.left.indicator, {}).get(check.left.input) or bundle.facts.get(check.left.input)
    raise ScoringError(message, bundle.name, ans.line if ans else None,
                       f"指标 {check.left.indicator} 与指标 {check.right.indicator}",
                       "请核对两处填报，使其符合评分细则对两项关系的要求")
