"""Star bands (tests/fixtures/bands.yaml, cases worked by hand in bands.tests/): lint refusals, the band and
what held the result back in the table, the JSON and the report, and bands under a review."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from scoring.faces.cli import main

from .conftest import FIXTURES
from .test_report import pdf_text

BANDS = FIXTURES / "bands.yaml"
CASES = FIXTURES / "bands.tests"


def lint(tmp_path: Path, old: str, new: str) -> str:
    text = BANDS.read_text("utf-8")
    assert old in text, old
    rubric = tmp_path / "r.yaml"
    rubric.write_text(text.replace(old, new, 1), "utf-8")
    result = CliRunner().invoke(main, ["rubric", "check", str(rubric)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "r.yaml" in result.output and "星级（bands）" in result.output
    return result.output


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("      min_total: 80\n", "      min_total: 95\n", "星级应从高到低排列"),
    ("    - name: 四星\n", "    - name: 五星\n", "星级 “五星” 重复"),
    ("      min_total: 90\n", "      min_total: 120\n", "超过满分 100 分，无法达到"),
    ('category_min: {"1": 40, "2": 40}', 'category_min: {"1": 40, "9": 40}', "不存在的一级指标 “9”"),
    ("{fact: floor_area, at_least: 1000,", "{fact: floor_space, at_least: 1000,", "未声明的共用事实 “floor_space”"),
    ("{fact: safety_accident, label:", "{fact: safety_accident, at_least: 1, label:", "是否类事实"),
    ("{fact: functions, all: true,", "{fact: floor_area, all: true,", "all 只能用于多选事实"),
    ("{fact: floor_area, at_least: 1000,", "{fact: floor_area, one_of: [big],", "one_of 应列出单选事实"),
    ("{fact: functions, all: true,", "{fact: functions,", "请用 at_least、at_most、one_of 或 all"),
    ("requested: requested_band", "requested: floor_area", "申请星级 requested 应为一个单选"),
    ("{value: five, label: 五星}", "{value: five, label: 六星}", "申请星级 requested 应为一个单选"),
])
def test_lint_refuses_bad_bands(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert expected in lint(tmp_path, old, new)


def test_category_min_over_100_is_refused_by_the_schema(tmp_path: Path) -> None:
    text = BANDS.read_text("utf-8").replace("category_min: 60", "category_min: 160")
    (tmp_path / "r.yaml").write_text(text, "utf-8")
    result = CliRunner().invoke(main, ["rubric", "check", str(tmp_path / "r.yaml")])
    assert result.exit_code == 1 and "category_min" in result.output


def score(case: str, *extra: str) -> dict:  # type: ignore[type-arg]
    result = CliRunner().invoke(main, ["score", str(CASES / case), "--rubric", str(BANDS), "--format", "json", *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_the_json_names_the_band_and_what_held_it_back() -> None:
    verdict = score("three_held_by_points_and_part")["verdict"]
    # 60 + 19 = 79: 三星; 四星 needs 80 (1 short) and 服务 ≥ 50% of 40 = 20.
    assert (verdict["band"], verdict["next"], verdict["passed"], verdict["text"]) == ("三星", "四星", True, "三星")
    assert verdict["held"] == ["总分 79 分，低于四星要求的 80 分（差 1 分）",
                               "一级指标“服务”得分 19 分，低于四星要求的 50%（20 分）"]
    top = score("five")["verdict"]
    assert (top["band"], top["next"], top["held"]) == ("五星", None, [])
    vetoed = score("veto")["verdict"]
    assert (vetoed["band"], vetoed["next"], vetoed["passed"], vetoed["text"]) == (None, "三星", False, "未达到星级")


def test_a_band_applied_for_is_checked() -> None:
    verdict = score("requested_higher")["verdict"]
    assert (verdict["requested"], verdict["band"], verdict["next"], verdict["passed"]) == ("五星", "四星", "五星", False)
    assert verdict["text"] == "申请五星，未达到五星条件；评定为四星"


def test_the_table_lists_the_reasons() -> None:
    result = CliRunner().invoke(main, ["score", str(CASES / "missing_function"), "--rubric", str(BANDS)])
    assert result.exit_code == 0, result.output
    assert "结论：四星\n未达到五星的原因：\n  - 五星前提条件“助餐、助浴、日托三项功能齐全”未满足（2 项（助餐；日托））" in result.output


def test_a_reviewer_correcting_an_answer_moves_the_band(tmp_path: Path) -> None:
    from scoring.loading.bundle import open_bundle

    sha = open_bundle(CASES / "five").sha256
    review = tmp_path / "r.yaml"
    review.write_text(f"stage: 初评\nreviewer: 张伟\nunit: 评定委员会\ndate: 2024-01-10\nrubric: bands_demo\n"
                      f"bundle_sha256: \"{sha}\"\nentries:\n  \"2.1\":\n    - score: 30\n"
                      "      reason: 现场抽查服务记录不全。\n", "utf-8")
    data = score("five", "--review", str(review))
    # 58 + 30 = 88 < 90: 四星 at the 初评; the self-assessment stays 五星.
    assert data["verdict"]["band"] == "五星"
    assert (data["reviews"][0]["total"], data["reviews"][0]["verdict"]["band"]) == (88, "四星")
    assert data["reviews"][0]["verdict"]["held"] == ["总分 88 分，低于五星要求的 90 分（差 2 分）"]


def test_the_report_is_a_rating_report_with_the_band(tmp_path: Path) -> None:
    out = tmp_path / "r.pdf"
    result = CliRunner().invoke(main, ["report", str(CASES / "missing_function"), "--rubric", str(BANDS),
                                       "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = pdf_text(out)
    assert "示例养老服务中心星级评定报告" in text.replace("\n", "")
    assert "（二）星级评定结果按自评得分，达到四星。评定规则：按总分评定等级（五星" in text
    assert "），并须满足该等级的其他条件。未达到五星的原因：" in text
    assert "五星前提条件“助餐、助浴、日托三项功能齐全”未满足" in text
    for county in ("创建", "示范", "自评结论", "强制性"):
        assert county not in text


def test_the_json_follows_the_published_schema() -> None:
    import jsonschema

    from scoring.loading.validate import schema

    jsonschema.Draft202012Validator(schema("result")).validate(score("requested_higher"))


def test_rubric_show_lists_the_bands() -> None:
    result = CliRunner().invoke(main, ["rubric", "show", str(BANDS)])
    assert result.exit_code == 0, result.output
    assert "  五星：总分 ≥ 90；各一级指标得分率 1 ≥ 60%、2 ≥ 60%；建筑面积不少于1000平方米；助餐、助浴、日托三项功能齐全" \
        in result.output
    assert "  一票否决：评定周期内发生安全责任事故" in result.output


def test_the_blank_bundle_says_which_facts_the_bands_read(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["init", str(BANDS), str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "b" / "bundle.yaml").read_text("utf-8")
    assert "中心建筑面积多少平方米？（星级评定条件使用）" in text
    assert "  # id: 编号" in text and "  # district: 区（市）" in text
