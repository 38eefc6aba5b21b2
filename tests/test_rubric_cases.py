"""Every test case beside a rubric (`rubrics/<stem>.tests/<case>/`, and the fixtures' own) as a pytest item."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from scoring.domain.model import Rubric
from scoring.jobs.rubrictest import case_folders, cases_dir, run_case
from scoring.loading.rubric import load

from .conftest import FIXTURES, ROOT

SHIPPED = sorted(p for p in (ROOT / "rubrics").glob("*.yaml") if cases_dir(p).is_dir())
TESTED = [*SHIPPED, *sorted(p for p in FIXTURES.glob("*.yaml") if cases_dir(p).is_dir())]
CASES = [(rubric, case) for rubric in TESTED for case in case_folders(rubric)]


@cache
def _rubric(path: Path) -> Rubric:
    return load(path)


def test_cases_found() -> None:
    assert ROOT / "rubrics" / "gaoqing_2022.yaml" in SHIPPED
    assert FIXTURES / "center.yaml" in TESTED
    assert len(CASES) >= len(TESTED)


@pytest.mark.parametrize(("rubric", "case"), CASES, ids=[f"{r.stem}/{c.name}" for r, c in CASES])
def test_case(rubric: Path, case: Path) -> None:
    result = run_case(_rubric(rubric), case)
    if result.problems:
        pytest.fail("\n".join((f"{case.name}  {result.description}", *result.problems)), pytrace=False)
