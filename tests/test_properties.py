"""Properties over generated rubrics, bundles and reviews, and fuzzing of every file a county or a
reviewer hands in. Bounded and derandomized, so the same examples run on every machine and in CI."""

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
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from scoring import engine, formats, review, rubric, rules, workbook
from scoring.bundle import open_bundle
from scoring.cli import main
from scoring.errors import ScoringError
from scoring.model import Result

from .conftest import GAOQING, MINI, ROOT, SAMPLE, dump, make_bundle

CITY_REVIEW = ROOT / "evidence" / "gaoqing_2022_review_city.yaml"


def bounded(examples: int) -> Any:
    """The same examples on every run: no database, no clock, no randomness from outside."""
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# ---------------------------------------------------------------- generated rubrics

AMOUNT = st.integers(1, 40).map(lambda n: Decimal(n) / 10)  # 0.1 … 4
DOCS = ("D01", "D02", "D03")  # present, missing from the bundle, bytes changed since hashed
Answer = st.SearchStrategy[Any]


class Draft:
    """A rubric being drawn: its inputs and, for each, the answers it may be given."""

    def __init__(self, draw: Callable[..., Any], prefix: str) -> None:
        self.draw, self.prefix = draw, prefix
        self.inputs: list[dict[str, Any]] = []
        self.values: dict[str, Answer] = {}

    def input(self, type_: str, answers: Answer, **extra: Any) -> str:
        name = f"{self.prefix}{len(self.inputs)}"
        self.inputs.append({"name": name, "label": f"输入{name}", "prompt": f"{name}？", "type": type_,
                            "document": self.draw(st.booleans()), **extra})
        self.values[name] = answers
        return name

    def bool(self) -> str:
        return self.input("bool", st.one_of(st.booleans(), st.sampled_from(["是", "否"])))

    def choice(self, type_: str = "choice") -> tuple[str, list[str]]:
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


@st.composite
def wrapped(draw: Callable[..., Any], d: Draft) -> dict[str, Any]:
    """A leaf, or a leaf behind a gate or a veto."""
    how = draw(st.sampled_from(["leaf", "gate", "gate_equals", "veto"]))
    inner = draw(leaf(d))
    if how == "gate":
        return {"kind": "gate", "input": d.bool(), "rule": inner}
    if how == "gate_equals":
        name, codes = d.choice()
        return {"kind": "gate", "input": name, "equals": draw(st.sampled_from(codes)), "rule": inner}
    if how == "veto":
        return {"kind": "veto", "input": d.bool(), "rule": inner}
    return inner


@st.composite
def indicator(draw: Callable[..., Any], ident: str) -> tuple[dict[str, Any], dict[str, Answer]]:
    d = Draft(draw, "x" + ident.replace(".", "_") + "_")
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
def rubrics(draw: Callable[..., Any]) -> tuple[str, dict[str, dict[str, Answer]]]:
    """A rubric's YAML text and, per indicator, the answers each input may be given."""
    categories, answers = [], {}
    for c in range(1, draw(st.integers(1, 3)) + 1):
        inds = []
        for i in range(1, draw(st.integers(1, 4)) + 1):
            ind, values = draw(indicator(f"{c}.{i}"))
            inds.append(ind)
            answers[ind["id"]] = values
        categories.append({"id": str(c), "title": f"类别{c}", "max": sum(i["max"] for i in inds), "indicators": inds})
    total = sum(c["max"] for c in categories)
    verdict = {"mandatory_full": draw(st.booleans()), "min_total": draw(st.sampled_from([None, total / 2]))}
    data = {"id": "gen", "title": "生成的评分细则", "version": "测试", "total": total,
            "judged_step": Decimal("0.5"), "verdict": verdict, "categories": categories}
    return dump(data), answers


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


def write_bundle(folder: Path, inputs: dict[str, Any]) -> Path:
    make_bundle(folder, inputs, rubric="gen", documents={d: (f"documents/{d}.txt", d.encode(), "2022-03-01")
                                                         for d in DOCS})
    (folder / "documents" / "D02.txt").unlink()
    (folder / "documents" / "D03.txt").write_bytes(b"changed")
    return folder


@st.composite
def scenarios(draw: Callable[..., Any]) -> tuple[str, dict[str, Any], dict[str, dict[str, Answer]]]:
    """A rubric's text, a bundle's answers to it, and the answers each input may be given."""
    text, answers = draw(rubrics())
    inputs = {}
    for ind, values in answers.items():
        given = {name: draw(answer(strategy)) for name, strategy in values.items()}
        given = {name: (None if a == "null" else a) for name, a in given.items() if a != "absent"}
        if given:
            inputs[ind] = given
    return text, inputs, answers


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


@bounded(80)
@given(scenarios(), st.data())
def test_generated_rubrics_and_bundles_keep_every_promise(scenario: tuple[str, dict[str, Any], Any],
                                                          data: st.DataObject) -> None:
    text, inputs, values = scenario
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        built = load_rubric(text, folder)
        bundle = open_bundle(write_bundle(folder / "bundle", inputs))
        result = engine.score(built, bundle)
        check_stage(result, 0)
        assert formats.render_json(result) == formats.render_json(engine.score(built, bundle))  # deterministic
        check_round_trip(result)

        chain = [write_review(folder / "初评.yaml", "初评", result, data.draw(entries(result, values)))]
        if data.draw(st.booleans()):
            chain.append(write_review(folder / "验收.yaml", "验收", result, data.draw(entries(result, values))))
        reviewed = engine.score(built, bundle, review.load_chain(chain, built, bundle))
        assert [i.own for i in reviewed.indicators] == [i.own for i in result.indicators]
        assert reviewed.own == result.own  # a review never changes the self-score
        for k in range(len(reviewed.stages)):
            check_stage(reviewed, k)
        check_round_trip(reviewed)


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


def gaoqing() -> rubric.Rubric:
    if "gaoqing" not in _cache:
        _cache["gaoqing"] = rubric.load(GAOQING)
    built: rubric.Rubric = _cache["gaoqing"]
    return built


def score_path(path: Path, *reviews: Path) -> None:
    built = gaoqing() if path.suffix == ".zip" or (path / "bundle.yaml").exists() else rubric.load(MINI)
    bundle = open_bundle(path)
    engine.score(built, bundle, review.load_chain(reviews, built, bundle))


MANIFEST = (SAMPLE / "bundle.yaml").read_bytes()


@bounded(100)
@given(mutated(MANIFEST))
def test_a_damaged_manifest_gives_our_error_or_a_score(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "b"
        shutil.copytree(SAMPLE, folder)
        (folder / "bundle.yaml").write_bytes(raw)
        ours_or_nothing(lambda: score_path(folder))


@bounded(150)
@given(mutated(CITY_REVIEW.read_bytes()))
def test_a_damaged_review_gives_our_error_or_a_score(raw: bytes) -> None:
    bundle = _cache.get("sample") or _cache.setdefault("sample", open_bundle(SAMPLE))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "初评.yaml"
        path.write_bytes(raw)

        def run() -> None:
            stage = review.check(review.read(path), gaoqing(), bundle)
            engine.score(gaoqing(), bundle, [stage])
        ours_or_nothing(run)


def zipped(folder: Path) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            archive.write(path, f"{folder.name}/{path.relative_to(folder)}")
    return out.getvalue()


SAMPLE_ZIP = zipped(SAMPLE)


@bounded(150)
@given(mutated(SAMPLE_ZIP, st.binary(min_size=1, max_size=4)))
def test_a_damaged_zip_gives_our_error_or_a_score(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "高青县.zip"
        path.write_bytes(raw)
        ours_or_nothing(lambda: score_path(path))


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


@bounded(40)
@given(st.data())
def test_a_damaged_workbook_gives_our_error_or_a_score(data: st.DataObject) -> None:
    raw = data.draw(mutated(filled_workbook(), st.binary(min_size=1, max_size=4)))
    with tempfile.TemporaryDirectory() as tmp:
        ours_or_nothing(lambda: score_path(workbook_bundle(Path(tmp), raw)))


CELLS = st.one_of(
    st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30), st.sampled_from(["是", "否", "主要负责同志", "D01、D02", "D09", "=1+1", "85.7%",
                                           " ", "2022-13-45", "mini", "1.1", "共用"]),
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1)),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 1, 1)),
)


@bounded(40)
@given(st.data())
def test_any_cell_values_give_our_error_or_a_score(data: st.DataObject) -> None:
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
        ours_or_nothing(lambda: score_path(folder))


@bounded(20)
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
