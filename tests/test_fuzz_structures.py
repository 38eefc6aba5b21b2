"""Fuzzing below the bytes: every zip compression method, the parts of a workbook (rows, cells, shared
strings, styles, sheets) and generated review entries. Each damaged or odd input gives the project's own
error or a score, within a small budget of time. The default counts are short; SCORING_LONG_TESTS=1 runs
the long ones (the nightly run: `SCORING_LONG_TESTS=1 .venv/bin/python -m pytest -q tests/test_properties.py
tests/test_fuzz_structures.py`)."""

from __future__ import annotations

import io
import re
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from scoring.domain import engine
from scoring.domain.model import Bundle
from scoring.loading import review, rubric
from scoring.pipeline import reviews as checks

from .conftest import SAMPLE
from .test_properties import (
    CITY_REVIEW,
    Rubrics,
    bounded,
    filled_workbook,
    gaoqing_and_mini,
    mutated,
    ours_or_nothing,
    score_path,
    workbook_bundle,
)

__all__ = ["gaoqing_and_mini"]  # the fixture, shared with the byte-level fuzzing
SECONDS = 5  # the project's target for scoring any bundle within the limits


def _timed(action: Any) -> None:
    start = time.monotonic()
    ours_or_nothing(action)
    assert time.monotonic() - start < SECONDS


def _zipped(folder: Path, method: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as archive:
        for path in sorted(folder.rglob("*")):
            archive.write(path, f"{folder.name}/{path.relative_to(folder)}")
    return out.getvalue()


METHODS = {method: _zipped(SAMPLE, method)
           for method in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)}


@pytest.mark.slow
@bounded(16, long=200)
@given(st.sampled_from(sorted(METHODS)), st.data())
def test_a_damaged_zip_of_any_method_gives_our_error_or_a_score(gaoqing_and_mini: Rubrics, method: int,
                                                                data: st.DataObject) -> None:
    raw = data.draw(mutated(METHODS[method], st.binary(min_size=1, max_size=4)))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "高青县.zip"
        path.write_bytes(raw)
        _timed(lambda: score_path(gaoqing_and_mini, path))


# ---------------------------------------------------------------- the parts of a workbook

ELEMENTS = re.compile(r"<(row|c|si|xf|sheet|dimension|col|mergeCell)\b[^>]*?(?:/>|>.*?</\1>)", re.S)
ATTRIBUTES = ['r="XFD1048576"', 'r="A0"', 'r="-1"', 't="s"', 't="e"', 't="inlineStr"', 't="b"', 's="9999"',
              'hidden="1"', 'state="hidden"', 'spans="1:16384"', 'ref="A1:XFD1048576"', 'min="1" max="16384"']
VALUES = ["<v>1e999</v>", "<v>NaN</v>", "<v>-1</v>", "<v>99999</v>", "<v></v>", "<v>abc</v>", "<v>1e300</v>"]


@st.composite
def restructured(draw: Any, book: bytes) -> bytes:
    """The workbook with one XML part edited element-wise: an element dropped or repeated, an attribute
    added (a far cell, a hidden row, a style that is not there), or a value replaced."""
    with zipfile.ZipFile(io.BytesIO(book)) as z:
        parts = {name: z.read(name) for name in z.namelist()}
    name = draw(st.sampled_from(sorted(n for n in parts if n.endswith(".xml"))))
    text = parts[name].decode("utf-8")
    for _ in range(draw(st.integers(1, 3))):
        found = list(ELEMENTS.finditer(text))
        if not found:
            break
        m = found[draw(st.integers(0, len(found) - 1))]
        how = draw(st.sampled_from(["drop", "twice", "attribute", "value"]))
        element = m.group(0)
        if how == "drop":
            element = ""
        elif how == "twice":
            element *= 2
        elif how == "attribute":
            element = re.sub(r"^<(\w+)", lambda g: f"<{g[1]} {draw(st.sampled_from(ATTRIBUTES))}", element, count=1)
        else:
            element = re.sub(r"<v>.*?</v>", draw(st.sampled_from(VALUES)), element, count=1, flags=re.S)
        text = text[:m.start()] + element + text[m.end():]
    parts[name] = text.encode("utf-8")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for part, content in parts.items():
            z.writestr(part, content)
    return out.getvalue()


@pytest.mark.slow
@bounded(16, long=200)
@given(st.data())
def test_a_restructured_workbook_gives_our_error_or_a_score(gaoqing_and_mini: Rubrics,
                                                            data: st.DataObject) -> None:
    raw = data.draw(restructured(filled_workbook()))
    with tempfile.TemporaryDirectory() as tmp:
        _timed(lambda: score_path(gaoqing_and_mini, workbook_bundle(Path(tmp), raw)))


# ---------------------------------------------------------------- generated review entries

INDICATORS = st.sampled_from(["1.1", "2.2", "2.3", "4.4", "9.9", "", "1.1 "])
ENTRY_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-10, 10**6), st.floats(allow_nan=True),
                         st.text(max_size=20), st.sampled_from(["low", "high", "D12", "是", ".inf", "1e999"]))


@st.composite
def entries(draw: Any) -> dict[str, Any]:
    """An entry with any mix of actions, fields and values, sometimes without its reason."""
    entry: dict[str, Any] = {}
    for key in draw(st.sets(st.sampled_from(["score", "input", "value", "reject", "reason", "recheck",
                                              "reviewer", "at", "extra"]), min_size=1, max_size=4)):
        entry[key] = draw(st.one_of(ENTRY_VALUES, st.sampled_from(
            ["D12", "D01", "cases_not_implemented", "community_facility_level", "2022-12-05T10:00:00+08:00"])))
    return entry


@pytest.mark.slow
@bounded(20, long=300)
@given(st.dictionaries(INDICATORS, st.lists(entries(), max_size=3), max_size=4))
def test_generated_review_entries_give_our_error_or_a_score(gaoqing_rubric: rubric.Rubric, sample_bundle: Bundle,
                                                            made: dict[str, Any]) -> None:
    text = CITY_REVIEW.read_text("utf-8")
    data = yaml.safe_load(text)
    data["entries"] = made
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "初评.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")

        def run() -> None:
            stage = checks.check(review.read(path), gaoqing_rubric, sample_bundle)
            engine.score(gaoqing_rubric, sample_bundle, [stage])
        _timed(run)
