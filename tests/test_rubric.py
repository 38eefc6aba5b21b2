"""Rubric checking, showing and testing; the docs name every rule kind."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from scoring.base.errors import ScoringError
from scoring.domain import rules
from scoring.faces.cli import main
from scoring.loading.rubric import load
from scoring.loading.validate import schema

from .conftest import GAOQING, MINI, ROOT


def test_gaoqing_is_clean(runner: CliRunner) -> None:
    result = runner.invoke(main, ["rubric", "check", str(GAOQING), "--strict"])
    assert result.exit_code == 0, result.output
    assert "33 个二级指标，总分 100 分；强制性指标 16 项，共 47 分" in result.output


def test_gaoqing_shape() -> None:
    rubric = load(GAOQING)
    assert [c.max for c in rubric.categories] == [20, 15, 15, 15, 15, 14, 6]
    ids = [i.id for i in rubric.indicators]
    assert ids[0] == "1.1" and ids[-1] == "7.1" and len(ids) == 33
    mandatory = [i for i in rubric.indicators if i.mandatory]
    assert [i.id for i in mandatory] == ["1.1", "1.2", "1.4", "2.1", "2.2", "3.1", "3.2", "3.3", "3.5", "4.2",
                                         "5.1", "5.2", "5.3", "5.4", "5.5", "5.6"]
    assert sum(i.max for i in mandatory) == 47
    assert sum(i.max for i in rubric.indicators if not i.mandatory) == 53
    assert rubric.indicator("7.1").max == 6  # the ruling: 6, not the 分值 column's 5
    for ind in rubric.indicators:
        assert rules.reach(ind.rule) == ind.max, ind.id
        assert ind.inputs and all(i.prompt for i in ind.inputs)


def test_every_gaoqing_indicator_has_a_case() -> None:
    covered = {p.name.split("_")[0] for p in GAOQING.with_name("gaoqing_2022.tests").iterdir()}
    assert {i.id for i in load(GAOQING).indicators} <= covered


def test_rubric_test_command_passes_gaoqing(runner: CliRunner) -> None:
    # Each case is its own item in test_rubric_cases.py; this checks the command's summary and exit code.
    result = runner.invoke(main, ["rubric", "test", str(GAOQING)])
    cases = len([p for p in GAOQING.with_name("gaoqing_2022.tests").iterdir() if p.is_dir()])
    assert result.exit_code == 0 and result.output == f"通过 {cases} 例，未通过 0 例\n", result.output


def mini_case(tmp_path: Path, inputs: str) -> tuple[Path, Path]:
    """A copy of the mini rubric with one test case folder holding a bundle of these inputs."""
    rubric = tmp_path / "mini.yaml"
    rubric.write_text(MINI.read_text("utf-8"), "utf-8")
    case = tmp_path / "mini.tests" / "wrong"
    case.mkdir(parents=True)
    (case / "bundle.yaml").write_text("rubric: mini\nassessee: {name: 测试县}\n"
                                      "period: {start: 2022-01-01, end: 2022-12-31}\n"
                                      f"inputs: {inputs}\n", "utf-8")
    return rubric, case


def test_rubric_test_reports_mismatch_with_trace(runner: CliRunner, tmp_path: Path) -> None:
    rubric, case = mini_case(tmp_path, "{'1.1': {meeting: true, convener: leader}}")
    (case / "expected.yaml").write_text("scores: {'1.1': 4}\n", "utf-8")
    result = runner.invoke(main, ["rubric", "test", str(rubric)])
    assert result.exit_code == 1
    assert "指标 1.1 得分：应为 4，实际为 3" in result.output
    assert "召集人：负责同志，得 1 分" in result.output
    assert "通过 0 例，未通过 1 例" in result.output


def test_rubric_test_reports_category_and_verdict(runner: CliRunner, tmp_path: Path) -> None:
    rubric, case = mini_case(tmp_path, "{'1.1': {meeting: true, convener: leader}, '1.2': {cases: 1}}")
    # By hand: 1.1 = 2 + 1 = 3 (short of its 4), 1.2 = 1 - 0.3 = 0.7, category 1 = 3.7; the mandatory
    # 1.1, 2.1 and 2.2 are short and the total 3.7 is under the mini rubric's pass line of 10.
    (case / "expected.yaml").write_text("categories: {'1': 4, '2': 0, '3': 0}\n"
                                        "verdict: {passed: true, reasons: [强制性指标未达标 2 项：1.1、2.1]}\n",
                                        "utf-8")
    result = runner.invoke(main, ["rubric", "test", str(rubric)])
    assert result.exit_code == 1
    assert "一级指标 1 得分：应为 4，实际为 3.7\n" in result.output
    assert "各二级指标：1.1 得 3 分、1.2 得 0.7 分" in result.output
    assert "一级指标 2 得分" not in result.output and "一级指标 3 不存在" in result.output
    assert "结论：应为“达到创建标准”，实际为“未达到创建标准：强制性指标未达标 3 项" in result.output
    assert ("结论理由：应为 “强制性指标未达标 2 项：1.1、2.1”，实际为 “强制性指标未达标 3 项：1.1、2.1、2.2”；"
            "“总分 3.7 分，低于 10 分”") in result.output
    assert "通过 0 例，未通过 1 例" in result.output

    (case / "expected.yaml").write_text("categories: {'1': 3.7, '2': 0}\nverdict: {passed: false, reasons: "
                                        "[强制性指标未达标 3 项：1.1、2.1、2.2, 总分 3.7 分，低于 10 分]}\n", "utf-8")
    result = runner.invoke(main, ["rubric", "test", str(rubric)])
    assert result.exit_code == 0, result.output


def test_show_json(runner: CliRunner) -> None:
    result = runner.invoke(main, ["rubric", "show", str(GAOQING), "--format", "json"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert [c["id"] for c in data["categories"]] == ["1", "2", "3", "4", "5", "6", "7"]
    first = data["categories"][0]
    assert (first["title"], first["max"]) == ("强化保障机制", 20)
    ind = first["indicators"][0]
    assert {"id", "title", "mandatory", "max", "inputs"} <= set(ind)
    assert ind["inputs"][0]["prompt"]


def _lint(runner: CliRunner, tmp_path: Path, old: str, new: str, *args: str) -> str:
    text = MINI.read_text("utf-8")
    assert old in text
    rubric = tmp_path / "r.yaml"
    rubric.write_text(text.replace(old, new, 1), "utf-8")
    result = runner.invoke(main, ["rubric", "check", str(rubric), *args])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "r.yaml" in result.output
    return result.output


@pytest.mark.parametrize(("old", "new", "message"), [
    ("max: 10\n    indicators:\n      - id: \"1.1\"", "max: 9\n    indicators:\n      - id: \"1.1\"",
     "二级指标分值合计 10 分，与一级指标分值 9 分不符"),
    ("total: 20", "total: 21", "各一级指标分值合计 20 分，与声明的总分 21 分不符"),
    ("{kind: tier, input: level, points: {good: 4, fair: 2, poor: 1}}",
     "{kind: tier, input: level, points: {good: 7, fair: 2, poor: 1}}", "分值 7 超过指标分值 6"),
    ("{kind: per_item, input: policies, each: 0.5, cap: 2}", "{kind: per_item, input: policies, each: 0.5, cap: 1}",
     "规则最高只能得 5 分，低于指标分值 6 分"),
    ("id: \"2.2\"", "id: \"2.1\"", "指标编号 “2.1” 重复"),
    ("input: coverage, target", "input: coverag, target", "未声明的输入 “coverag”"),
    ("{kind: threshold, input: coverage", "{kind: threshold, colour: red, input: coverage",
     "不认识的键 “colour”"),
    ("points: {principal: 2, leader: 1}", "points: {principal: 2, mayor: 1}", "“mayor” 不是输入 “convener” 的可选值"),
    ("{kind: flag, input: meeting, points: 2}", "{kind: flag, input: convener, points: 2}",
     "flag 不能使用 choice 类型的输入"),
    ("from: 2019-01-01", "from: 2019-02-30", "日期 “2019-02-30” 不存在"),
    ("from: 2019-01-01", "from: 2019-01-01\n              to: 2018-12-31", "起点 2019-01-01 晚于终点 2018-12-31"),
    ("{kind: deduction, input: cases, base: 1, each: 0.3}", "{kind: deduction, input: cases, base: 1, each: 0.3, floor: 2}",
     "下限 2 高于基础分 1"),
])
def test_lint_errors(runner: CliRunner, tmp_path: Path, old: str, new: str, message: str) -> None:
    assert message in _lint(runner, tmp_path, old, new)


def test_duplicate_yaml_key_in_rubric(runner: CliRunner, tmp_path: Path) -> None:
    out = _lint(runner, tmp_path, "        mandatory: true\n        max: 4\n",
                "        mandatory: true\n        max: 4\n        max: 5\n")
    assert "第 18 行：键 “max” 重复出现（第一次在第 17 行）" in out


def test_schema_error_names_line_and_path(runner: CliRunner, tmp_path: Path) -> None:
    out = _lint(runner, tmp_path, "        mandatory: false\n        max: 6\n", "        mandatory: 否\n        max: 6\n")
    assert "第 35 行" in out and "categories[0].indicators[1].mandatory" in out and "true 或 false" in out


def test_warning_and_strict(runner: CliRunner, tmp_path: Path) -> None:
    text = MINI.read_text("utf-8").replace("cap: 2}", "cap: 3}", 1)
    rubric = tmp_path / "r.yaml"
    rubric.write_text(text, "utf-8")
    loose = runner.invoke(main, ["rubric", "check", str(rubric)])
    assert loose.exit_code == 0
    assert "警告" in loose.output and "超过指标分值 6 分，超出部分将被截去" in loose.output
    assert runner.invoke(main, ["rubric", "check", str(rubric), "--strict"]).exit_code == 1


def test_docs_describe_every_kind() -> None:
    doc = (ROOT / "docs" / "rubric-language.md").read_text("utf-8")
    for kind in rules.KINDS:
        assert re.search(rf"^### {kind}\b|kind: {kind}\b", doc, re.M), f"{kind} is not documented"
        if kind != "tier":
            assert f"### {kind}" in doc, kind


def test_schema_kinds_match_registry() -> None:
    assert set(schema("rubric")["$defs"]["rule"]["properties"]["kind"]["enum"]) == set(rules.KINDS)


def test_exact_decimals_in_rubric() -> None:
    step = load(GAOQING).indicator("2.3").rule
    each = next(r for r in rules.walk(step) if r["kind"] == "deduction")["each"]
    assert each == Decimal("0.3") and isinstance(each, Decimal)


def test_broken_case_fails_alone(runner: CliRunner, tmp_path: Path) -> None:
    rubric = tmp_path / "mini.yaml"
    rubric.write_text(MINI.read_text("utf-8"), "utf-8")
    for name, expected in (("a_no_expected", None), ("b_bad_expected", "scores: {'1.1': abc}\n"),
                           ("c_good", "scores: {'1.1': 0}\n")):
        case = tmp_path / "mini.tests" / name
        case.mkdir(parents=True)
        (case / "bundle.yaml").write_text("rubric: mini\nassessee: {name: 测试县}\n"
                                          "period: {start: 2022-01-01, end: 2022-12-31}\n", "utf-8")
        if expected:
            (case / "expected.yaml").write_text(expected, "utf-8")
    result = runner.invoke(main, ["rubric", "test", str(rubric)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "测试用例缺少 expected.yaml" in result.output
    assert "预期结果 scores.1.1" in result.output
    assert "通过 1 例，未通过 2 例" in result.output


def test_a_rubric_is_checked_again_whenever_its_bytes_change(tmp_path: Path) -> None:
    """A clean rubric read again with the same bytes is the same rubric (not parsed again); edited in place,
    the edit is what loads; made invalid, the error is what is said, every time."""
    path = tmp_path / "细则.yaml"
    text = MINI.read_text("utf-8")
    path.write_text(text, "utf-8")
    first = load(path)
    assert load(path) is first
    path.write_text(text.replace(f"title: {first.title}", "title: 改过的细则"), "utf-8")
    assert load(path).title == "改过的细则" and first.title != "改过的细则"
    path.write_text(text.replace("total:", "totl:", 1), "utf-8")
    for _ in range(2):
        with pytest.raises(ScoringError, match="totl"):
            load(path)
