"""Rule kinds: one function each, one registry.

A rule is a mapping from the rubric with a `kind`. Its score function turns the answers into points
plus trace steps in plain Chinese, each step recording the inputs it read. Adding a kind means one
score function, one reach function and one entry in KINDS, with its own lint and answer checks when it
needs them (and the schema and docs/rubric-language.md, which a test keeps honest).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from scoring.base.numbers import ZERO, dec, fmt, is_multiple
from scoring.base.text import cn_date
from scoring.domain.model import Indicator
from scoring.domain.results import Flag, Read, Step

Rule = Mapping[str, Any]


class AnswerError(Exception):
    """An answer the rule cannot take (off its step, out of range); the engine says where."""

    def __init__(self, input_name: str, message: str) -> None:
        super().__init__(message)
        self.input = input_name
        self.message = message


@dataclass(frozen=True)
class Outcome:
    points: Decimal
    steps: tuple[Step, ...] = ()
    flags: tuple[Flag, ...] = ()

    def __add__(self, other: Outcome) -> Outcome:
        return Outcome(self.points + other.points, self.steps + other.steps, self.flags + other.flags)


@dataclass
class Context:
    """What a rule may look at: the indicator, the answers, their cited documents and those dates."""

    indicator: Indicator
    values: Mapping[str, Any]  # input name -> answered value (unanswered names absent)
    documents: Mapping[str, tuple[str, ...]]  # input name -> ids of the documents its answer cites
    doc_dates: Mapping[str, tuple[str, ...]]  # input name -> dates of its cited documents
    supported: bool = False  # scoring only what the evidence supports
    missing: list[str] = field(default_factory=list)

    def value(self, name: str) -> Any:
        if name not in self.values and name not in self.missing:
            self.missing.append(name)
        return self.values.get(name)

    def read(self, name: str) -> Read:
        return Read(name, self.values.get(name), self.documents.get(name, ()))

    def label(self, rule: Rule) -> str:
        if "label" in rule:
            return str(rule["label"])
        inp = self.indicator.input(rule.get("input", ""))
        return inp.label if inp else str(rule.get("input", ""))


def _earned(rule: Rule, ctx: Context, points: Decimal, text: str, full: Decimal, hint: str = "") -> Outcome:
    lost = full - points
    reads = (ctx.read(rule["input"]),) if "input" in rule else ()
    return Outcome(points, (Step(rule["kind"], text, points, lost, hint if lost > 0 else "", reads),))


def _shown(ctx: Context, rule: Rule, value: Any) -> str:
    return ctx.indicator.say(rule["input"], value)


def _count(value: Any) -> Decimal:
    """A number as answered, or how many items a list names (a list's items are distinct)."""
    return Decimal(len(value)) if isinstance(value, list) else dec(value)


def flag(rule: Rule, ctx: Context) -> Outcome:
    points, label = dec(rule["points"]), ctx.label(rule)
    value = ctx.value(rule["input"])
    if value is True:
        return _earned(rule, ctx, points, f"{label}：是，得 {fmt(points)} 分", points)
    return _earned(rule, ctx, ZERO, f"{label}：{_shown(ctx, rule, value)}，不得分",
                   points, f"{label}，可得 {fmt(points)} 分")


def threshold(rule: Rule, ctx: Context) -> Outcome:
    """A target met earns points; with `levels`, the highest level reached counts (volume tiers)."""
    label, op = ctx.label(rule), rule.get("op", ">=")
    levels = rule.get("levels") or [{"at": rule["target"], "points": rule["points"]}]
    ranked = sorted(((dec(lv["at"]), dec(lv["points"])) for lv in levels), key=lambda lv: lv[1], reverse=True)
    best_target, best = ranked[0]
    value = ctx.value(rule["input"])
    shown = _shown(ctx, rule, value)

    def want(target: Decimal) -> str:
        return f"{'达到' if op == '>=' else '不高于'} {_shown(ctx, rule, target)}"

    for target, points in ranked:
        if value is not None and (_count(value) >= target if op == ">=" else _count(value) <= target):
            return _earned(rule, ctx, points, f"{label} {shown}，{want(target)}，得 {fmt(points)} 分", best,
                           f"{label}{want(best_target)}，可得 {fmt(best)} 分")
    return _earned(rule, ctx, ZERO, f"{label} {shown}，未{want(ranked[-1][0])}，不得分", best,
                   f"{label}{want(best_target)}，可得 {fmt(best)} 分")


def choice(rule: Rule, ctx: Context) -> Outcome:
    """Each value is worth fixed points or scores by its own rule, which runs only for that value."""
    best, label = _top(rule), ctx.label(rule)
    value = ctx.value(rule["input"])
    branch = {str(k): v for k, v in rule["points"].items()}.get(str(value), ZERO) if value is not None else ZERO
    hint = f"{label}达到最高档，最高可得 {fmt(best)} 分"
    if isinstance(branch, Mapping):
        inner = score(branch, ctx)
        step = Step(rule["kind"], f"{label}：{_shown(ctx, rule, value)}，按该项细则计分", ZERO,
                    best - reach(branch), hint if best > reach(branch) else "", (ctx.read(rule["input"]),))
        return Outcome(inner.points, (step, *inner.steps), inner.flags)
    points = dec(branch)
    return _earned(rule, ctx, points, f"{label}：{_shown(ctx, rule, value)}，得 {fmt(points)} 分", best, hint)


def judged(rule: Rule, ctx: Context) -> Outcome:
    top, label = dec(rule["max"]), ctx.label(rule)
    value = ctx.value(rule["input"])
    hint = f"{label}（酌情打分，最高 {fmt(top)} 分）"
    if value is None:
        return _earned(rule, ctx, ZERO, f"{label}：未打分，不得分", top, hint)
    points = dec(value)
    return _earned(rule, ctx, points, f"{label}：酌情打分 {fmt(points)} 分（满分 {fmt(top)} 分）", top, hint)


def per_item(rule: Rule, ctx: Context) -> Outcome:
    each, cap, label = dec(rule["each"]), dec(rule["cap"]), ctx.label(rule)
    value = ctx.value(rule["input"])
    count = _count(value) if value is not None else ZERO
    raw = each * count
    points = min(raw, cap)
    capped = f"，封顶 {fmt(cap)} 分" if raw > cap else ""
    return _earned(rule, ctx, points,
                   f"{label}：{_shown(ctx, rule, value)}，每项 {fmt(each)} 分，"
                   f"得 {fmt(points)} 分{capped}", cap, f"{label}每增加一项加 {fmt(each)} 分，最高 {fmt(cap)} 分")


def deduction(rule: Rule, ctx: Context) -> Outcome:
    """Base less `each` per case (a count or a list of named cases) or less a judged amount."""
    base, each, label = dec(rule["base"]), dec(rule.get("each", 1)), ctx.label(rule)
    floor = dec(rule.get("floor", 0))
    value = ctx.value(rule["input"])
    if value is None:
        return _earned(rule, ctx, ZERO, f"{label}：未填报，不得分", base, f"如实填报{label}")
    count = _count(value)
    points = max(base - each * count, floor)
    return _earned(rule, ctx, points,
                   f"{label} {_shown(ctx, rule, value)}：{fmt(base)} − {fmt(each)} × {fmt(count)}，"
                   f"得 {fmt(points)} 分（不低于 {fmt(floor)} 分）", base, f"逐项整改{label}，可挽回被扣的分数")


def veto(rule: Rule, ctx: Context) -> Outcome:
    label = ctx.label(rule)
    value = ctx.value(rule["input"])
    inner = score(rule["rule"], ctx)
    if value is False:
        return inner
    reach_ = reach(rule["rule"])
    read = (ctx.read(rule["input"]),)
    if value is None:
        text = f"{label}：未填报，无法排除否决情形，本项不得分"
        step = Step("veto", text, ZERO, reach_, f"如实填报{label}", read)
    else:
        step = Step("veto", f"{label}：是，一票否决，本项不得分", ZERO, reach_, f"评估期内杜绝{label}", read)
    return Outcome(ZERO, (*inner.steps, step), inner.flags)


def gate(rule: Rule, ctx: Context) -> Outcome:
    label = ctx.label(rule)
    value = ctx.value(rule["input"])
    if value is not None and value == rule.get("equals", True):
        return score(rule["rule"], ctx)
    held = [node for node in walk(rule["rule"]) if "input" in node]
    if value is None:  # behind an unanswered gate, unanswered inputs are still missing
        for node in held:
            ctx.value(node["input"])
    full = reach(rule["rule"])
    parts = "、".join(f"“{ctx.label(node)}”" for node in held)
    text = f"{label}：{_shown(ctx, rule, value)}，前提未满足，{parts}不计分"
    hint = f"先满足“{label}”，{parts}最高可得 {fmt(full)} 分"
    return Outcome(ZERO, (Step("gate", text, ZERO, full, hint, (ctx.read(rule["input"]),)),))


def total(rule: Rule, ctx: Context) -> Outcome:
    result = Outcome(ZERO)
    for part in rule["parts"]:
        result = result + score(part, ctx)
    if "cap" in rule and result.points > dec(rule["cap"]):
        cap = dec(rule["cap"])
        step = Step("sum", f"合计 {fmt(result.points)} 分，封顶 {fmt(cap)} 分", cap)
        return Outcome(cap, (*result.steps, step), result.flags)
    return result


def document_date(rule: Rule, ctx: Context) -> Outcome:
    inner = score(rule["rule"], ctx)
    start, end = rule.get("from"), rule.get("to")
    dates = ctx.doc_dates.get(rule["input"], ())
    in_window = any((start is None or d >= start) and (end is None or d <= end) for d in dates)
    if in_window or inner.points == 0:  # nothing claimed, nothing to date
        return inner
    window = f"{cn_date(start) + '以来' if start else ''}{'至' + cn_date(end) if end else ''}"
    cited = "、".join(cn_date(d) for d in dates) or "无"
    message = f"{ctx.label(rule)}：所引文件日期（{cited}）不在“{window}”范围内"
    flags = (*inner.flags, Flag("document_date", rule["input"], message))
    read = (ctx.read(rule["input"]),)
    if not ctx.supported:
        return Outcome(inner.points, (*inner.steps, Step("document_date", message + "，已标记", ZERO, reads=read)),
                       flags)
    step = Step("document_date", message + "，不计入有据得分", ZERO, inner.points, f"补充{window}出台的文件", read)
    return Outcome(ZERO, (*inner.steps, step), flags)


# ---------------------------------------------------------------- per-kind checks


def _lint_choice(rule: Rule, ind: Indicator) -> Iterator[str]:
    inp = ind.input(rule["input"])
    codes = {v for v, _ in inp.values} if inp else set()
    for code in rule["points"]:
        if code not in codes:
            yield f"分档 “{code}” 不是输入 “{rule['input']}” 的可选值"


def _lint_threshold(rule: Rule, ind: Indicator) -> Iterator[str]:
    inp = ind.input(rule["input"])
    if inp is None or inp.type != "multi" or rule.get("op", ">=") != ">=":
        return
    for lv in rule.get("levels") or [{"at": rule["target"]}]:
        if dec(lv["at"]) > len(inp.values):
            yield f"目标 {fmt(dec(lv['at']))} 项多于输入 “{inp.name}” 的可选项数 {len(inp.values)}，无法达到"


def _lint_per_item(rule: Rule, ind: Indicator) -> Iterator[str]:
    inp = ind.input(rule["input"])
    if inp is None or inp.type != "multi":
        return
    each, cap = dec(rule["each"]), dec(rule["cap"])
    if each * len(inp.values) < cap:
        yield (f"输入 “{inp.name}” 共 {len(inp.values)} 个可选项，每项 {fmt(each)} 分，"
               f"最多 {fmt(each * len(inp.values))} 分，达不到封顶 {fmt(cap)} 分")


def _lint_gate(rule: Rule, ind: Indicator) -> Iterator[str]:
    inp = ind.input(rule["input"])
    if inp and inp.type == "choice" and "equals" in rule and rule["equals"] not in {v for v, _ in inp.values}:
        yield f"前提值 “{rule['equals']}” 不是输入 “{inp.name}” 的可选值"


def _lint_judged(rule: Rule, ind: Indicator) -> Iterator[str]:
    if not is_multiple(dec(rule["max"]), dec(rule["step"])):
        yield f"酌情打分的上限 {fmt(dec(rule['max']))} 不是步长 {fmt(dec(rule['step']))} 的整数倍"


def _lint_deduction(rule: Rule, ind: Indicator) -> Iterator[str]:
    if dec(rule.get("floor", 0)) > dec(rule["base"]):
        yield f"扣分规则的下限 {fmt(dec(rule['floor']))} 高于基础分 {fmt(dec(rule['base']))}"
    inp = ind.input(rule["input"])
    if ("max" in rule or "step" in rule) and inp and inp.type != "score":
        yield f"扣分的 max 和 step 只用于酌情扣分（score 类型的输入），“{inp.name}” 是 {inp.type} 类型"
    elif "max" in rule and "step" in rule and not is_multiple(dec(rule["max"]), dec(rule["step"])):
        yield f"扣分上限 {fmt(dec(rule['max']))} 不是步长 {fmt(dec(rule['step']))} 的整数倍"


def _lint_dates(rule: Rule, ind: Indicator) -> Iterator[str]:
    ends: list[str] = [rule.get(k, "") for k in ("from", "to")]
    for end in filter(None, ends):
        try:
            date.fromisoformat(end)
        except ValueError:
            yield f"日期 “{end}” 不存在"
    if all(ends) and ends[0] > ends[1]:
        yield f"日期范围的起点 {ends[0]} 晚于终点 {ends[1]}"


def _check_deduction(rule: Rule, value: Any) -> str | None:
    """A judged deduction keeps to its declared range and step (扣1–3分: max 3, step 1)."""
    if isinstance(value, list) or not ("max" in rule or "step" in rule):
        return None
    amount, step = dec(value), dec(rule.get("step", 0))
    top = dec(rule["max"]) if "max" in rule else None
    if (top is None or amount <= top) and (not step or is_multiple(amount, step)):
        return None
    within = f"应在 0 至 {fmt(top)} 分之间" if top is not None else "应不低于 0 分"
    return f"扣分 {fmt(amount)} 无效：{within}{f'，且为 {fmt(step)} 分的整数倍' if step else ''}"


def _check_judged(rule: Rule, value: Any) -> str | None:
    points, top, step = dec(value), dec(rule["max"]), dec(rule["step"])
    if ZERO <= points <= top and is_multiple(points, step):
        return None
    return f"酌情打分 {fmt(points)} 无效：应在 0 至 {fmt(top)} 分之间，且为 {fmt(step)} 分的整数倍"


# ---------------------------------------------------------------- the registry


@dataclass(frozen=True)
class Kind:
    score: Callable[[Rule, Context], Outcome]
    reach: Callable[[Rule], Decimal]
    input_types: tuple[str, ...]  # empty: no input of its own
    lint: Callable[[Rule, Indicator], Iterator[str]] | None = None  # what the schema cannot see
    check: Callable[[Rule, Any], str | None] | None = None  # an answer this rule cannot take


def _inner(rule: Rule) -> Decimal:
    return reach(rule["rule"])


def _top(rule: Rule) -> Decimal:
    """A choice's best value: only one branch applies, so the most any one of them can give."""
    return max(reach(v) if isinstance(v, Mapping) else dec(v) for v in rule["points"].values())


KINDS: dict[str, Kind] = {
    "flag": Kind(flag, lambda r: dec(r["points"]), ("bool",)),
    "threshold": Kind(threshold, lambda r: max(dec(lv["points"]) for lv in r.get("levels") or [r]),
                      ("number", "integer", "list", "multi"), _lint_threshold),
    "choice": Kind(choice, _top, ("choice",), _lint_choice),
    "tier": Kind(choice, _top, ("choice",), _lint_choice),
    "judged": Kind(judged, lambda r: dec(r["max"]), ("score",), _lint_judged, _check_judged),
    "per_item": Kind(per_item, lambda r: dec(r["cap"]), ("integer", "list", "multi"), _lint_per_item),
    "deduction": Kind(deduction, lambda r: dec(r["base"]), ("integer", "list", "score"), _lint_deduction,
                      _check_deduction),
    "veto": Kind(veto, _inner, ("bool",)),
    "gate": Kind(gate, _inner, ("bool", "choice"), _lint_gate),
    "sum": Kind(total, lambda r: min([sum((reach(p) for p in r["parts"]), ZERO),
                                      *([dec(r["cap"])] if "cap" in r else [])]), ()),
    "document_date": Kind(document_date, _inner, ("bool", "number", "integer", "choice", "multi", "list", "score"),
                          _lint_dates),
}


def score(rule: Rule, ctx: Context) -> Outcome:
    return KINDS[rule["kind"]].score(rule, ctx)


def reach(rule: Rule) -> Decimal:
    """The most points a rule can give."""
    return KINDS[rule["kind"]].reach(rule)


def _children(rule: Rule) -> list[Rule]:
    """The rules inside a rule: a sum's parts, a gate's or veto's rule, a choice's own-rule branches."""
    branches = rule["points"].values() if isinstance(rule.get("points"), Mapping) else ()
    return [*rule.get("parts", ()), *([rule["rule"]] if "rule" in rule else []),
            *(b for b in branches if isinstance(b, Mapping))]


def walk(rule: Rule) -> Iterator[Rule]:
    yield rule
    for child in _children(rule):
        yield from walk(child)


def _numbers(value: Any) -> list[Any]:
    """The fixed amounts under a key: a number, or a mapping's numbers (its own-rule branches walk apart)."""
    if isinstance(value, Mapping):
        return [v for v in value.values() if not isinstance(v, Mapping)]
    return [] if value is None else [value]


def check_answers(nodes: Iterable[Rule], values: Mapping[str, Any]) -> None:
    """Refuse any answer a rule node cannot take, whether or not a gate before it is open."""
    for node in nodes:
        check = KINDS[node["kind"]].check
        value = values.get(node.get("input", ""))
        problem = check(node, value) if check and value is not None else None
        if problem:
            raise AnswerError(node["input"], problem)


def check_node(rule: Rule, ind: Indicator) -> Iterator[str]:
    """Problems with one rule node that the schema cannot see."""
    kind = KINDS[rule["kind"]]
    if "input" in rule:
        inp = ind.input(rule["input"])
        if inp is None:
            yield f"规则引用了未声明的输入 “{rule['input']}”"
            return
        if inp.type not in kind.input_types:
            yield f"规则 {rule['kind']} 不能使用 {inp.type} 类型的输入 “{inp.name}”"
            return
    amounts: list[Any] = [lv["points"] for lv in rule.get("levels", ())]
    for key in ("points", "max", "cap", "base"):
        amounts += _numbers(rule.get(key))
    for v in amounts:
        if dec(v) > ind.max:
            yield f"{rule['kind']} 规则的分值 {fmt(dec(v))} 超过指标分值 {fmt(ind.max)}"
    if kind.lint:
        yield from kind.lint(rule, ind)


def _amounts(rule: Rule) -> list[Decimal]:
    out: list[Any] = [lv["points"] for lv in rule.get("levels", ())]
    if rule["kind"] == "deduction" and "each" not in rule:
        out.append(1)
    for key in ("points", "max", "cap", "base", "each", "step"):
        out += _numbers(rule.get(key))
    return [dec(v) for v in out]


def step_of(ind: Indicator) -> Decimal | None:
    """The step a score set by a reviewer keeps to: the rule's granularity, or None when a rule node
    turns a free number into points (a deduction by a judged amount without a declared step, or by a
    measured number)."""
    for node in walk(ind.rule):
        inp = ind.input(node.get("input", ""))
        free = node["kind"] == "deduction" and "step" not in node
        if free and inp is not None and inp.type in ("score", "number"):
            return None
    return granularity(ind.rule)


def granularity(rule: Rule) -> Decimal:
    """The finest step a rule's points move by: the greatest common divisor of every amount in it
    (0.1 for 1 − 0.3 per case, 0.5 for a judged score on 0.5)."""
    amounts = [a for node in walk(rule) for a in _amounts(node) if a]
    places = max((max(-a.as_tuple().exponent, 0) for a in amounts), default=0)  # type: ignore[operator]
    scale = Decimal(10) ** places
    return Decimal(math.gcd(*(int(a * scale) for a in amounts)) or 1) / scale
