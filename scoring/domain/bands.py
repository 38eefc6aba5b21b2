"""Bands (星级): the highest band whose every requirement holds, and what held the result below the others.

judge() in the engine calls rate() with the reasons that bar every band (the verdict's own conditions)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from scoring.base.numbers import dec, fmt
from scoring.domain.model import Band, Bands, Condition, Rubric, say
from scoring.domain.results import BandHeld, Totals, Verdict


def rate(rubric: Rubric, bands: Bands, totals: Totals, facts: Mapping[str, Any], barred: list[str]) -> Verdict:
    """The highest band all of whose requirements hold. The verdict's own conditions and any veto that
    holds bar every band."""
    vetoed = [f"{c.label}（一票否决）" for c in bands.veto if holds(rubric, c, facts.get(c.fact))]
    asked, fact = facts.get(bands.requested), rubric.fact(bands.requested)
    requested = fact.choice_label(asked) if fact and asked is not None else ""  # the label names the band
    missing = {b.name: [*barred, *vetoed, *_short(rubric, b, totals, facts, requested)] for b in bands.levels}
    reached = next((b.name for b in bands.levels if not missing[b.name]), None)
    names = [b.name for b in bands.levels]
    k = names.index(reached) if reached else len(names)
    above = names[k - 1] if k else None  # the band above, or the lowest when none is reached
    target = requested if requested and requested != reached else above
    held = tuple(missing[target]) if target else ()
    top = names.index(requested) if requested in names[:k] else 0  # up to the band applied for, or the top
    explained = tuple(BandHeld(n, tuple(missing[n])) for n in reversed(names[top:k]))
    by_total = next((b.name for b in bands.levels if totals.total >= b.min_total), None)
    text = _text(bands, reached, requested, not missing[requested] if requested else False)
    passed = not missing[requested] if requested else reached is not None
    return Verdict(passed, held, text, reached, target, held, requested, explained, by_total)


def _text(bands: Bands, reached: str | None, requested: str, met: bool) -> str:
    """The verdict in words: the band (or the words for none) and the band applied for."""
    text = reached or bands.none
    if requested:
        text = (f"申请{requested}，符合{requested}条件" if met
                else f"申请{requested}，未达到{requested}条件；" + (f"评定为{reached}" if reached else bands.none))
    return text


def _short(rubric: Rubric, band: Band, totals: Totals, facts: Mapping[str, Any], requested: str
           ) -> Iterator[str]:
    """Everything the result lacks for one band: points, each category's share, each prerequisite (one
    judged for the band applied for binds that band alone, or every band when none is applied for)."""
    if totals.total < band.min_total:
        yield (f"总分 {fmt(totals.total)} 分，低于{band.name}要求的 {fmt(band.min_total)} 分"
               f"（差 {fmt(band.min_total - totals.total)} 分）")
    scores = {c.id: c for c in totals.categories}
    for cid, share in band.category_min:
        cat = scores[cid]
        need = cat.max * share / 100
        if cat.score < need:
            yield (f"一级指标“{cat.title}”得分 {fmt(cat.score)} 分，低于{band.name}要求的 {fmt(share)}%"
                   f"（{fmt(need)} 分）")
    for c in band.prerequisites:
        if c.requested and requested and requested != band.name:
            continue
        value = facts.get(c.fact)
        if not holds(rubric, c, value):
            yield f"{band.name}前提条件“{c.label}”未满足（{say(rubric.fact(c.fact), value)}）"


def holds(rubric: Rubric, c: Condition, value: Any) -> bool:
    """Whether a fact's value meets a condition; an unanswered fact meets none."""
    if value is None:
        return False
    fact = rubric.fact(c.fact)
    if c.all:
        return fact is not None and {v for v, _ in fact.values} <= set(value)
    if c.one_of:
        return value in c.one_of
    if c.at_least is None and c.at_most is None:
        return value is True
    amount = Decimal(len(value)) if isinstance(value, list) else dec(value)
    return ((c.at_least is None or amount >= c.at_least) and (c.at_most is None or amount <= c.at_most))
