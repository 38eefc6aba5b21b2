"""What a chain of reviews changed: stage by stage, every indicator an entry touched (before → after, each
entry worded with its reason and reviewer), totals and mandatory compliance before and after, the entries
waiting to be re-checked, and the self-assessment's unsupported claims no stage addressed.

This is the 初评意见表's content as data; formats.py writes it as JSON and CSV, report/papers.py as a PDF.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scoring.base import limits
from scoring.base.numbers import dec, fmt
from scoring.base.text import clip
from scoring.domain.model import OUTCOME, Override, Stage
from scoring.domain.results import IndicatorResult, IndicatorScore, Result, StageResult


@dataclass(frozen=True)
class Entry:
    """One review entry in words: 定分 2 分; 更正“…”：1 → 2; 不采信 D12《…》."""

    override: Override
    text: str
    printed: str = ""  # as a paper prints it (a rejected document's title within TITLE_PRINTED); "" for text

    @property
    def shown(self) -> str:
        return self.printed or self.text


@dataclass(frozen=True)
class Change:
    indicator: IndicatorResult
    before: IndicatorScore
    after: IndicatorScore
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class StageChanges:
    stage: Stage
    before: StageResult
    after: StageResult
    changes: tuple[Change, ...]
    pending: tuple[Entry, ...]  # 待复核: not applied

    @property
    def outcome(self) -> str:
        passed, failed = OUTCOME.get(self.stage.name, ("通过", "不通过"))
        return passed if self.after.verdict.passed else failed


@dataclass(frozen=True)
class Changes:
    result: Result
    stages: tuple[StageChanges, ...]
    unaddressed: tuple[IndicatorResult, ...]  # self-score above its support, and no stage touched it


def changes(result: Result) -> Changes:
    out = []
    for k, stage in enumerate(result.chain, start=1):
        # An entry's "before" is what the stage before it scored from, as the engine says.
        before = {i.id: i.scores[k - 1].values for i in result.indicators}
        touched = [i for i in result.indicators if i.scores[k].overrides]
        made = tuple(Change(i, i.scores[k - 1], i.scores[k],
                            tuple(_entry(result, o, before) for o in i.scores[k].overrides)) for i in touched)
        pending = tuple(_entry(result, o, before) for o in stage.pending)
        out.append(StageChanges(stage, result.stages[k - 1], result.stages[k], made, pending))
    addressed = {o.indicator for s in result.chain for o in (*s.overrides, *s.pending)}
    unaddressed = tuple(i for i in result.indicators if i.own.supported < i.own.points and i.id not in addressed)
    return Changes(result, tuple(out), unaddressed)


def _entry(result: Result, o: Override, before: Mapping[str, Mapping[str, Any]]) -> Entry:
    ind = result.rubric.indicator(o.indicator)
    assert ind is not None, "review entries are checked against the rubric when read"
    if o.action == "score":
        return Entry(o, f"定分 {fmt(dec(o.value))} 分")
    if o.action == "input":
        inp, was = ind.input(o.target), before[o.indicator].get(o.target)
        return Entry(o, f"更正“{inp.label if inp else o.target}”：{ind.say(o.target, was)} → "
                        f"{ind.say(o.target, o.value)}，按细则重新计分")
    title = result.bundle.documents[o.target].title if o.target in result.bundle.documents else ""
    worded = "不采信 {}《{}》，引用它的填报不计入有据得分"
    return Entry(o, worded.format(o.target, title), worded.format(o.target, clip(title, limits.TITLE_PRINTED)))


def unmet_why(result: Result, k: int) -> tuple[str, ...]:
    """Why stage k does not count a mandatory indicator at full marks as met: what its evidence lacks there."""
    m = result.stages[k].mandatory
    if not m.judged:
        return ()
    by_id = {i.id: i for i in result.indicators}
    out = []
    for ident in m.unsupported:
        i = by_id[ident]
        sc = i.scores[k]
        lacks = "；".join(f.message for f in sc.flags) or "有据得分低于满分"
        out.append(f"{ident} {i.indicator.title}：{m.judged}得分 {fmt(sc.points)} 分，其中有据 {fmt(sc.supported)} 分"
                   f"（{lacks}）")
    return tuple(out)
