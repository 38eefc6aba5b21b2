"""The result types: what the engine makes of a rubric, a bundle and its reviewing stages, per indicator
and per stage, with every step of the explanation. Built by the engine only; papers and faces read them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from scoring.base.numbers import ZERO, fmt
from scoring.domain.model import (
    Answer,
    Bundle,
    Indicator,
    Input,
    Override,
    Rubric,
    Stage,
)

# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class Read:
    """An input a trace step read: its value at that stage and the documents the answer cites."""

    input: str
    value: Any
    documents: tuple[str, ...] = ()


@dataclass(frozen=True)
class Step:
    """One line of an indicator's trace: what a rule read, what it gave, and why, in Chinese."""

    kind: str
    text: str
    points: Decimal
    lost: Decimal = ZERO  # points this step could still have given
    hint: str = ""  # what would earn the lost points
    reads: tuple[Read, ...] = ()


@dataclass(frozen=True)
class Flag:
    code: str  # a key of FLAGS
    input: str
    message: str


@dataclass(frozen=True)
class IndicatorScore:
    """One stage's score of one indicator."""

    stage: str
    points: Decimal
    supported: Decimal  # what the evidence supports
    missing: tuple[str, ...]
    flags: tuple[Flag, ...]
    trace: tuple[Step, ...]
    overrides: tuple[Override, ...] = ()  # the changes this stage made
    values: Mapping[str, Any] = field(default_factory=dict)  # each answered input's value in force at this
    # stage (the county's, as corrected by this and earlier stages, shared facts included): what it was scored from


@dataclass(frozen=True)
class IndicatorResult:
    indicator: Indicator
    answers: tuple[tuple[Input, Answer | None], ...]
    scores: tuple[IndicatorScore, ...]  # the self-score first, then each reviewing stage

    @property
    def id(self) -> str:
        return self.indicator.id

    @property
    def own(self) -> IndicatorScore:
        return self.scores[0]

    @property
    def final(self) -> IndicatorScore:
        return self.scores[-1]

    # The self-score, which every county-facing output shows.
    @property
    def score(self) -> Decimal:
        return self.own.points

    @property
    def supported_score(self) -> Decimal:
        return self.own.supported

    @property
    def lost(self) -> Decimal:
        return self.indicator.max - self.own.points

    @property
    def flags(self) -> tuple[Flag, ...]:
        return self.own.flags

    @property
    def trace(self) -> tuple[Step, ...]:
        return self.own.trace

    @property
    def missing(self) -> tuple[str, ...]:
        return self.own.missing

    def cited(self) -> tuple[str, ...]:
        """Document ids the answers cite, first citation first, each once."""
        return tuple(dict.fromkeys(d for _, ans in self.answers if ans is not None for d in ans.documents))


@dataclass(frozen=True)
class CategoryScore:
    id: str
    title: str
    score: Decimal
    max: Decimal
    min: Decimal | None = None


@dataclass(frozen=True)
class Mandatory:
    met: int
    total: int
    failures: tuple[str, ...]  # below full marks
    unsupported: tuple[str, ...]  # full by the score, short by the evidence
    judged: str = ""  # the reviewing stage whose accepted evidence decides (unsupported not met); "" for 自评


@dataclass(frozen=True)
class BandHeld:
    """One band not reached and everything that held the result from it."""

    band: str
    held: tuple[str, ...]


@dataclass(frozen=True)
class Verdict:
    passed: bool
    reasons: tuple[str, ...]
    text: str
    band: str | None = None  # the band reached (a rubric with bands), None for none
    next: str | None = None  # the band above it (or the lowest band, when none is reached)
    held: tuple[str, ...] = ()  # what kept the result from `next` (or from the band applied for)
    requested: str = ""  # the band applied for, when the rubric asks
    # Every band above the one reached, nearest first, up to the band applied for (when higher) or the top,
    # each with what held it; and the band the total alone would have given (None below every line).
    above: tuple[BandHeld, ...] = ()
    by_total: str | None = None

    @property
    def further(self) -> tuple[BandHeld, ...]:
        """The bands explained beyond `next` (whose reasons are `held`)."""
        return tuple(b for b in self.above if b.band != self.next)

    @property
    def total_alone(self) -> str | None:
        """The band the total alone would have given, when it is above the band reached."""
        return self.by_total if self.by_total != self.band else None

    def by_total_text(self, total: Decimal) -> str:
        """The band the total alone would have given, in words, when it is above the band reached; else ""."""
        if not self.total_alone:
            return ""
        return f"仅按总分 {fmt(total)} 分可评{self.total_alone}"


@dataclass(frozen=True)
class Totals:
    total: Decimal
    supported_total: Decimal
    categories: tuple[CategoryScore, ...]
    mandatory: Mandatory


@dataclass(frozen=True)
class StageResult:
    """Totals, mandatory compliance and the verdict at one stage."""

    stage: str
    totals: Totals
    verdict: Verdict
    facts: Mapping[str, Any] = field(default_factory=dict)  # shared facts' values at this stage

    @property
    def total(self) -> Decimal:
        return self.totals.total

    @property
    def supported_total(self) -> Decimal:
        return self.totals.supported_total

    @property
    def categories(self) -> tuple[CategoryScore, ...]:
        return self.totals.categories

    @property
    def mandatory(self) -> Mandatory:
        return self.totals.mandatory


@dataclass(frozen=True)
class Result:
    rubric: Rubric
    bundle: Bundle
    indicators: tuple[IndicatorResult, ...]
    stages: tuple[StageResult, ...]  # the self-assessment first; the last one decides
    chain: tuple[Stage, ...] = ()  # the reviewing stages applied, in order

    @property
    def own(self) -> StageResult:
        return self.stages[0]

    @property
    def final(self) -> StageResult:
        return self.stages[-1]

    @property
    def total(self) -> Decimal:
        return self.own.total

    def in_category(self, category: str) -> tuple[IndicatorResult, ...]:
        return tuple(i for i in self.indicators if i.indicator.category == category)

    @property
    def missing(self) -> tuple[tuple[str, str], ...]:
        return tuple((i.id, name) for i in self.indicators for name in i.missing)
