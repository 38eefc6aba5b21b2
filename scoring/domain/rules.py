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
from decimal import Decimal
from typing import Any

from scoring.base.numbers import ZERO, dec, fmt
from scoring.base.text import cn_date
from scoring.domain import rulechecks as checks
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
    """Base less `each` per case (a count or a list of named cases) or less a judged amount; with
    `weights`, each failed item of a multi-select costs its own weight."""
    base, each, label = dec(rule["base"]), dec(rule.get("each", 1)), ctx.label(rule)
    floor = dec(rule.get("floor", 0))
    value = ctx.value(rule["input"])
    if value is None:
        return _earned(rule, ctx, ZERO, f"{label}：未填报，不得分", base, f"如实填报{label}")
    if "weights" in rule:
        return _weighted(rule, ctx, value)
    count = _count(value)
    points = max(base - each * count, floor)
    inp = ctx.indicator.input(rule["input"])
    # Only the steps taken: none when nothing is deducted, a judged amount as itself, the floor when it binds.
    taken = f"{fmt(each)} × {fmt(count)}" if inp is None or inp.type != "score" or each != 1 else fmt(count)
    kept = f"（不低于 {fmt(floor)} 分）" if points == floor else ""
    text = (f"{fmt(base)} − {taken}，得 {fmt(points)} 分{kept}" if count else f"未扣分，得 {fmt(points)} 分")
    return _earned(rule, ctx, points, f"{label} {_shown(ctx, rule, value)}：{text}", base,
                   f"逐项整改{label}，可挽回被扣的分数")


def _weighted(rule: Rule, ctx: Context, failed: list[str]) -> Outcome:
    """每有一项不符合要求扣 n 分: the base less each failed item's own weight (`each` when it has none)."""
    base, label, floor = dec(rule["base"]), ctx.label(rule), dec(rule.get("floor", 0))
    inp = ctx.indicator.input(rule["input"])
    costs = [(dec(rule["weights"].get(code, rule.get("each", 1))), inp.choice_label(code) if inp else code)
             for code in failed]
    points = max(base - sum((c for c, _ in costs), ZERO), floor)
    terms = "".join(f" − {fmt(c)}（{name}）" for c, name in costs)
    kept = f"（不低于 {fmt(floor)} 分）" if points == floor and costs else ""
    text = (f"{label}：{fmt(base)}{terms}，得 {fmt(points)} 分{kept}" if costs
            else f"{label}：无不符合项，得 {fmt(points)} 分")
    return _earned(rule, ctx, points, text, base, f"逐项整改{label}，可挽回被扣的分数")


def fixed(rule: Rule, ctx: Context) -> Outcome:
    """Fixed points that need no answer: the part of a clause a veto may take away (20 分，发生责任事故不得分)."""
    points = dec(rule["points"])
    return Outcome(points, (Step("fixed", f"{rule.get('label', '本项分值')}：得 {fmt(points)} 分", points),))


def veto(rule: Rule, ctx: Context) -> Outcome:
    """The inner rule's points unless the input has the vetoing value (`equals`, true by default)."""
    label = ctx.label(rule)
    value = ctx.value(rule["input"])
    inner = score(rule["rule"], ctx)
    if value is not None and value != rule.get("equals", True):
        return inner
    reach_ = reach(rule["rule"])
    read = (ctx.read(rule["input"]),)
    if value is None:
        text = f"{label}：未填报，无法排除否决情形，本项不得分"
        step = Step("veto", text, ZERO, reach_, f"如实填报{label}", read)
    else:
        text = f"{label}：{_shown(ctx, rule, value)}，一票否决，本项不得分"
        step = Step("veto", text, ZERO, reach_, f"评估期内杜绝{label}", read)
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
                      ("number", "integer", "list", "multi"), checks.lint_threshold),
    "choice": Kind(choice, _top, ("choice",), checks.lint_choice),
    "tier": Kind(choice, _top, ("choice",), checks.lint_choice),
    "judged": Kind(judged, lambda r: dec(r["max"]), ("score",), checks.lint_judged, checks.check_judged),
    "per_item": Kind(per_item, lambda r: dec(r["cap"]), ("integer", "list", "multi"), checks.lint_per_item),
    "fixed": Kind(fixed, lambda r: dec(r["points"]), ()),
    "deduction": Kind(deduction, lambda r: dec(r["base"]), ("integer", "list", "multi", "score"),
                      checks.lint_deduction,
                      checks.check_deduction),
    "veto": Kind(veto, _inner, ("bool", "choice"), checks.lint_gate),
    "gate": Kind(gate, _inner, ("bool", "choice"), checks.lint_gate),
    "sum": Kind(total, lambda r: min([sum((reach(p) for p in r["parts"]), ZERO),
                                      *([dec(r["cap"])] if "cap" in r else [])]), ()),
    "document_date": Kind(document_date, _inner, ("bool", "number", "integer", "choice", "multi", "list", "score"),
                          checks.lint_dates),
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
            yield _misfit(rule["kind"], inp.type, inp.name)
            return
    amounts: list[Any] = [lv["points"] for lv in rule.get("levels", ())]
    for key in ("points", "max", "cap", "base"):
        amounts += _numbers(rule.get(key))
    for v in amounts:
        if dec(v) > ind.max:
            yield f"{rule['kind']} 规则的分值 {fmt(dec(v))} 超过指标分值 {fmt(ind.max)}"
    if kind.lint:
        yield from kind.lint(rule, ind)


def _misfit(kind: str, type_: str, name: str) -> str:
    """A kind given an input of a type it cannot take: what it takes, and the kinds that take this type."""
    takes = "、".join(KINDS[kind].input_types)
    others = "、".join(k for k, v in KINDS.items() if type_ in v.input_types and k not in (kind, "tier", "document_date"))
    return (f"规则 {kind} 不能使用 {type_} 类型的输入 “{name}”：{kind} 可用的输入类型为 {takes}；"
            f"{type_} 类型的输入通常用 {others or '（无）'}")


def _amounts(rule: Rule) -> list[Decimal]:
    out: list[Any] = [lv["points"] for lv in rule.get("levels", ())]
    if rule["kind"] == "deduction" and "each" not in rule:
        out.append(1)
    for key in ("points", "max", "cap", "base", "each", "step", "weights"):
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
