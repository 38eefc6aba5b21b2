"""Loading and checking rubrics (评分细则)."""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from scoring.base import limits
from scoring.base.errors import ScoringError, ScoringErrors
from scoring.base.numbers import ZERO, dec, fmt
from scoring.base.resources import rubrics_dir
from scoring.domain import crosscheck, rules
from scoring.domain.model import (
    Band,
    Bands,
    Category,
    Check,
    Condition,
    Indicator,
    Input,
    Natures,
    Rubric,
    Side,
    VerdictRule,
)
from scoring.loading import readers, tailoring, validate
from scoring.loading.yamlio import YamlDoc, load_yaml

RUBRICS_DIR = rubrics_dir()


def resolve(name_or_path: str) -> Path:
    """A rubric file named by the user: a path as given, or the id of a shipped rubric."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return path
    return shipped(name_or_path)


def shipped(rubric_id: str) -> Path:
    """The shipped rubric a bundle names; a bundle's id never reaches the file system otherwise."""
    if rubric_id.isidentifier():
        candidate = RUBRICS_DIR / f"{rubric_id}.yaml"
        if candidate.is_file():
            return candidate
    raise ScoringError(f"找不到评分细则 “{rubric_id[:60]}”", hint="请用 --rubric 指定评分细则文件")


def _raw(path: Path) -> bytes:
    return readers.read_regular(path, limits.MANIFEST_BYTES, "评分细则文件", "请检查文件路径是否正确、文件是否可读",
                                "无法读取评分细则文件")


def read(path: Path, depth: int = 0, raw: bytes | None = None) -> tuple[bytes, YamlDoc, tailoring.Tailored | None]:
    """A rubric file checked against the schema; one that `extends:` another, merged over it (which is
    loaded and checked on its own first)."""
    raw = _raw(path) if raw is None else raw
    doc, tailored = load_yaml(raw, str(path)), None
    if isinstance(doc.data, dict) and "extends" in doc.data:
        if depth >= 5:
            raise ScoringError("评分细则的继承（extends）超过 5 层，或互相继承", str(path), doc.line(("extends",)))
        base = tailoring.base_of(doc, shipped)
        base_raw, base_doc, _ = read(base, depth + 1)
        load(base)  # the base passes its own checks first
        tailored = tailoring.merge(doc, base_doc)
        doc, raw = tailored.doc, hashlib.sha256(base_raw).hexdigest().encode() + raw
    validate.check(doc, "rubric", "评分细则")
    return raw, doc, tailored


def check(path: Path) -> tuple[Rubric, list[ScoringError], list[ScoringError]]:
    """A rubric that passed its schema, with the lint's errors and warnings.

    The file is read every time; a clean rubric whose bytes this process has checked before under the same
    name is not parsed and checked again (the rubric is immutable, so it is shared). A rubric that extends
    another depends on a second file, so it is always checked in full."""
    raw = _raw(path)
    key = (str(path), hashlib.sha256(raw).hexdigest())
    if (known := _CHECKED.get(key)) is not None:
        return known[0], [], list(known[1])
    merged, doc, tailored = read(path, raw=raw)
    rubric = build(doc, key[1] if tailored is None else hashlib.sha256(merged).hexdigest())
    if tailored is not None:
        rubric = _tailored(rubric, tailored)
    errors, warnings = lint(rubric, doc)
    if not errors and tailored is None:
        with _LOCK:  # the desk loads from several threads
            if len(_CHECKED) >= _KEEP:
                _CHECKED.pop(next(iter(_CHECKED)))
            _CHECKED[key] = (rubric, tuple(warnings))
    return rubric, errors, warnings


_KEEP = 16  # clean rubrics remembered by content: a process meets one or two
_CHECKED: dict[tuple[str, str], tuple[Rubric, tuple[ScoringError, ...]]] = {}
_LOCK = threading.Lock()


def _tailored(rubric: Rubric, t: tailoring.Tailored) -> Rubric:
    """The merged rubric saying what it extends, what it changed, and which indicators are the city's own."""
    cats = tuple(replace(c, indicators=tuple(replace(i, own=t.own.get(i.id, "")) for i in c.indicators))
                 for c in rubric.categories)
    return replace(rubric, categories=cats, extends=t.base, tailoring=t.notes)


def load(path: Path) -> Rubric:
    """Load a rubric, refusing it when the schema or the lint finds an error."""
    rubric, errors, _ = check(path)
    if errors:
        raise ScoringErrors(errors)
    return rubric


def build(doc: YamlDoc, sha256: str) -> Rubric:
    data = validate.clean(doc.data, doc)  # every string: control characters refused, shown safely
    step = dec(data.get("judged_step", Decimal("0.5")))
    facts = tuple(_input(f, fact=True) for f in data.get("facts", ()))
    cats = []
    for ci, c in enumerate(data["categories"]):
        inds = tuple(_indicator(ind, c["id"], doc.line(("categories", ci, "indicators", ii)), step, facts)
                     for ii, ind in enumerate(c["indicators"]))
        cats.append(Category(c["id"], c["title"], dec(c["max"]), inds,
                             None if c.get("min") is None else dec(c["min"])))
    verdict, defaults = data["verdict"], VerdictRule()
    min_total = verdict.get("min_total")
    return Rubric(
        id=data["id"], title=data["title"], version=data["version"], source=data.get("source", ""),
        total=dec(data["total"]), judged_step=step,
        verdict=VerdictRule(verdict.get("mandatory_full", False), None if min_total is None else dec(min_total),
                            verdict.get("passed", defaults.passed), verdict.get("failed", defaults.failed)),
        natures=Natures(**(data.get("natures") or {})),
        notes=tuple(data.get("notes", ())), categories=tuple(cats), path=doc.name, sha256=sha256,
        report_title=data.get("report_title", ""), facts=facts, bands=_bands(data, doc),
        checks=tuple(_check(c, doc.line(("checks", k))) for k, c in enumerate(data.get("checks", ()))),
        stage_names=tuple((data.get("stages") or {}).items()))


def _check(c: Mapping[str, Any], line: int | None) -> Check:
    def side(s: Mapping[str, Any]) -> Side:
        def num(key: str) -> Decimal | None:
            return None if s.get(key) is None else dec(s[key])
        return Side(s["indicator"], s["input"], tuple(s.get("one_of", ())), num("at_least"), num("at_most"),
                    s.get("value"))
    return Check(c["kind"], c["label"], side(c["left"]), side(c["right"]), line, c.get("effect", "refuse"))


def _bands(data: Mapping[str, Any], doc: YamlDoc) -> Bands | None:
    given = data.get("bands")
    if given is None:
        return None
    ids = [c["id"] for c in data["categories"]]

    def condition(c: Mapping[str, Any], path: tuple[str | int, ...]) -> Condition:
        def num(key: str) -> Decimal | None:
            return None if c.get(key) is None else dec(c[key])
        return Condition(c["fact"], c["label"], num("at_least"), num("at_most"), tuple(c.get("one_of", ())),
                         c.get("all", False), doc.line(path), c.get("requested", False))

    def band(k: int, b: Mapping[str, Any]) -> Band:
        share = b.get("category_min")
        shares = {cid: share for cid in ids} if isinstance(share, int | Decimal) else dict(share or {})
        return Band(b["name"], dec(b["min_total"]), tuple((cid, dec(v)) for cid, v in shares.items()),
                    tuple(condition(c, ("bands", "levels", k, "prerequisites", j))
                          for j, c in enumerate(b.get("prerequisites", ()))),
                    doc.line(("bands", "levels", k)))

    return Bands(tuple(band(k, b) for k, b in enumerate(given["levels"])),
                 tuple(condition(c, ("bands", "veto", j)) for j, c in enumerate(given.get("veto", ()))),
                 given.get("requested", ""), given.get("none", Bands(()).none), given.get("noun", Bands(()).noun))


def _input(i: Mapping[str, Any], fact: bool = False) -> Input:
    def num(v: Any) -> Decimal | None:
        return None if v is None else dec(v)

    return Input(name=i["name"], label=i["label"], prompt=i["prompt"], type=i["type"], unit=i.get("unit"),
                 min=num(i.get("min")), max=num(i.get("max")), document=i.get("document", False),
                 values=tuple((v["value"], v["label"]) for v in i.get("values", ())), fact=fact)


def _indicator(d: Mapping[str, Any], category: str, line: int | None, step: Decimal,
               facts: tuple[Input, ...]) -> Indicator:
    declared = {f.name: f for f in facts}
    named = tuple(i["fact"] for i in d["inputs"] if "fact" in i)
    # An undeclared fact is left out here and reported by the lint.
    inputs = tuple(declared[i["fact"]] if "fact" in i else _input(i) for i in d["inputs"]
                   if "fact" not in i or i["fact"] in declared)
    rule = with_step(d["rule"], step)
    made = Indicator(
        id=d["id"], category=category, title=d["title"], text=d["text"], mandatory=d["mandatory"],
        max=dec(d["max"]), criteria=d.get("criteria", ""), lead=tuple(d.get("lead", ())),
        units=tuple(d.get("units", ())), notes=tuple(d.get("notes", ())), inputs=inputs,
        rule=rule, line=line, facts=named, nodes=tuple(rules.walk(rule)))
    return replace(made, step=rules.step_of(made))


def with_step(rule: rules.Rule, step: Decimal) -> rules.Rule:
    """The rule with every judged node's step made explicit (the rubric's default where it gives none)."""
    out = dict(rule)
    if rule["kind"] == "judged":
        out["step"] = dec(rule.get("step", step))
    if "parts" in rule:
        out["parts"] = [with_step(p, step) for p in rule["parts"]]
    if "rule" in rule:
        out["rule"] = with_step(rule["rule"], step)
    if isinstance(rule.get("points"), Mapping):
        out["points"] = {k: with_step(v, step) if isinstance(v, Mapping) else v for k, v in rule["points"].items()}
    return out


def _lint_sums(rubric: Rubric, doc: YamlDoc) -> Iterator[tuple[str, int | None, str | None]]:
    """Points that do not add up, and category ids given twice."""
    cat_sum = sum((c.max for c in rubric.categories), ZERO)
    if cat_sum != rubric.total:
        yield (f"各一级指标分值合计 {fmt(cat_sum)} 分，与声明的总分 {fmt(rubric.total)} 分不符",
               doc.line(("total",)), None)
    seen: set[str] = set()
    for ci, cat in enumerate(rubric.categories):
        where = f"一级指标 {cat.id}"
        if cat.id in seen:
            yield f"一级指标编号 “{cat.id}” 重复", doc.line(("categories", ci, "id")), where
        seen.add(cat.id)
        ind_sum = sum((i.max for i in cat.indicators), ZERO)
        if ind_sum != cat.max:
            yield (f"二级指标分值合计 {fmt(ind_sum)} 分，与一级指标分值 {fmt(cat.max)} 分不符",
                   doc.line(("categories", ci, "max")), where)


def lint(rubric: Rubric, doc: YamlDoc) -> tuple[list[ScoringError], list[ScoringError]]:
    """Errors and warnings a rubric author must see before anyone scores with it."""
    errors: list[ScoringError] = []
    warnings: list[ScoringError] = []

    def err(msg: str, line: int | None, where: str | None = None, warn: bool = False) -> None:
        (warnings if warn else errors).append(ScoringError(msg, rubric.path, line, where))

    for problem, line, where in _lint_sums(rubric, doc):
        err(problem, line, where)
    ids: set[str] = set()
    facts = {f.name for f in rubric.facts}
    placed = [(ind, ("categories", ci, "indicators", ii)) for ci, cat in enumerate(rubric.categories)
              for ii, ind in enumerate(cat.indicators)]
    for ind, at in placed:
        where = f"指标 {ind.id}"
        if ind.id in ids:
            err(f"指标编号 “{ind.id}” 重复", ind.line, where)
        ids.add(ind.id)
        for problem, warn in (*_lint_facts_read(ind, facts), *_lint_indicator(ind)):
            err(problem, ind.line, where, warn)
        for (problem, warn), rel in _lint_rule(ind):  # at the rule's own line
            err(problem, doc.line((*at, *rel)) or ind.line, where, warn)
    for problem, index in _lint_facts(rubric):
        err(problem, doc.line(("facts", index)), f"共用事实 {rubric.facts[index].name}")
    for problem, line in _lint_bands(rubric, doc):
        err(problem, line, "星级（bands）")
    for k, c in enumerate(rubric.checks):
        for problem in crosscheck.lint(rubric, c):
            err(problem, c.line, f"检查 checks[{k}]")
    for problem, line in _idle_lines(rubric):
        err(problem, line, "星级（bands）", warn=True)
    return errors, warnings


def _lint_bands(rubric: Rubric, doc: YamlDoc) -> Iterator[tuple[str, int | None]]:
    """Bands ordered and reachable, minimums within maxima, conditions on real facts that fit them."""
    bands = rubric.bands
    if bands is None:
        return
    cats = {c.id: c for c in rubric.categories}
    for k, b in enumerate(bands.levels):
        if b.name in [x.name for x in bands.levels[:k]]:
            yield f"星级 “{b.name}” 重复", b.line
        if k and b.min_total >= bands.levels[k - 1].min_total:
            yield (f"星级应从高到低排列，最低总分依次降低：“{b.name}” {fmt(b.min_total)} 分不低于上一级 "
                   f"“{bands.levels[k - 1].name}” {fmt(bands.levels[k - 1].min_total)} 分"), b.line
        if b.min_total > rubric.total:
            yield f"“{b.name}” 要求总分 {fmt(b.min_total)} 分，超过满分 {fmt(rubric.total)} 分，无法达到", b.line
        for cid, _ in b.category_min:
            if cid not in cats:
                yield f"“{b.name}” 的一级指标最低得分率引用了不存在的一级指标 “{cid}”", b.line
        for c in b.prerequisites:
            yield from ((p, c.line) for p in _lint_condition(rubric, c))
    for c in bands.veto:
        yield from ((p, c.line) for p in _lint_condition(rubric, c))
        if c.requested:
            yield f"否决条件 “{c.label}” 不能写 requested：它对每个星级都成立；requested 只用于各星级的 prerequisites", c.line
    for c in (c for b in bands.levels for c in b.prerequisites if c.requested and not bands.requested):
        yield (f"条件 “{c.label}” 写了 requested: true（只就所申请的星级评定），但 bands 未声明 requested；"
               f"请在 bands 下写 requested: 申请星级的共用事实"), c.line
    if bands.requested:
        fact = rubric.fact(bands.requested)
        names = {b.name for b in bands.levels}
        if fact is None or fact.type != "choice" or not {label for _, label in fact.values} <= names:
            yield (f"申请星级 requested 应为一个单选（choice）共用事实，其选项的 label 为星级名称（{'、'.join(sorted(names))}）",
                   doc.line(("bands", "requested")))


def _idle_lines(rubric: Rubric) -> Iterator[tuple[str, int | None]]:
    """A band's total line that can never bind: the category minimums a result must reach for that band
    (its shares, and the verdict's own minimums) already add up to at least the line."""
    if rubric.bands is None:
        return
    for b in rubric.bands.levels:
        shares = dict(b.category_min)
        floors = [max(c.max * shares.get(c.id, ZERO) / 100, c.min or ZERO) for c in rubric.categories]
        floor = sum(floors, ZERO)
        if b.category_min and floor >= b.min_total:
            yield (f"“{b.name}” 的总分线 {fmt(b.min_total)} 分不起作用：各一级指标达到最低得分率时合计已有 "
                   f"{fmt(floor)} 分；请核对标准原文的总分线或得分率"), b.line


def _lint_condition(rubric: Rubric, c: Condition) -> Iterator[str]:
    fact = rubric.fact(c.fact)
    if fact is None:
        yield f"条件 “{c.label}” 引用了未声明的共用事实 “{c.fact}”"
        return
    counted = fact.type in ("number", "integer", "list", "multi")
    compares = c.at_least is not None or c.at_most is not None
    if compares and not counted:
        yield f"条件 “{c.label}”：at_least/at_most 只能用于数值、列表或多选事实，“{c.fact}” 是 {fact.type}"
    if c.one_of and (fact.type != "choice" or not set(c.one_of) <= {v for v, _ in fact.values}):
        yield f"条件 “{c.label}”：one_of 应列出单选事实 “{c.fact}” 的选项代码"
    if c.all and (compares or c.one_of):
        yield f"条件 “{c.label}”：all 表示全部选项，不能再写 at_least、at_most 或 one_of；要求至少几项请只用 at_least"
    if c.all and fact.type != "multi":
        yield f"条件 “{c.label}”：all 只能用于多选事实，“{c.fact}” 是 {fact.type}"
    if fact.type == "bool" and (compares or c.one_of or c.all):
        yield f"条件 “{c.label}”：是否类事实 “{c.fact}” 只需写 fact 和 label（为“是”时成立）"
    if fact.type != "bool" and not (compares or c.one_of or c.all):
        yield f"条件 “{c.label}”：事实 “{c.fact}” 不是是否类，请用 at_least、at_most、one_of 或 all 写明条件"


def _idle_keys(inp: Input) -> Iterator[str]:
    """Keys an input type does not use: a range only bounds numbers and scores, a unit only what is counted
    or measured."""
    if (inp.min is not None or inp.max is not None) and inp.type not in ("number", "integer", "score"):
        yield (f"输入 “{inp.name}” 是 {inp.type} 类型，min 和 max 只用于 number、integer、score；"
               f"{'计数请用 threshold 的 target 或 per_item 的 cap' if inp.type in ('multi', 'list') else '请删去'}")
    if inp.unit is not None and inp.type in ("bool", "choice"):
        yield f"输入 “{inp.name}” 是 {inp.type} 类型，unit 只用于数值、分数、多选和列表；请删去"


def _lint_facts(rubric: Rubric) -> Iterator[tuple[str, int]]:
    """Shared facts declared twice or read by no indicator and no band, and keys their type does not use."""
    names = [f.name for f in rubric.facts]
    read = {name for ind in rubric.indicators for name in ind.facts} | (rubric.bands.facts if rubric.bands else set())
    for index, name in enumerate(names):
        yield from ((p, index) for p in _idle_keys(rubric.facts[index]))
        if name in names[:index]:
            yield f"共用事实 “{name}” 重复声明", index
        elif name not in read:
            yield f"共用事实 “{name}” 没有任何指标使用", index


def _lint_facts_read(ind: Indicator, facts: set[str]) -> Iterator[tuple[str, bool]]:
    """An indicator naming an undeclared fact, or an input of its own named like a fact."""
    for name in ind.facts:
        if name not in facts:
            yield f"引用了未声明的共用事实 “{name}”", False
    for inp in ind.inputs:
        if not inp.fact and inp.name in facts:
            yield f"输入 “{inp.name}” 与共用事实同名", False


def _lint_indicator(ind: Indicator) -> Iterator[tuple[str, bool]]:
    names = [i.name for i in ind.inputs]
    for name in sorted(n for n, k in Counter(names).items() if k > 1):
        yield f"输入 “{name}” 重复声明", False
    for inp in ind.inputs:
        if inp.min is not None and inp.max is not None and inp.min > inp.max:
            yield f"输入 “{inp.name}” 的下限大于上限", False
        if not inp.fact:
            yield from ((p, False) for p in _idle_keys(inp))
    reach = rules.reach(ind.rule)
    if reach < ind.max:
        yield f"规则最高只能得 {fmt(reach)} 分，低于指标分值 {fmt(ind.max)} 分", False
    elif reach > ind.max:
        yield f"规则最高可得 {fmt(reach)} 分，超过指标分值 {fmt(ind.max)} 分，超出部分将被截去", True


def _lint_rule(ind: Indicator) -> Iterator[tuple[tuple[str, bool], tuple[str | int, ...]]]:
    """Each rule node's problems, with the node's path within the indicator."""
    for node, rel in _placed(ind.rule, ("rule",)):
        yield from (((p, False), rel) for p in rules.check_node(node, ind))
        yield from (((p, True), rel) for p in _short_branches(node, ind))


def _placed(rule: rules.Rule, path: tuple[str | int, ...]) -> Iterator[tuple[rules.Rule, tuple[str | int, ...]]]:
    """A rule's nodes with their paths in the file, in rules.walk's order."""
    yield rule, path
    for k, part in enumerate(rule.get("parts", ())):
        yield from _placed(part, (*path, "parts", k))
    if "rule" in rule:
        yield from _placed(rule["rule"], (*path, "rule"))
    if isinstance(rule.get("points"), Mapping):
        for code, branch in rule["points"].items():
            if isinstance(branch, Mapping):
                yield from _placed(branch, (*path, "points", code))


def _short_branches(node: rules.Rule, ind: Indicator) -> Iterator[str]:
    """A choice's own-rule branch whose best is below what the choice gives at best: the standard's
    clause for that value usually meant it to reach full marks (a base or a cap written wrong)."""
    if node["kind"] not in ("choice", "tier"):
        return
    best = min(rules.reach(node), ind.max)
    for code, branch in node["points"].items():
        if isinstance(branch, Mapping) and rules.reach(branch) < best:
            yield (f"分档 “{code}” 的细则最高只能得 {fmt(rules.reach(branch))} 分，达不到本项最高的 "
                   f"{fmt(best)} 分；若标准如此，可把该分档写成固定分值，否则请核对其 base、cap 或 max")
