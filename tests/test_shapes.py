"""Clauses other cities' star standards word awkwardly, made plain data (the station fixture), and keys a
rule kind does not use refused or honoured. Expected points are worked out by hand from the clause text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from scoring.domain import engine
from scoring.faces.cli import main
from scoring.loading.bundle import open_bundle
from scoring.loading.rubric import load

from .conftest import FIXTURES, make_bundle

STATION = FIXTURES / "station.yaml"
RUBRIC = load(STATION)
CLEAN = {"1.1": {"accident": "none"}, "1.2": {"failed_items": []},
         "2.1": {"points": {"value": 50, "reason": "现场评定"}}}


def score(tmp_path: Path, inputs: dict[str, Any], **facts: Any) -> engine.Result:
    bundle = make_bundle(tmp_path / "b", {**CLEAN, **inputs}, rubric="station_demo", facts=facts)
    return engine.score(RUBRIC, open_bundle(bundle))


def ind(result: engine.Result, ident: str) -> engine.IndicatorResult:
    return next(i for i in result.indicators if i.id == ident)


def check(runner: CliRunner, tmp_path: Path, *changes: tuple[str, str], strict: bool = False) -> str:
    text = STATION.read_text("utf-8")
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new, 1)
    rubric = tmp_path / "r.yaml"
    rubric.write_text(text, "utf-8")
    result = runner.invoke(main, ["rubric", "check", str(rubric), *(["--strict"] if strict else [])])
    assert "Traceback" not in result.output
    return result.output


# ---------------------------------------------------------------- 20 分，发生责任事故不得分


@pytest.mark.parametrize(("accident", "expected"), [
    ("none", 20),       # 未发生事故：20 分
    ("other", 20),      # 非责任事故不是 equals 的值：20 分
    ("liability", 0),   # 发生责任事故不得分
    (None, 0),          # 未填报：无法排除否决情形
])
def test_fixed_points_under_a_veto_on_one_choice(tmp_path: Path, accident: str | None, expected: int) -> None:
    i = ind(score(tmp_path, {"1.1": {"accident": accident}}), "1.1")
    assert i.score == expected
    if accident == "liability":
        assert "评定周期内的事故：发生责任事故，一票否决，本项不得分" in i.trace[-1].text
    if accident == "none":
        assert [s.text for s in i.trace] == ["安全责任：得 20 分"]


def test_veto_equals_false_vetoes_a_no(tmp_path: Path) -> None:
    """`equals: false` on a yes/no input vetoes exactly when the answer is no (未落实……不得分)."""
    text = STATION.read_text("utf-8").replace(
        "          - name: accident\n", "          - {name: duty_done, label: 落实安全责任制, prompt: 是否落实？, type: bool}\n"
        "          - name: accident\n").replace("input: accident\n          equals: liability",
                                               "input: duty_done\n          equals: false")
    path = tmp_path / "s.yaml"
    path.write_text(text, "utf-8")
    rubric = load(path)
    for done, expected in ((True, 20), (False, 0)):
        bundle = make_bundle(tmp_path / str(done), {**CLEAN, "1.1": {"duty_done": done, "accident": "none"}},
                             rubric="station_demo")
        assert ind(engine.score(rubric, open_bundle(bundle)), "1.1").score == expected


# ---------------------------------------------------------------- 每有一项不符合要求扣 n 分


@pytest.mark.parametrize(("failed", "expected"), [
    ([], 20),                                           # 无不符合项
    (["extinguishers"], 15),                            # 20 − 5
    (["exits"], 10),                                    # 20 − 10（疏散通道的权重）
    (["extinguishers", "exits", "drills"], 0),          # 20 − 5 − 10 − 5 = 0
    (["extinguishers", "exits", "alarms", "drills"], 0),  # 20 − 25 → 不低于 0
])
def test_deduction_over_failed_items_each_with_its_weight(tmp_path: Path, failed: list[str], expected: int) -> None:
    assert ind(score(tmp_path, {"1.2": {"failed_items": failed}}), "1.2").score == expected


def test_weighted_deduction_names_each_item(tmp_path: Path) -> None:
    i = ind(score(tmp_path, {"1.2": {"failed_items": ["extinguishers", "exits"]}}), "1.2")
    assert i.trace[0].text == "消防安全不符合要求的项目：20 − 5（灭火器配置） − 10（疏散通道），得 5 分"
    assert ind(score(tmp_path / "n", {}), "1.2").trace[0].text == "消防安全不符合要求的项目：无不符合项，得 20 分"


# ---------------------------------------------------------------- 满足所申请星级的必备项


@pytest.mark.parametrize(("points", "asked", "met", "band"), [
    (50, "three", True, "三星"),    # 20 + 20 + 50 = 90 ≥ 80，所申请的三星必备项满足
    (50, "three", False, "二星"),   # 三星必备项不满足；二星未申请，不受该条件约束，90 ≥ 60
    (30, "two", False, None),       # 20 + 20 + 30 = 70：三星差 10 分；所申请的二星必备项不满足
    (50, None, True, "三星"),        # 未申请：条件约束每个星级，满足，90 ≥ 80
    (50, None, False, None),        # 未申请：条件约束每个星级，不满足
])
def test_a_prerequisite_for_the_band_applied_for(tmp_path: Path, points: int, asked: str | None, met: bool,
                                                   band: str | None) -> None:
    facts = {"requisites_met": met, **({"requested_band": asked} if asked else {})}
    result = score(tmp_path, {"2.1": {"points": {"value": points, "reason": "现场评定"}}}, **facts)
    assert result.total == 40 + points
    assert result.own.verdict.band == band


# ---------------------------------------------------------------- nothing silently ignored


@pytest.mark.parametrize(("changes", "message"), [
    ([("          equals: liability\n", "")],
     "输入 “accident” 是单选，需用 equals 写明哪个选项一票否决（可选值：none、other、liability），如 equals: none"),
    ([("equals: liability", "equals: fatal")],
     "equals 的值 “fatal” 不是输入 “accident” 的可选值（可选值：none、other、liability）"),
    ([("{kind: fixed, points: 20, label: 安全责任}", "{kind: sum, label: 安全责任, parts: [{kind: fixed, points: 20}]}")],
     "不认识的键 “label”"),
    ([("{kind: fixed, points: 20, label: 安全责任}", "{kind: fixed, points: 20, input: accident}")],
     "不认识的键 “input”"),
    ([("weights: {exits: 10}", "weights: {exit: 10}")],
     "weights 中的 “exit” 不是输入 “failed_items” 的可选值（可选值：extinguishers、exits、alarms、drills）"),
    ([("input: points, max: 60, step: 1}", "input: points, max: 60, step: 1, equals: 60}")],
     "不认识的键 “equals”"),
    ([("  requested: requested_band\n", "")],
     "写了 requested: true（只就所申请的星级评定），但 bands 未声明 requested"),
    ([("  none: 未达到星级\n", "  none: 未达到星级\n  veto:\n    - {fact: requisites_met, requested: true, label: 必备}\n")],
     "否决条件 “必备” 不能写 requested"),
    ([("label: 评定周期内的事故\n", "label: 评定周期内的事故\n            unit: 次\n")],
     "输入 “accident” 是 choice 类型，unit 只用于数值、分数、多选和列表；请删去"),
    ([("type: multi\n            unit: 项\n", "type: multi\n            unit: 项\n            max: 4\n")],
     "输入 “failed_items” 是 multi 类型，min 和 max 只用于 number、integer、score；计数请用 threshold 的 target"),
    ([("type: bool}", "type: bool, max: 1}")],
     "共用事实 requisites_met：输入 “requisites_met” 是 bool 类型，min 和 max 只用于 number、integer、score；请删去"),
])
def test_unused_or_misfitting_keys_are_refused(runner: CliRunner, tmp_path: Path, changes: list[tuple[str, str]],
                                               message: str) -> None:
    out = check(runner, tmp_path, *changes)
    assert message in out and "r.yaml" in out, out


def test_weights_need_a_multi_select(runner: CliRunner, tmp_path: Path) -> None:
    text = (FIXTURES / "mini.yaml").read_text("utf-8")
    old = "{kind: deduction, input: cases, base: 1, each: 0.3}"
    assert old in text
    rubric = tmp_path / "m.yaml"
    rubric.write_text(text.replace(old, "{kind: deduction, input: cases, base: 1, each: 0.3, weights: {a: 1}}"),
                      "utf-8")
    out = runner.invoke(main, ["rubric", "check", str(rubric)]).output
    assert "weights 只用于多选（multi）输入的不符合项，“cases” 是 integer 类型；按件数扣分请用 each" in out


def test_a_band_line_that_can_never_bind_warns(runner: CliRunner, tmp_path: Path) -> None:
    """GB/T 37276's shape: a grade's line at 360 of 1000 when 40% of every part already sums to 400. Here
    二星 at 30 with each part at 40%: 40% × 40 + 40% × 60 = 16 + 24 = 40 ≥ 30, so the line never binds."""
    change = ("      min_total: 60\n", "      min_total: 30\n      category_min: 40\n")
    loose = check(runner, tmp_path, change)
    assert "警告" in loose and "“二星” 的总分线 30 分不起作用：各一级指标达到最低得分率时合计已有 40 分" in loose
    assert "检查通过" in loose
    strict = check(runner, tmp_path, change, strict=True)
    assert "错误" in strict and "不起作用" in strict and "检查通过" not in strict
    # 40% of each part (40 points) below a 60-point line binds: no warning.
    assert "不起作用" not in check(runner, tmp_path, ("      min_total: 60\n", "      min_total: 60\n      category_min: 40\n"))


def test_a_choice_branch_that_cannot_reach_the_maximum_warns(runner: CliRunner, tmp_path: Path) -> None:
    """A branch's own rule at 15 where the choice gives 20 at best (a base written wrong)."""
    change = ("          equals: liability\n          rule: {kind: fixed, points: 20, label: 安全责任}",
              "          equals: liability\n          rule:\n            kind: choice\n            input: accident\n"
              "            points: {none: 20, other: {kind: fixed, points: 15}}")
    out = check(runner, tmp_path, change)
    assert "分档 “other” 的细则最高只能得 15 分，达不到本项最高的 20 分" in out and "警告" in out
    assert "检查通过" not in check(runner, tmp_path, change, strict=True)


@pytest.mark.parametrize("rubric", ["gaoqing_2022", "qingdao_center_stars", str(STATION)])
def test_shipped_rubrics_pass_strict(runner: CliRunner, rubric: str) -> None:
    result = runner.invoke(main, ["rubric", "check", rubric, "--strict"])
    assert result.exit_code == 0, result.output


# ---------------------------------------------------------------- authoring messages


def test_a_rule_misfit_is_one_message_at_the_rule_line_with_the_way_round(runner: CliRunner, tmp_path: Path) -> None:
    out = check(runner, tmp_path, ("rule: {kind: fixed, points: 20, label: 安全责任}",
                                   "rule: {kind: flag, input: accident, points: 20}"))
    line = next(k for k, text in enumerate(STATION.read_text("utf-8").splitlines(), 1) if "kind: fixed" in text)
    assert out.count("错误：文件") == 1, out
    assert (f"第 {line} 行，指标 1.1：规则 flag 不能使用 choice 类型的输入 “accident”：flag 可用的输入类型为 bool；"
            "choice 类型的输入通常用 choice、veto、gate") in out


def test_a_percent_written_as_text_is_one_message_with_the_way_round(runner: CliRunner, tmp_path: Path) -> None:
    out = check(runner, tmp_path, ("      min_total: 60\n", "      min_total: 60\n      category_min: \"40%\"\n"))
    assert out.count("错误：文件") == 1, out
    assert "category_min：类型错误：应为数字或映射（键: 值），实际为 '40%'（百分比只写数字，不带 %：如 40）" in out
