"""The desk's first page: the served folder's counties, one row each, as plain strings for
reports/templates/desk/counties.html. A row says where the county stands at a glance: its figures, the
结论 of the last stage filed (named, its mandatory indicators beside it, so a county failing them stands
out) and the stage's progress in words (初评进行中…, 初评完成…)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from scoring.base.errors import ScoringError
from scoring.base.numbers import fmt
from scoring.domain.model import Stage
from scoring.domain.results import Result
from scoring.faces.desk.folder import REVIEWING, Folder
from scoring.papers.report.context import Standing, standings
from scoring.pipeline.folder import Filed


@dataclass(frozen=True)
class CountyRow:
    name: str  # the bundle's entry in the folder
    url: str
    assessee: str
    total: str
    supported: str
    mandatory: str  # the self-assessment's 16/16, or ""
    reviewed: str  # the last stage's total, "" before any review
    flags: int  # flags still standing after every stage filed, but a reviewer's own 不采信 (decided, not open)
    stage: str  # the last stage filed: 初评（淄博市民政局 李明）, or 未评审
    progress: str  # 初评进行中：已调整 5 项，有标记未处理 2 项, or 初评完成（李明，2022-12-05 10:41）
    error: str
    verdict: Standing | None = None  # the last stage's (the self-assessment's before any review)
    earlier: tuple[Standing, ...] = ()  # the stages before it
    done: bool = False  # the last stage is marked finished

    @property
    def failing(self) -> bool:
        return self.verdict is not None and not self.verdict.passed

    @property
    def why(self) -> str:
        """Why the last stage's verdict fails (which mandatory indicators), "" when it passes."""
        return self.verdict.verdict.partition("：")[2] if self.failing and self.verdict else ""

    @property
    def mandatory_short(self) -> bool:
        """The last stage counts fewer mandatory indicators met than there are."""
        met, _, total = self.verdict.mandatory.partition("/") if self.verdict else ("", "", "")
        return met != total


@dataclass(frozen=True)
class CountiesPage:
    """The served folder's counties, as `page` in desk/counties.html."""

    title: str
    folder: str
    rows: tuple[CountyRow, ...]
    problems: tuple[str, ...]  # review files that cannot be read
    stages: tuple[str, ...]  # the stages a county page can open at


def counties_page(folder: Folder) -> CountiesPage:
    filed, problems = folder.reviews()
    rows = tuple(_row(folder, name, filed) for name in folder.names())
    return CountiesPage("评审工作台：各县材料包", folder.root.name, rows, tuple(map(folder.local, problems)), REVIEWING)


def county_url(name: str, stage: str = "") -> str:
    return f"/county/{quote(name)}" + (f"?stage={quote(stage)}" if stage else "")


def _row(folder: Folder, name: str, filed: list[Filed]) -> CountyRow:
    url = county_url(name)
    try:
        result = folder.scored(name, filed)
    except ScoringError as exc:
        return CountyRow(name, url, "", "", "", "", "", 0, "", "", folder.local(str(exc)))
    own, final = result.own, result.final
    last = result.chain[-1] if result.chain else None
    who = " ".join(x for x in (last.unit, last.author) if x) if last else ""
    stage = f"{last.name}（{who}）" if last and who else last.name if last else "未评审"
    m = own.mandatory
    said = standings(result)
    return CountyRow(name, county_url(name, last.name if last else ""), result.bundle.assessee.get("name", ""),
                     fmt(own.total), fmt(own.supported_total), f"{m.met}/{m.total}" if m.total else "",
                     fmt(final.total) if last else "",
                     sum(1 for i in result.indicators for f in i.final.flags if f.code != "rejected"), stage,
                     progress(result, last), "", said[-1], tuple(said[:-1]), bool(last and last.completed))


def progress(result: Result, last: Stage | None) -> str:
    """Where the last stage filed stands, in words: finished (by whom, when), or what it has adjusted and
    what is still open (flagged indicators it made no entry on, entries waiting to be re-checked)."""
    if last is not None and last.completed is not None:
        done = last.completed
        return f"{last.name}完成（{done.reviewer}，{done.at.replace('T', ' ')[:16]}）"
    touched = {o.indicator for o in (*last.overrides, *last.pending)} if last else set()
    flagged = sum(1 for i in result.indicators if i.id not in touched and i.scores[-1].flags)
    if last is None:
        return f"未开始{REVIEWING[0]}" + (f"：有标记 {flagged} 项待审" if flagged else "")
    words = [f"已调整 {len({o.indicator for o in last.overrides})} 项"]
    if flagged:
        words.append(f"有标记未处理 {flagged} 项")
    if last.pending:
        words.append(f"待复核 {len(last.pending)} 条")
    return f"{last.name}进行中：" + "，".join(words)
