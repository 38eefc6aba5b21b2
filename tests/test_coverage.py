"""`scoring rubric test RUBRIC --coverage`: the ways each rule can go that no case exercises, and the share."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from scoring.faces.cli import main

from .conftest import FIXTURES


@pytest.mark.parametrize("rubric", ["gaoqing_2022", "qingdao_center_stars"])
def test_shipped_rubrics_cover_every_branch(runner: CliRunner, rubric: str) -> None:
    result = runner.invoke(main, ["rubric", "test", rubric, "--coverage"])
    assert result.exit_code == 0, result.output
    assert "未被任何用例覆盖" not in result.output and "（100%）" in result.output


def test_a_part_no_case_exercises_is_listed_with_the_share(runner: CliRunner) -> None:
    # center.yaml's parts: 1.1 and 1.2 three meal modes each (6); 1.3 two listed modes and, inside either,
    # levels 50 and 20 and none (5); 2.2 levels 3 and 1 and none (3); 2.1 (per_item) none: 14 parts.
    # Its cases never serve fewer than 20 meals a day: 13 of 14 = 92.9%.
    result = runner.invoke(main, ["rubric", "test", str(FIXTURES / "center.yaml"), "--coverage"])
    assert result.exit_code == 0, result.output
    assert "指标 1.3：1 处未被任何用例覆盖\n    - 日均助餐人次：未达到任何一档\n覆盖率：13/14（92.9%）" in result.output


def test_bands_count_as_parts(runner: CliRunner) -> None:
    # bands.yaml: 五星, 四星, 三星 reached and 未达到星级 (4), 五星's two prerequisites unmet (2), the veto (1).
    result = runner.invoke(main, ["rubric", "test", str(FIXTURES / "bands.yaml"), "--coverage"])
    assert result.exit_code == 0, result.output
    assert "覆盖率：7/7（100%）" in result.output
