"""Tailoring (tests/fixtures/tailored.yaml extends center.yaml): the merged rubric, the differences, the
city's own indicators in the result, and errors at the city's own lines."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from scoring.domain import engine
from scoring.faces.cli import main
from scoring.loading.bundle import open_bundle
from scoring.loading.rubric import load

from .conftest import FIXTURES, make_bundle

TAILORED = FIXTURES / "tailored.yaml"


def test_check_shows_the_differences(runner: CliRunner) -> None:
    result = runner.invoke(main, ["rubric", "check", str(TAILORED), "--strict"])
    assert result.exit_code == 0, result.output
    assert "评分细则 center_city 检查通过：2 个一级指标，5 个二级指标，总分 140 分。" in result.output
    for change in ("修改一级指标 1：max", "修改指标 1.1：criteria", "删除指标 1.3", "新增指标 2.3"):
        assert f"  - {change}\n" in result.output


def test_show_prints_the_merged_rubric(runner: CliRunner) -> None:
    table = runner.invoke(main, ["rubric", "show", str(TAILORED)]).output
    assert "1、助餐服务（15 分）" in table and "1.3" not in table and "志愿服务（新增）" in table
    assert "厨房安全（修改）" in table
    data = json.loads(runner.invoke(main, ["rubric", "show", str(TAILORED), "--format", "json"]).output)
    assert data["extends"] == "center.yaml"
    owns = {i["id"]: i.get("own") for c in data["categories"] for i in c["indicators"]}
    assert owns == {"1.1": "修改", "1.2": None, "2.1": None, "2.2": None, "2.3": "新增"}


def test_the_result_says_which_items_are_the_city_s_own(tmp_path: Path, runner: CliRunner) -> None:
    rubric = load(TAILORED)
    bundle = make_bundle(tmp_path / "b", {"2.3": {"volunteers": True}}, rubric="center_city",
                         facts={"meal_mode": "delivered"})
    result = engine.score(rubric, open_bundle(bundle))
    # 配餐：1.1 不扣分 10，1.2 不扣分 5；2.3 志愿服务 5；2.1、2.2 未填 0：20.
    assert result.total == 10 + 5 + 5
    out = runner.invoke(main, ["score", str(bundle), "--rubric", str(TAILORED), "--format", "json"])
    owns = {i["id"]: i.get("own") for i in json.loads(out.stdout)["indicators"]}
    assert owns["2.3"] == "新增" and owns["1.1"] == "修改" and owns["2.1"] is None


def _check(runner: CliRunner, tmp_path: Path, old: str, new: str) -> str:
    text = TAILORED.read_text("utf-8")
    assert old in text, old
    (tmp_path / "center.yaml").write_text((FIXTURES / "center.yaml").read_text("utf-8"), "utf-8")
    (tmp_path / "city.yaml").write_text(text.replace(old, new, 1), "utf-8")
    result = runner.invoke(main, ["rubric", "check", str(tmp_path / "city.yaml")])
    assert result.exit_code == 1 and "city.yaml" in result.output, result.output
    return result.output


def test_an_error_in_the_city_s_part_names_its_own_line(runner: CliRunner, tmp_path: Path) -> None:
    lines = TAILORED.read_text("utf-8").splitlines()
    rule = next(k for k, t in enumerate(lines, 1) if "input: volunteers, points: 5" in t)
    out = _check(runner, tmp_path, "input: volunteers, points: 5", "input: volunteers, points: 6")
    assert f"第 {rule} 行，指标 2.3：flag 规则的分值 6 超过指标分值 5" in out
    item = next(k for k, t in enumerate(lines, 1) if 'id: "2.3"' in t)
    out = _check(runner, tmp_path, "        text: 开展志愿服务。\n", "")
    assert f"第 {item} 行" in out and "缺少必填项 “text”" in out


def test_dropping_what_the_base_does_not_have_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    out = _check(runner, tmp_path, '{id: "1.3", drop: true}', '{id: "1.9", drop: true}')
    assert "所继承的评分细则中没有指标 “1.9”，无法删除" in out
