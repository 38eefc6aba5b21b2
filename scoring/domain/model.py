"""The domain's types: rubrics, bundles and reviews' overrides. Frozen, and nothing else; what the engine
makes of them is results.py's.

Loaders (rubric.py, bundle.py) build these, the engine reads them, outputs and reports read only them.
This module imports no loader, engine or renderer. The words that go with flag codes and document
statuses live here too, in one table each, so every output says the same thing. What a city or a
committee records about many results (a summary, a rating) is records.py's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any, Protocol, TypeVar

from scoring.base.numbers import dec, fmt

Path = tuple[str | int, ...]  # a place in a YAML file: keys and list indexes
Line = int | str  # where in a manifest: a YAML file's line, or a workbook's cell such as 指标填报!E12

SELF = "自评"
STAGES = (SELF, "初评", "验收")  # the order a chain is applied in
# What a reviewing stage's outcome is called, by whether its verdict passed.
OUTCOME = {"初评": ("推荐", "不推荐"), "验收": ("通过验收", "不予通过验收")}


_L = TypeVar("_L", int, Line)


def line_at(lines: Mapping[Path, _L], path: Path) -> _L | None:
    """The line (or cell) of a place in a manifest, or of its nearest enclosing place that has one."""
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return lines.get(())


# ---------------------------------------------------------------- words


@dataclass(frozen=True)
class FlagWords:
    short: str  # for a table column
    text: str  # the sentence after the input's label


FLAGS: dict[str, FlagWords] = {
    "missing": FlagWords("缺填报", "未填报"),
    "no_document": FlagWords("缺佐证", "要求提供佐证材料，但未引用任何文件"),
    "file_missing": FlagWords("文件缺失", "所引文件在材料包中不存在"),
    "hash_mismatch": FlagWords("哈希不符", "所引文件的 SHA-256 与清单登记的不一致"),
    "document_date": FlagWords("文件日期不符", "所引文件日期不在细则要求的范围内"),
    "rejected": FlagWords("文件未采信", "所引文件经评审未予采信"),
}
# A bundle's manifest: bundle.yaml, or the fill-in workbook.
MANIFEST, WORKBOOK = "bundle.yaml", "填报表.xlsx"
# The parts of a bundle's narrative, in the report's order: key, heading, what to write.
NARRATIVE = (
    ("overview", "基本情况", "全县老年人口、养老服务设施、创建工作组织情况"),
    ("practices", "主要做法和成效", ""),
    ("highlights", "特色亮点", ""),
    ("problems", "存在问题", ""),
    ("next_steps", "下一步工作打算", ""),
)
DOCUMENT_STATUS = {"ok": "已核验", "file_missing": "文件缺失", "hash_mismatch": "哈希不符",
                   "rejected": "未采信"}


# ---------------------------------------------------------------- rubric


@dataclass(frozen=True)
class Input:
    name: str
    label: str
    prompt: str
    type: str
    unit: str | None = None
    min: Decimal | None = None
    max: Decimal | None = None
    document: bool = False
    values: tuple[tuple[str, str], ...] = ()
    fact: bool = False  # a rubric-level fact, answered once in the bundle and read by several indicators

    def choice_label(self, code: Any) -> str:
        return dict(self.values).get(str(code), str(code))


@dataclass(frozen=True)
class Indicator:
    id: str
    category: str
    title: str
    text: str
    mandatory: bool
    max: Decimal
    criteria: str
    lead: tuple[str, ...]
    units: tuple[str, ...]
    notes: tuple[str, ...]
    inputs: tuple[Input, ...]
    rule: Mapping[str, Any]  # judged steps already resolved against the rubric's default
    line: int | None
    facts: tuple[str, ...] = ()  # the shared facts it reads, as written (declared ones are also in inputs)
    nodes: tuple[Mapping[str, Any], ...] = ()  # every node of its rule, the rule first (rules.walk)
    own: str = ""  # in a tailored rubric: 新增 or 修改 when the city added or changed it, else ""
    step: Decimal | None = None  # what a score set by a reviewer keeps to (None: any amount), from its rule

    def input(self, name: str) -> Input | None:
        return self._by_name.get(name)

    def say(self, name: str, value: Any) -> str:
        """One of its answers as a reader would say it: 是, 85.7%, 一档（1.5分）, 3 项（…）."""
        return say(self.input(name), value)

    @cached_property
    def _by_name(self) -> dict[str, Input]:
        return {i.name: i for i in self.inputs}


@dataclass(frozen=True)
class Category:
    id: str
    title: str
    max: Decimal
    indicators: tuple[Indicator, ...]
    min: Decimal | None = None  # a per-section minimum the verdict requires


@dataclass(frozen=True)
class Natures:
    """What a rubric calls its two kinds of indicator; "" shows no nature at all."""

    mandatory: str = "强制性"
    advisory: str = "倡导性"

    def of(self, mandatory: bool) -> str:
        return self.mandatory if mandatory else self.advisory

    def short(self, mandatory: bool) -> str:
        return self.of(mandatory).removesuffix("性")

    def noun(self, mandatory: bool) -> str:
        """强制性指标, 必备项: the nature as a noun for sentences; "" when the rubric names none."""
        name = self.of(mandatory)
        return name if not name or name.endswith("项") else name + "指标"

    @property
    def must(self) -> str:
        """What sentences about mandatory indicators call them, even in a rubric that names no natures."""
        return self.noun(True) or "必达指标"


@dataclass(frozen=True)
class VerdictRule:
    """How a result is judged: what must hold, and the words for either outcome."""

    mandatory_full: bool = False  # every mandatory indicator at full marks
    min_total: Decimal | None = None
    passed: str = "达到创建标准"
    failed: str = "未达到创建标准"


UNIT_SIGNS = "%‰°℃㎡"  # units written against the number


def say(inp: Input | None, value: Any) -> str:
    """An answer as a reader would say it: 是, 85.7%, 4 类, 一档（1.5分）, 3 项（…）."""
    if value is None:
        return "未填报"
    if value is True:
        return "是"
    if value is False:
        return "否"
    if isinstance(value, str) and inp and inp.type == "bool":
        return value.strip()  # 是/否 as a reviewer wrote it
    if inp and inp.type == "choice":
        return inp.choice_label(value)
    if inp and inp.type == "multi" and isinstance(value, list):
        value = [inp.choice_label(v) for v in value]
    if isinstance(value, list):
        return f"{len(value)} 项（{'；'.join(map(str, value))}）" if value else "0 项"
    unit = inp.unit if inp and inp.unit else ""
    # A unit word is set off by a space (4 类, 860 平方米), as a count is (3 项); a sign is not (85.7%).
    return f"{fmt(dec(value))}{' ' if unit and unit[0] not in UNIT_SIGNS else ''}{unit}"


@dataclass(frozen=True)
class Condition:
    """A condition on a shared fact that earns no points: a band's prerequisite, or a veto."""

    fact: str
    label: str  # what it asks, in the standard's words: 建筑面积不少于1000平方米
    at_least: Decimal | None = None  # a number, or the count of a list or multi-select
    at_most: Decimal | None = None
    one_of: tuple[str, ...] = ()  # choice codes
    all: bool = False  # every option of a multi-select
    line: int | None = None
    requested: bool = False  # binds only the band applied for (every band when none is applied for)


@dataclass(frozen=True)
class Band:
    name: str  # 五星
    min_total: Decimal
    category_min: tuple[tuple[str, Decimal], ...] = ()  # (category id, least share of its points in %)
    prerequisites: tuple[Condition, ...] = ()
    line: int | None = None


@dataclass(frozen=True)
class Bands:
    """Named levels, highest first; the highest whose every requirement holds is reached."""

    levels: tuple[Band, ...]
    veto: tuple[Condition, ...] = ()
    requested: str = ""  # a choice fact naming the band applied for, or ""
    none: str = "未达到任何等级"
    noun: str = "等级"  # what the papers call a band (星级)

    @property
    def facts(self) -> set[str]:
        """The shared facts the bands read: prerequisites, vetoes and the band applied for."""
        conditions = [*self.veto, *(c for band in self.levels for c in band.prerequisites)]
        return {c.fact for c in conditions} | ({self.requested} if self.requested else set())


@dataclass(frozen=True)
class Side:
    """One side of a check across indicators: an indicator's input, and for `implies` what it must be."""

    indicator: str
    input: str
    one_of: tuple[str, ...] = ()  # choice codes
    at_least: Decimal | None = None  # a number, or the count of a list or multi-select
    at_most: Decimal | None = None
    value: bool | None = None  # a yes/no input's value


@dataclass(frozen=True)
class Check:
    """A check between answers of two indicators (equal, implies, at_most, excludes); a failed one is
    refused like a bad answer, naming both."""

    kind: str
    label: str  # what the standard says, in its words
    left: Side
    right: Side
    line: int | None = None
    effect: str = "refuse"  # "zero": the right-hand indicator scores nothing, where the standard says so;
    # "uncount" (excludes): what the left answer counts is not counted again in the right one


@dataclass(frozen=True)
class Rubric:
    id: str
    title: str
    version: str
    source: str
    total: Decimal
    judged_step: Decimal
    verdict: VerdictRule
    natures: Natures
    notes: tuple[str, ...]
    categories: tuple[Category, ...]
    path: str
    sha256: str
    report_title: str = ""  # the report's title after the assessee's name
    facts: tuple[Input, ...] = ()  # asked once, read by every indicator that names them
    bands: Bands | None = None  # star levels instead of a pass/fail verdict
    checks: tuple[Check, ...] = ()  # checks between answers of different indicators
    extends: str = ""  # the rubric it tailors, or ""
    tailoring: tuple[str, ...] = ()  # what it changed of that rubric, in words
    stage_names: tuple[tuple[str, str], ...] = ()  # a reviewing stage and the rubric's name for it (第三方评估)

    def stage_name(self, stage: str) -> str:
        """What review files and papers call a stage: the rubric's name for it, else the stage itself."""
        return dict(self.stage_names).get(stage, stage)

    def fact(self, name: str) -> Input | None:
        return next((f for f in self.facts if f.name == name), None)

    @property
    def indicators(self) -> tuple[Indicator, ...]:
        return tuple(i for c in self.categories for i in c.indicators)

    def indicator(self, ident: str) -> Indicator | None:
        return next((i for i in self.indicators if i.id == ident), None)

    @property
    def has_mandatory(self) -> bool:
        return any(i.mandatory for i in self.indicators)


# ---------------------------------------------------------------- bundle


@dataclass(frozen=True)
class Document:
    id: str
    file: str
    title: str
    number: str
    issuer: str
    date: str
    sha256: str  # as declared in the manifest
    status: str  # ok | file_missing | hash_mismatch (a key of DOCUMENT_STATUS)


@dataclass(frozen=True)
class Answer:
    value: Any
    documents: tuple[str, ...]
    reason: str
    note: str
    line: Line | None


@dataclass(frozen=True)
class SignOff:
    """Who files the report; "" for anything the bundle leaves out."""

    unit: str = ""
    head: str = ""
    preparer: str = ""
    phone: str = ""
    date: str = ""  # ISO, or ""


class Files(Protocol):
    """A bundle's own files by relative path, through the loader's checks; None when absent."""

    def read(self, rel: str) -> bytes | None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Bundle:
    name: str
    rubric: str
    assessee: Mapping[str, str]
    period: Mapping[str, str]
    documents: Mapping[str, Document]
    answers: Mapping[str, Mapping[str, Answer]]  # indicator id -> input name -> answer
    narrative: Mapping[str, str]  # section key -> text (files already read)
    statements: Mapping[str, str]  # indicator id -> 工作说明
    signoff: SignOff
    sha256: str
    lines: Mapping[Path, Line] = field(compare=False, repr=False)
    files: Files = field(compare=False, repr=False)
    facts: Mapping[str, Answer] = field(default_factory=dict)  # shared fact name -> its one answer

    def line(self, path: Path) -> Line | None:
        return line_at(self.lines, path)


# ---------------------------------------------------------------- reviews


@dataclass(frozen=True)
class Override:
    """One change a reviewing stage makes to one indicator, always with its reason and author.

    action "input": `target` names an input and `value` is the corrected answer (the rule re-runs);
    "score": `value` is the score set for the indicator; "reject": `target` is a cited document's id
    that the stage does not accept, so the claims citing it are unsupported."""

    indicator: str
    action: str
    target: str
    value: Any
    reason: str
    author: str
    stage: str = ""
    file: str = ""
    line: int | None = None
    at: str = ""  # when it was made (ISO 8601, to the second), as the desk records it; "" when not recorded


@dataclass(frozen=True)
class Completion:
    """A reviewing stage marked finished (初评完成): by whom and when. Scoring ignores it; a finished
    stage is not edited again until it is reopened."""

    reviewer: str
    unit: str
    at: str  # ISO 8601, to the second


@dataclass(frozen=True)
class Stage:
    name: str  # one of STAGES
    author: str = ""
    unit: str = ""
    date: str = ""
    overrides: tuple[Override, ...] = ()
    pending: tuple[Override, ...] = ()  # 待复核: carried to a changed bundle, not applied until re-checked
    completed: Completion | None = None  # marked finished (初评完成), None while the review goes on
