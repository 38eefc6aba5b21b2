"""Properties over generated rubrics, bundles and reviews, and fuzzing of every file a county or a
reviewer hands in. Bounded and derandomized, so the same examples run on every machine and in CI; with
SCORING_LONG_TESTS=1 each runs two to four times as many (before a release)."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from scoring.base.errors import ScoringError
from scoring.domain import engine, rules
from scoring.domain.model import Bundle, Condition
from scoring.domain.results import Result
from scoring.faces.cli import main
from scoring.loading import review, rubric, workbook
from scoring.loading.bundle import open_bundle
from scoring.papers import formats
from scoring.pipeline import reviews as checks

from .conftest import LONG_TESTS, MINI, ROOT, SAMPLE, dump, make_bundle

CITY_REVIEW = ROOT / "evidence" / "gaoqing_2022_review_city.yaml"


def bounded(examples: int, long: int | None = None) -> Any:
    """The same examples on every run: no database, no clock, no randomness from outside. `long` examples
    instead when SCORING_LONG_TESTS=1."""
    return settings(max_examples=long if LONG_TESTS and long else examples, deadline=None, derandomize=True,
                    database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# ---------------------------------------------------------------- generated rubrics

AMOUNT = st.integers(1, 40).map(lambda n: Decimal(n) / 10)  # 0.1 … 4
DOCS = ("D01", "D02", "D03")  # present, missing from the bundle, bytes changed since hashed
Answer = st.SearchStrategy[Any]


class Draft:
    """A rubric being drawn: its inputs and, for each, the answers it may be given. An indicator's draft
    now and then reads one of the rubric's shared facts (drafted the same way) instead of an input of its own."""

    def __init__(self, draw: Callable[..., Any], prefix: str, shared: Draft | None = None) -> None:
        self.draw, self.prefix, self.shared = draw, prefix, shared
        self.inputs: list[dict[str, Any]] = []
        self.values: dict[str, Answer] = {}

    def reuse(self, type_: str) -> dict[str, Any] | None:
        """A shared fact of the type, listed among the indicator's inputs as {fact: name}; or None."""
        if self.shared is None:
            return None
        fitting = [f for f in self.shared.inputs if f["type"] == type_]
        if not fitting or self.draw(st.integers(0, 2)) != 0:
            return None
        fact: dict[str, Any] = self.draw(st.sampled_from(fitting))
        if fact["name"] not in self.values:
            self.inputs.append({"fact": fact["name"]})
            self.values[fact["name"]] = self.shared.values[fact["name"]]
        return fact

    def input(self, type_: str, answers: Answer, **extra: Any) -> str:
        name = f"{self.prefix}{len(self.inputs)}"
        self.inputs.append({"name": name, "label": f"输入{name}", "prompt": f"{name}？", "type": type_,
                            "document": self.draw(st.booleans()), **extra})
        self.values[name] = answers
        return name

    def bool(self) -> str:
        fact = self.reuse("bool")
        return fact["name"] if fact else self.input("bool", st.one_of(st.booleans(), st.sampled_from(["是", "否"])))

    def choice(self, type_: str = "choice") -> tuple[str, list[str]]:
        fact = self.reuse(type_)
        if fact:
            return fact["name"], [v["value"] for v in fact["values"]]
        codes = [f"c{k}" for k in range(self.draw(st.integers(2, 4)))]
        pick = st.sampled_from([*codes, *(f"档{c}" for c in codes)])
        values = pick if type_ == "choice" else st.lists(st.sampled_from(codes), unique=True)
        return self.input(type_, values, values=[{"value": c, "label": f"档{c}"} for c in codes]), codes

    def counted(self, types: tuple[str, ...]) -> tuple[str, int | None]:
        """An input whose answer is a number or counts items; with the options of a multi-select."""
        kind = self.draw(st.sampled_from(types))
        if kind == "multi":
            name, codes = self.choice("multi")
            return name, len(codes)
        if kind in ("number", "integer", "list") and (fact := self.reuse(kind)):
            return fact["name"], None
        if kind == "number":
            return self.input("number", st.integers(0, 1000).map(lambda n: Decimal(n) / 10), min=0, max=100), None
        if kind == "integer":
            return self.input("integer", st.integers(0, 20), min=0), None
        names = st.lists(st.integers(1, 30).map(lambda n: f"政策{n}"), unique=True, max_size=6)
        return self.input("list", st.one_of(names, names.map("；".join))), None

    def score(self, top: Decimal | None, step: Decimal | None) -> str:
        """A score input: on the step up to the top when they are declared, any tenth otherwise."""
        if step is None:
            amounts = st.integers(0, int((top or 10) * 10)).map(lambda n: Decimal(n) / 10)
        else:
            amounts = st.integers(0, int((top or 10 * step) / step)).map(lambda n: n * step)
        return self.input("score", amounts.map(lambda v: ("judged", v)))


@st.composite
def leaf(draw: Callable[..., Any], d: Draft) -> dict[str, Any]:
    kind = draw(st.sampled_from(["flag", "threshold", "levels", "choice", "judged", "per_item", "deduction"]))
    if kind == "flag":
        return {"kind": "flag", "input": d.bool(), "points": draw(AMOUNT)}
    if kind in ("threshold", "levels"):
        name, options = d.counted(("number", "integer", "list", "multi"))
        ats = st.integers(0, options if options is not None else 20)
        op = {"op": draw(st.sampled_from([">=", "<="]))}
        if kind == "threshold":
            return {"kind": "threshold", "input": name, "target": draw(ats), "points": draw(AMOUNT), **op}
        levels = draw(st.lists(st.tuples(ats, AMOUNT), min_size=1, max_size=3))
        return {"kind": "threshold", "input": name, "levels": [{"at": a, "points": p} for a, p in levels], **op}
    if kind == "choice":
        name, codes = d.choice()
        worth = draw(st.dictionaries(st.sampled_from(codes), AMOUNT, min_size=1))
        return {"kind": draw(st.sampled_from(["choice", "tier"])), "input": name, "points": worth}
    if kind == "judged":
        step = draw(st.sampled_from([None, Decimal("0.5"), Decimal(1), Decimal("0.1")]))
        top = (step or Decimal("0.5")) * draw(st.integers(1, 8))
        return {"kind": "judged", "input": d.score(top, step or Decimal("0.5")), "max": top,
                **({"step": step} if step else {})}
    if kind == "per_item":
        name, options = d.counted(("integer", "list", "multi"))
        each = draw(AMOUNT)
        cap = each * draw(st.integers(1, options or 5))
        return {"kind": "per_item", "input": name, "each": each, "cap": cap}
    base = draw(AMOUNT) * 2
    rule: dict[str, Any] = {"kind": "deduction", "base": base}
    if draw(st.booleans()):
        rule["floor"] = draw(st.integers(0, 10).map(lambda n: base * n / 10))
    judged = draw(st.booleans())
    if judged and draw(st.booleans()):
        step = draw(st.sampled_from([Decimal("0.5"), Decimal(1)]))
        rule |= {"max": step * draw(st.integers(1, 4)), "step": step}
        rule["base"] = max(base, rule["max"])  # the most deducted stays within the indicator
        return {**rule, "input": d.score(rule["max"], step)}
    if judged:
        return {**rule, "input": d.score(None, None)}
    rule["each"] = draw(AMOUNT)
    return {**rule, "input": d.counted(("integer", "list"))[0]}


# Windows a cited document's date must fall in, around the documents' dates (see write_bundle).
WINDOWS = [("2019-01-01", None), (None, "2022-06-30"), ("2022-01-01", "2022-12-31"), ("2023-01-01", None)]


@st.composite
def wrapped(draw: Callable[..., Any], d: Draft) -> dict[str, Any]:
    """A leaf, or a leaf behind a gate or a veto, or one whose cited documents must be dated in a window."""
    how = draw(st.sampled_from(["leaf", "gate", "gate_equals", "veto", "dated"]))
    inner = draw(leaf(d))
    if how == "dated":
        start, end = draw(st.sampled_from(WINDOWS))
        window = {k: v for k, v in (("from", start), ("to", end)) if v}
        return {"kind": "document_date", "input": inner["input"], **window, "rule": inner}
    if how == "gate":
        return {"kind": "gate", "input": d.bool(), "rule": inner}
    if how == "gate_equals":
        name, codes = d.choice()
        return {"kind": "gate", "input": name, "equals": draw(st.sampled_from(codes)), "rule": inner}
    if how == "veto":
        return {"kind": "veto", "input": d.bool(), "rule": inner}
    return inner


@st.composite
def indicator(draw: Callable[..., Any], ident: str, facts: Draft) -> tuple[dict[str, Any], dict[str, Answer]]:
    d = Draft(draw, "x" + ident.replace(".", "_") + "_", facts)
    if draw(st.booleans()):
        rule = draw(wrapped(d))
    else:
        rule = {"kind": "sum", "parts": [draw(wrapped(d)) for _ in range(draw(st.integers(2, 3)))]}
        if draw(st.booleans()):  # a cap no part alone exceeds (a part above the indicator's max is refused)
            biggest = max(rules.reach(p) for p in rule["parts"])
            rule["cap"] = biggest + (rules.reach(rule) - biggest) * draw(st.integers(0, 9)) / 10
    top = rules.reach(rule)
    if top > 1 and draw(st.integers(0, 9)) == 0:  # now and then an indicator caps its rule (a lint warning)
        top -= Decimal("0.5")
    return ({"id": ident, "title": f"指标{ident}", "text": f"指标{ident}的要求。", "mandatory": draw(st.booleans()),
             "max": top, "inputs": d.inputs, "rule": rule}, d.values)


@st.composite
def condition(draw: Callable[..., Any], fact: dict[str, Any], label: str) -> dict[str, Any]:
    """A condition on a shared fact, in the form its type takes (docs/rubric-language.md, Bands)."""
    made = {"fact": fact["name"], "label": label}
    codes = [v["value"] for v in fact.get("values", ())]
    if fact["type"] == "choice":
        return {**made, "one_of": draw(st.lists(st.sampled_from(codes), min_size=1, unique=True))}
    if fact["type"] == "multi" and draw(st.booleans()):
        return {**made, "all": True}
    if fact["type"] != "bool":
        top = {"number": 100, "integer": 20, "list": 6, "multi": len(codes)}[fact["type"]]
        return {**made, draw(st.sampled_from(["at_least", "at_most"])): draw(st.integers(0, top))}
    return made


@st.composite
def bands(draw: Callable[..., Any], facts: Draft, total: Decimal, categories: list[str]) -> dict[str, Any]:
    """Star bands: 1 to 3 levels with strictly falling minimum totals, now and then category shares,
    prerequisites and vetoes on the shared facts, and a fact naming the band applied for."""
    tenths = sorted(draw(st.lists(st.integers(0, 10), min_size=1, max_size=3, unique=True)), reverse=True)
    conditions = iter(range(1, 100))
    levels = []
    for name, tenth in zip(("五星", "四星", "三星"), tenths, strict=False):
        level: dict[str, Any] = {"name": name, "min_total": total * tenth / 10}
        shares = st.sampled_from([20, 40, 50, 60, 90])
        how = draw(st.sampled_from(["none", "every", "some"]))
        if how == "every":
            level["category_min"] = draw(shares)
        elif how == "some":
            level["category_min"] = draw(st.dictionaries(st.sampled_from(categories), shares, min_size=1))
        if facts.inputs:
            level["prerequisites"] = [draw(condition(f, f"条件{next(conditions)}"))
                                      for f in draw(st.lists(st.sampled_from(facts.inputs), max_size=2))]
        levels.append(level)
    made: dict[str, Any] = {"levels": levels, "none": "未达到星级"}
    vetoes = [f for f in facts.inputs if f["type"] == "bool"]
    if vetoes and draw(st.booleans()):
        made["veto"] = [draw(condition(draw(st.sampled_from(vetoes)), f"否决{next(conditions)}"))]
    if draw(st.booleans()):
        codes = [f"b{k}" for k in range(len(levels))]
        made["requested"] = facts.input("choice", st.sampled_from([*codes, *(lv["name"] for lv in levels)]),
                                        values=[{"value": c, "label": lv["name"]} for c, lv in zip(codes, levels, strict=True)])
    return made


@st.composite
def rubrics(draw: Callable[..., Any], with_bands: bool | None = None
            ) -> tuple[str, dict[str, dict[str, Answer]], dict[str, Answer]]:
    """A rubric's YAML text; per indicator, the answers each input (its shared facts included) may be given;
    and the answers each shared fact may be given."""
    facts = Draft(draw, "f")  # shared facts, read by some indicators and by the bands' conditions
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["bool", "choice", "counted"]))
        if kind == "counted":
            facts.counted(("number", "integer", "list", "multi"))
        else:
            getattr(facts, kind)()
    categories, answers = [], {}
    for c in range(1, draw(st.integers(1, 3)) + 1):
        inds = []
        for i in range(1, draw(st.integers(1, 4)) + 1):
            ind, values = draw(indicator(f"{c}.{i}", facts))
            inds.append(ind)
            answers[ind["id"]] = values
        categories.append({"id": str(c), "title": f"类别{c}", "max": sum(i["max"] for i in inds), "indicators": inds})
    total = sum(c["max"] for c in categories)
    verdict = {"mandatory_full": draw(st.booleans()), "min_total": draw(st.sampled_from([None, total / 2]))}
    banded = with_bands if with_bands is not None else draw(st.booleans())
    if banded and draw(st.booleans()):  # the verdict's own conditions bar every band: often none, so some band is met
        verdict = {}
    data = {"id": "gen", "title": "生成的评分细则", "version": "测试", "total": total,
            "judged_step": Decimal("0.5"), "verdict": verdict, "categories": categories}
    if banded:
        data["bands"] = draw(bands(facts, total, [c["id"] for c in categories]))
    read = {i["fact"] for c in categories for ind in c["indicators"] for i in ind["inputs"] if "fact" in i}
    read |= {c["fact"] for c in _conditions(data.get("bands"))} | {data.get("bands", {}).get("requested")}
    data["facts"] = [f for f in facts.inputs if f["name"] in read]  # a fact nobody reads is refused by the lint
    return dump(data), answers, {f["name"]: facts.values[f["name"]] for f in data["facts"]}


def _conditions(given: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not given:
        return []
    return [*given.get("veto", ()), *(c for level in given["levels"] for c in level.get("prerequisites", ()))]


@st.composite
def answer(draw: Callable[..., Any], values: Answer) -> Any:
    """A county's answer: left out, null, a bare value, or a value with documents and a reason."""
    how = draw(st.sampled_from(["absent", "null", "bare", "full", "full"]))
    if how in ("absent", "null"):
        return how
    value = draw(values)
    if isinstance(value, tuple):  # a score: always with its reason
        return {"value": value[1], "reason": "现场核查后打分"}
    if how == "bare":
        return value
    return {"value": value, "documents": draw(st.lists(st.sampled_from(DOCS), unique=True, max_size=2))}


def load_rubric(text: str, folder: Path) -> rubric.Rubric:
    path = folder / "gen.yaml"
    path.write_text(text, "utf-8")
    built, errors, _ = rubric.check(path)
    assume(not errors)  # a rubric the lint refuses is not one anybody scores with
    return built


def write_bundle(folder: Path, inputs: dict[str, Any], facts: dict[str, Any] | None = None) -> Path:
    dated = dict(zip(DOCS, ("2022-03-01", "2018-06-30", "2023-02-01"), strict=True))
    make_bundle(folder, inputs, rubric="gen", documents={d: (f"documents/{d}.txt", d.encode(), dated[d]) for d in DOCS},
                facts=facts or {})
    (folder / "documents" / "D02.txt").unlink()
    (folder / "documents" / "D03.txt").write_bytes(b"changed")
    return folder


Scenario = tuple[str, dict[str, Any], dict[str, Any], dict[str, dict[str, Answer]]]


def answered(draw: Callable[..., Any], values: dict[str, Answer]) -> dict[str, Any]:
    given = {name: draw(answer(strategy)) for name, strategy in values.items()}
    return {name: (None if a == "null" else a) for name, a in given.items() if a != "absent"}


@st.composite
def scenarios(draw: Callable[..., Any], with_bands: bool | None = None) -> Scenario:
    """A rubric's text, a bundle's answers to its indicators and to its shared facts (answered once, at the
    top), and the answers each input may be given."""
    text, answers, shared = draw(rubrics(with_bands))
    inputs = {}
    for ind, values in answers.items():
        given = answered(draw, {name: v for name, v in values.items() if name not in shared})
        if given:
            inputs[ind] = given
    return text, inputs, answered(draw, shared), answers


# ---------------------------------------------------------------- what every result must satisfy


def check_stage(result: Result, k: int) -> None:
    """Every score of stage k in [0, max] at every level, and every total the sum of its parts."""
    stage = result.stages[k]
    for i in result.indicators:
        s = i.scores[k]
        assert 0 <= s.supported <= s.points <= i.indicator.max, (i.id, s)
    for cat in stage.categories:
        parts = [i.scores[k].points for i in result.in_category(cat.id)]
        assert cat.score == sum(parts) and 0 <= cat.score <= cat.max, cat
    assert stage.total == sum(c.score for c in stage.categories)
    assert stage.supported_total == sum(i.scores[k].supported for i in result.indicators)
    assert 0 <= stage.supported_total <= stage.total <= result.rubric.total


def exact(text: str, expected: Decimal) -> None:
    assert Decimal(text) == expected and text == formats.fmt(expected), (text, expected)


def check_round_trip(result: Result) -> None:
    """The JSON and the CSV carry the engine's Decimals exactly."""
    data = json.loads(formats.render_json(result), parse_float=Decimal)
    assert data["total"] == result.total and data["supported_total"] == result.own.supported_total
    for item, i in zip(data["indicators"], result.indicators, strict=True):
        for key, value in (("max", i.indicator.max), ("score", i.score), ("supported_score", i.supported_score)):
            assert isinstance(item[key], int | Decimal) and not isinstance(item[key], bool)
            assert item[key] == value
        for stage, s in zip(item["reviews"], i.scores[1:], strict=True):
            assert (stage["score"], stage["supported_score"]) == (s.points, s.supported)
        answered = [a for _, a in i.answers if a is not None]
        for written, a in zip(item["answers"], answered, strict=True):
            assert written["value"] == a.value
    for cat, c in zip(data["categories"], result.own.categories, strict=True):
        assert (cat["score"], cat["max"]) == (c.score, c.max)
    rows = list(csv.reader(io.StringIO(formats.render_csv(result).removeprefix("\ufeff"))))
    head, body = rows[0], rows[1:]
    for row, i in zip(body, result.indicators, strict=True):
        cell = dict(zip(head, row, strict=True))
        exact(cell["分值"], i.indicator.max)
        exact(cell["自评得分"], i.score)
        exact(cell["有据得分"], i.supported_score)
        for s in i.scores[1:]:
            exact(cell[f"{s.stage}得分"], s.points)


@st.composite
def entries(draw: Callable[..., Any], result: Result, values: dict[str, dict[str, Answer]]) -> dict[str, Any]:
    """A reviewing stage's entries: scores set on the indicator's step, answers corrected, documents
    rejected, each on a few indicators."""
    out: dict[str, list[dict[str, Any]]] = {}
    for i in result.indicators:
        ind, made = i.indicator, []
        if draw(st.integers(0, 3)) == 0:
            step = rules.step_of(ind)
            if step is None:
                points = draw(st.integers(0, int(ind.max * 10))) / Decimal(10)
            else:
                points = draw(st.integers(0, int(ind.max / step))) * step
            made.append({"score": points, "reason": "评审定分"})
        if ind.inputs and draw(st.integers(0, 2)) == 0:
            name = draw(st.sampled_from([inp.name for inp in ind.inputs]))
            value = draw(values[ind.id][name])
            made.append({"input": name, "value": value[1] if isinstance(value, tuple) else value,
                         "reason": "核实后更正"})
        if i.cited() and draw(st.integers(0, 2)) == 0:
            made.append({"reject": draw(st.sampled_from(i.cited())), "reason": "佐证不足"})
        if made:
            out[ind.id] = made
    return out


def write_review(path: Path, stage: str, result: Result, made: dict[str, Any]) -> Path:
    path.write_text(dump({"stage": stage, "reviewer": "李明", "unit": "市民政局", "date": "2022-12-05",
                          "rubric": result.rubric.id, "bundle_sha256": result.bundle.sha256, "entries": made}),
                    "utf-8")
    return path


def meets(r: rubric.Rubric, c: Condition, value: Any) -> bool:
    """A band's condition on a shared fact's value, as docs/rubric-language.md words it."""
    fact = r.fact(c.fact)
    if value is None or fact is None:
        return False
    if c.all:
        return all(code in value for code, _ in fact.values)
    if c.one_of:
        return value in c.one_of
    if c.at_least is None and c.at_most is None:
        return value is True
    amount = len(value) if isinstance(value, list) else value
    return (c.at_least is None or amount >= c.at_least) and (c.at_most is None or amount <= c.at_most)


def check_bands(result: Result, k: int) -> None:
    """Stage k's band is the highest whose every condition holds (the verdict's own conditions and the
    vetoes bar them all); `next` is the band above it, or the band applied for when that is not the one
    reached; `held` names exactly the conditions `next` lacks, in order, each by its own figure or label."""
    r, stage = result.rubric, result.stages[k]
    if r.bands is None:
        return
    barred = []
    if r.verdict.mandatory_full and any(i.scores[k].points < i.indicator.max
                                        for i in result.indicators if i.indicator.mandatory):
        barred.append(f"{r.natures.must}未达标")
    if r.verdict.min_total is not None and stage.total < r.verdict.min_total:
        barred.append(f"低于 {formats.fmt(r.verdict.min_total)} 分")
    barred += [f"{c.label}（一票否决）" for c in r.bands.veto if meets(r, c, stage.facts.get(c.fact))]
    lacks: dict[str, list[str]] = {}
    for band in r.bands.levels:
        lacks[band.name] = list(barred)
        if stage.total < band.min_total:
            lacks[band.name].append(f"低于{band.name}要求的 {formats.fmt(band.min_total)} 分")
        cats = {c.id: c for c in stage.categories}
        lacks[band.name] += [f"一级指标“{cats[cid].title}”得分 {formats.fmt(cats[cid].score)} 分"
                             for cid, share in band.category_min if cats[cid].score * 100 < cats[cid].max * share]
        lacks[band.name] += [f"前提条件“{c.label}”未满足" for c in band.prerequisites
                             if not meets(r, c, stage.facts.get(c.fact))]
    names = [b.name for b in r.bands.levels]
    reached = next((name for name in names if not lacks[name]), None)
    verdict = stage.verdict
    assert verdict.band == reached, (verdict, lacks)
    above = names[names.index(reached) - 1] if reached in names[1:] else (None if reached else names[-1])
    fact = r.fact(r.bands.requested)
    asked = stage.facts.get(r.bands.requested)
    requested = fact.choice_label(asked) if fact and asked is not None else ""
    assert verdict.next == (requested if requested and requested != reached else above), (verdict, requested)
    held = lacks[verdict.next] if verdict.next else []
    assert len(verdict.held) == len(held) and all(m in h for m, h in zip(held, verdict.held, strict=True)), \
        (verdict.held, held)
    assert verdict.passed == (not lacks[requested] if requested else reached is not None)


@pytest.mark.slow
@bounded(20, long=80)
@given(scenarios(), st.data())
def test_generated_rubrics_and_bundles_keep_every_promise(scenario: Scenario, data: st.DataObject) -> None:
    text, inputs, facts, values = scenario
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        built = load_rubric(text, folder)
        bundle = open_bundle(write_bundle(folder / "bundle", inputs, facts))
        result = engine.score(built, bundle)
        check_stage(result, 0)
        check_bands(result, 0)
        assert formats.render_json(result) == formats.render_json(engine.score(built, bundle))  # deterministic
        check_round_trip(result)

        chain = [write_review(folder / "初评.yaml", "初评", result, data.draw(entries(result, values)))]
        if data.draw(st.booleans()):
            chain.append(write_review(folder / "验收.yaml", "验收", result, data.draw(entries(result, values))))
        reviewed = engine.score(built, bundle, checks.checked([review.read(p) for p in chain], built, bundle))
        assert [i.own for i in reviewed.indicators] == [i.own for i in result.indicators]
        assert reviewed.own == result.own  # a review never changes the self-score
        for k in range(len(reviewed.stages)):
            check_stage(reviewed, k)
            check_bands(reviewed, k)
        check_round_trip(reviewed)


@pytest.mark.slow
@bounded(10, long=40)
@given(scenarios(with_bands=True))
def test_generated_bands_give_the_highest_band_whose_every_condition_holds(scenario: Scenario) -> None:
    text, inputs, facts, _ = scenario
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        built = load_rubric(text, folder)
        result = engine.score(built, open_bundle(write_bundle(folder / "bundle", inputs, facts)))
        check_bands(result, 0)


# ---------------------------------------------------------------- damaged files: our own errors, or success

YAML_BYTES = st.sampled_from([b":", b"- ", b" ", b"\n", b"'", b'"', b"[", b"{", b"!", b"&", b"*", b"#", b"%",
                              b"0", b"1.5", b"-1", b"1e400", b"null", b"\t", b"\\", b"\x00", b"\xff", b"\xe4"])


@st.composite
def mutated(draw: Callable[..., Any], data: bytes, inserts: st.SearchStrategy[bytes] = YAML_BYTES) -> bytes:
    """The bytes with a few flips, insertions, deletions or a truncation."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, max(len(out) - 1, 0)))
        how = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        if how == "flip" and out:
            out[at] ^= 1 << draw(st.integers(0, 7))
        elif how == "insert":
            out[at:at] = draw(st.one_of(inserts, st.binary(min_size=1, max_size=4)))
        elif how == "delete":
            del out[at:at + draw(st.integers(1, 8))]
        elif how == "truncate" and draw(st.integers(0, 3)) == 0:
            del out[at:]
    return bytes(out)


def ours_or_nothing(action: Callable[[], Any]) -> None:
    """A damaged input gives the project's own error or none; anything else propagates and fails the test."""
    with contextlib.suppress(ScoringError):
        action()


_cache: dict[str, Any] = {}
Rubrics = tuple[rubric.Rubric, rubric.Rubric]


@pytest.fixture(scope="module")
def gaoqing_and_mini(gaoqing_rubric: rubric.Rubric) -> Rubrics:
    """The Gaoqing rubric and the mini rubric, each loaded once."""
    return gaoqing_rubric, rubric.load(MINI)


def score_path(rubrics: Rubrics, path: Path, *reviews: Path) -> None:
    """Score a copy of the sample or a zip of it with the Gaoqing rubric, a workbook with the mini rubric."""
    gaoqing, mini = rubrics
    built = gaoqing if path.suffix == ".zip" or (path / "bundle.yaml").exists() else mini
    bundle = open_bundle(path)
    engine.score(built, bundle, checks.checked([review.read(p) for p in reviews], built, bundle))


MANIFEST = (SAMPLE / "bundle.yaml").read_bytes()


@pytest.mark.slow
@bounded(50, long=100)
@given(mutated(MANIFEST))
def test_a_damaged_manifest_gives_our_error_or_a_score(gaoqing_and_mini: Rubrics, raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "b"
        shutil.copytree(SAMPLE, folder)
        (folder / "bundle.yaml").write_bytes(raw)
        ours_or_nothing(lambda: score_path(gaoqing_and_mini, folder))


@pytest.mark.slow
@bounded(60, long=150)
@given(mutated(CITY_REVIEW.read_bytes()))
def test_a_damaged_review_gives_our_error_or_a_score(gaoqing_rubric: rubric.Rubric, sample_bundle: Bundle,
                                                     raw: bytes) -> None:
    gaoqing, bundle = gaoqing_rubric, sample_bundle
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "初评.yaml"
        path.write_bytes(raw)

        def run() -> None:
            stage = checks.check(review.read(path), gaoqing, bundle)
            engine.score(gaoqing, bundle, [stage])
        ours_or_nothing(run)


def zipped(folder: Path) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            archive.write(path, f"{folder.name}/{path.relative_to(folder)}")
    return out.getvalue()


SAMPLE_ZIP = zipped(SAMPLE)


@pytest.mark.slow
@bounded(60, long=150)
@given(mutated(SAMPLE_ZIP, st.binary(min_size=1, max_size=4)))
def test_a_damaged_zip_gives_our_error_or_a_score(gaoqing_and_mini: Rubrics, raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "高青县.zip"
        path.write_bytes(raw)
        ours_or_nothing(lambda: score_path(gaoqing_and_mini, path))


def filled_workbook() -> bytes:
    """The mini rubric's workbook as a clerk fills it, with its documents."""
    if "workbook" not in _cache:
        from .test_workbook import CLERK, DOCS, fill

        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "表"
            assert CliRunner().invoke(main, ["init", str(MINI), str(folder), "--xlsx", "--assessee", "测试县"]).exit_code == 0
            fill(folder / workbook.FILE, CLERK, DOCS)
            _cache["workbook"] = (folder / workbook.FILE).read_bytes()
            _cache["documents"] = {f: c for f, c, _ in DOCS.values()}
    book: bytes = _cache["workbook"]
    return book


def workbook_bundle(folder: Path, raw: bytes) -> Path:
    filled_workbook()
    for file, content in _cache["documents"].items():
        (folder / file).parent.mkdir(parents=True, exist_ok=True)
        (folder / file).write_bytes(content)
    (folder / workbook.FILE).write_bytes(raw)
    return folder


@pytest.mark.slow
@bounded(20, long=40)
@given(st.data())
def test_a_damaged_workbook_gives_our_error_or_a_score(gaoqing_and_mini: Rubrics, data: st.DataObject) -> None:
    raw = data.draw(mutated(filled_workbook(), st.binary(min_size=1, max_size=4)))
    with tempfile.TemporaryDirectory() as tmp:
        ours_or_nothing(lambda: score_path(gaoqing_and_mini, workbook_bundle(Path(tmp), raw)))


CELLS = st.one_of(
    st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30), st.sampled_from(["是", "否", "主要负责同志", "D01、D02", "D09", "=1+1", "85.7%",
                                           " ", "2022-13-45", "mini", "1.1", "共用"]),
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1)),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 1, 1)),
)


@pytest.mark.slow
@bounded(10, long=40)
@given(st.data())
def test_any_cell_values_give_our_error_or_a_score(gaoqing_and_mini: Rubrics, data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = workbook_bundle(Path(tmp), filled_workbook())
        wb = openpyxl.load_workbook(folder / workbook.FILE)
        for _ in range(data.draw(st.integers(1, 6))):
            ws = wb[data.draw(st.sampled_from([workbook.INFO, workbook.INPUTS, workbook.DOCUMENTS, workbook.TEXTS]))]
            row = data.draw(st.integers(1, ws.max_row + 1))
            column = data.draw(st.sampled_from("ABCDEFGHI"))
            value = data.draw(CELLS)
            if isinstance(value, str):
                value = "".join(ch for ch in value if ch >= " " or ch in "\t\n")  # what a cell can hold
            ws[f"{column}{row}"] = value
        wb.save(folder / workbook.FILE)
        ours_or_nothing(lambda: score_path(gaoqing_and_mini, folder))


@pytest.mark.slow
@bounded(10, long=20)
@given(st.sampled_from(["manifest", "zip", "review"]), st.data(), st.sampled_from(["table", "json", "csv"]))
def test_the_command_never_shows_a_traceback(what: str, data: st.DataObject, fmt_: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "高青县"
        args = ["score", str(folder), "--format", fmt_]
        if what == "zip":
            folder = folder.with_suffix(".zip")
            folder.write_bytes(data.draw(mutated(SAMPLE_ZIP, st.binary(min_size=1, max_size=4))))
            args[1] = str(folder)
        else:
            shutil.copytree(SAMPLE, folder)
        if what == "manifest":
            (folder / "bundle.yaml").write_bytes(data.draw(mutated(MANIFEST)))
        if what == "review":
            (Path(tmp) / "初评.yaml").write_bytes(data.draw(mutated(CITY_REVIEW.read_bytes())))
            args += ["--review", str(Path(tmp) / "初评.yaml")]
        result = CliRunner().invoke(main, args)
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        assert result.exit_code in (0, 1, 2) and "Traceback" not in result.output
