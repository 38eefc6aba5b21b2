"""Which parts of a rubric its own cases exercise (`scoring rubric test RUBRIC --coverage`).

A part is one way a rule can go: a choice's listed value, a threshold's level (and reaching none), a gate
open and closed, a veto holding and clear; and, with bands, each band reached (and none), each prerequisite
unmet and each veto holding. A case exercises the parts its self-assessment went through: a branch's own rule
only when that value was chosen, a gate's rule only when it was open.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from scoring.base.numbers import dec, fmt
from scoring.domain.bands import holds
from scoring.domain.model import Indicator, Rubric
from scoring.domain.results import Result
from scoring.domain.rules import Rule

BANDS = "星级（bands）"


@dataclass(frozen=True)
class Coverage:
    parts: dict[str, list[str]]  # indicator id (or BANDS) -> every part, in rubric order
    missed: dict[str, list[str]]  # the parts no case exercises

    @property
    def total(self) -> int:
        return sum(len(p) for p in self.parts.values())

    @property
    def covered(self) -> int:
        return self.total - sum(len(m) for m in self.missed.values())

    @property
    def share(self) -> Decimal:
        return Decimal(100) if not self.total else (Decimal(self.covered) * 100 / self.total).quantize(Decimal("0.1"))


def coverage(rubric: Rubric, results: Iterable[Result]) -> Coverage:
    parts = {ind.id: list(dict.fromkeys(_parts(ind.rule, ind))) for ind in rubric.indicators}
    if rubric.bands is not None:
        parts[BANDS] = list(dict.fromkeys(_band_parts(rubric)))
    seen: dict[str, set[str]] = {key: set() for key in parts}
    for result in results:
        for i in result.indicators:
            seen[i.id] |= set(_taken(i.indicator.rule, i.indicator, i.scores[0].values))
        if rubric.bands is not None:
            seen[BANDS] |= set(_bands_taken(rubric, result))
    missed = {key: [p for p in ps if p not in seen[key]] for key, ps in parts.items()}
    return Coverage(parts, {key: m for key, m in missed.items() if m})


def _where(rule: Rule, ind: Indicator) -> str:
    """A rule node as the trace names it: its label, else its input's."""
    if "label" in rule:
        return str(rule["label"])
    inp = ind.input(rule.get("input", ""))
    return inp.label if inp else str(rule.get("input", ""))


def _levels(rule: Rule) -> list[Decimal]:
    return sorted((dec(lv["at"]) for lv in rule["levels"]), reverse=rule.get("op", ">=") == ">=")


def _parts(rule: Rule, ind: Indicator) -> Iterator[str]:
    """Every way a rule can go."""
    kind, name = rule["kind"], _where(rule, ind)
    if kind in ("choice", "tier"):
        for code, branch in rule["points"].items():
            yield f"{name}：{_say(ind, rule, code)}"
            if isinstance(branch, Mapping):
                yield from _parts(branch, ind)
    elif kind == "threshold" and "levels" in rule:
        yield from (f"{name}：达到 {fmt(at)}" for at in _levels(rule))
        yield f"{name}：未达到任何一档"
    elif kind in ("gate", "veto"):
        yield from ((f"{name}：前提满足", f"{name}：前提未满足") if kind == "gate"
                    else (f"{name}：一票否决", f"{name}：未否决"))
    for child in (*rule.get("parts", ()), *([rule["rule"]] if "rule" in rule else [])):
        yield from _parts(child, ind)


def _taken(rule: Rule, ind: Indicator, values: Mapping[str, Any]) -> Iterator[str]:
    """The ways a rule went on one case's answers, into a branch's or a gate's rule only when it ran."""
    kind, name, value = rule["kind"], _where(rule, ind), values.get(rule.get("input", ""))
    if kind in ("choice", "tier"):
        branch = rule["points"].get(str(value)) if value is not None else None
        if value is not None and str(value) in rule["points"]:
            yield f"{name}：{_say(ind, rule, value)}"
        if isinstance(branch, Mapping):
            yield from _taken(branch, ind, values)
        return
    if kind == "threshold" and "levels" in rule and value is not None:
        count = Decimal(len(value)) if isinstance(value, list) else dec(value)
        up = rule.get("op", ">=") == ">="
        at = next((at for at in _levels(rule) if (count >= at if up else count <= at)), None)
        yield f"{name}：达到 {fmt(at)}" if at is not None else f"{name}：未达到任何一档"
    if kind == "gate":
        is_open = value is not None and value == rule.get("equals", True)
        yield f"{name}：前提满足" if is_open else f"{name}：前提未满足"
        if not is_open:
            return
    if kind == "veto":
        cleared = value is not None and value != rule.get("equals", True)
        yield f"{name}：未否决" if cleared else f"{name}：一票否决"
    for child in (*rule.get("parts", ()), *([rule["rule"]] if "rule" in rule else [])):
        yield from _taken(child, ind, values)


def _say(ind: Indicator, rule: Rule, code: Any) -> str:
    return ind.say(rule["input"], str(code))


def _band_parts(rubric: Rubric) -> Iterator[str]:
    bands = rubric.bands
    assert bands is not None
    for b in bands.levels:
        yield f"达到{b.name}"
        yield from (f"{b.name}前提条件“{c.label}”未满足" for c in b.prerequisites)
    yield bands.none
    yield from (f"否决“{c.label}”成立" for c in bands.veto)


def _bands_taken(rubric: Rubric, result: Result) -> Iterator[str]:
    bands, own = rubric.bands, result.own
    assert bands is not None
    facts = result.stages[0].facts
    yield f"达到{own.verdict.band}" if own.verdict.band else bands.none
    for b in bands.levels:
        yield from (f"{b.name}前提条件“{c.label}”未满足" for c in b.prerequisites
                    if not holds(rubric, c, facts.get(c.fact)))
    yield from (f"否决“{c.label}”成立" for c in bands.veto if holds(rubric, c, facts.get(c.fact)))


def lines(cov: Coverage) -> list[str]:
    """The report: each indicator's parts no case exercises, then the share."""
    out = []
    for key, missed in cov.missed.items():
        out.append(f"{key if key == BANDS else '指标 ' + key}：{len(missed)} 处未被任何用例覆盖")
        out += [f"    - {m}" for m in missed]
    out.append(f"覆盖率：{cov.covered}/{cov.total}（{fmt(cov.share)}%）")
    return out
