"""The language features star-rating standards need, on the center fixture: a fact shared by several
indicators, choices whose values lead to their own rule, judged deductions on a declared range and step,
and multi-select inputs counted per item. Expected points are worked out by hand from the rule text."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from scoring.base.errors import ScoringError
from scoring.domain import engine, inputs, rules
from scoring.faces.cli import main
from scoring.jobs.blank import blank_manifest
from scoring.loading.bundle import open_bundle
from scoring.loading.rubric import load
from scoring.loading.validate import schema

from .conftest import FIXTURES, make_bundle

CENTER = FIXTURES / "center.yaml"
RUBRIC = load(CENTER)


def score(tmp_path: Path, inputs: dict[str, Any], meal_mode: str | None = None, **extra: Any) -> engine.Result:
    facts = {"facts": {"meal_mode": meal_mode}} if meal_mode else {}
    bundle = make_bundle(tmp_path / "b", inputs, rubric="center_demo", **facts, **extra)
    return engine.score(RUBRIC, open_bundle(bundle))


def ind(result: engine.Result, ident: str) -> engine.IndicatorResult:
    return next(i for i in result.indicators if i.id == ident)


def refusal(tmp_path: Path, inputs: dict[str, Any], meal_mode: str | None = None, **extra: Any) -> str:
    with pytest.raises(ScoringError) as caught:
        score(tmp_path, inputs, meal_mode, **extra)
    return str(caught.value)


def lint(runner: CliRunner, tmp_path: Path, *changes: tuple[str, str]) -> str:
    text = CENTER.read_text("utf-8")
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new, 1)
    rubric = tmp_path / "r.yaml"
    rubric.write_text(text, "utf-8")
    result = runner.invoke(main, ["rubric", "check", str(rubric)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "r.yaml" in result.output
    return result.output


# ---------------------------------------------------------------- shared facts


def test_one_answer_drives_every_indicator_and_shows_in_each_trace(tmp_path: Path) -> None:
    r = score(tmp_path, {"1.3": {"meals": 60}}, "none")
    for ident in ("1.1", "1.2", "1.3"):
        i = ind(r, ident)
        assert i.score == 0  # 未开展助餐服务的此项不得分
        assert i.trace[0].reads[0].input == "meal_mode" and i.trace[0].reads[0].value == "none"
        assert "助餐方式：未开展助餐服务" in i.trace[0].text
        assert dict((inp.name, ans) for inp, ans in i.answers)["meal_mode"] is not None


def test_a_fact_answered_under_an_indicator_is_refused(tmp_path: Path) -> None:
    out = refusal(tmp_path, {"1.2": {"meal_mode": "kitchen"}}, "kitchen")
    assert "“meal_mode” 是多个指标共用的事实，不在指标 1.2 下填写" in out and "facts 中填写一次" in out
    assert "bundle.yaml" in out and "第 " in out


def test_an_unknown_fact_is_refused(tmp_path: Path) -> None:
    out = refusal(tmp_path, {}, facts={"meal_type": "kitchen"})
    assert "评分细则中没有共用事实 “meal_type”" in out and "meal_mode" in out


def test_a_bad_fact_answer_names_the_fact(tmp_path: Path) -> None:
    out = refusal(tmp_path, {}, "canteen")
    assert "共用事实 meal_mode（指标 1.1 使用）" in out and "取值 “canteen” 无效" in out
    out = refusal(tmp_path / "d", {}, facts={"meal_mode": {"value": "kitchen", "documents": ["D9"]}})
    assert "共用事实 meal_mode" in out and "文件编号 “D9”" in out


def test_a_reviewer_correcting_a_fact_corrects_it_everywhere(tmp_path: Path) -> None:
    bundle = open_bundle(make_bundle(tmp_path / "b", {"1.3": {"meals": 60}}, rubric="center_demo",
                                     facts={"meal_mode": "delivered"}))
    fix = engine.Override("1.1", "input", "meal_mode", "none", "现场核实未开展助餐服务", "市民政局")
    r = engine.score(RUBRIC, bundle, [engine.Stage("初评", overrides=(fix,))])
    # Self: 10 + 5 + 10 (60 ≥ 50); 初评, nothing served: 0 in all three.
    assert [i.scores[0].points for i in r.indicators[:3]] == [10, 5, 10]
    assert [i.final.points for i in r.indicators[:3]] == [0, 0, 0]


def test_init_counts_a_fact_once(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["init", str(CENTER), str(tmp_path / "blank")])
    assert result.exit_code == 0, result.output
    assert "5 个指标，6 个待填报输入" in result.output  # meal_mode once, then 1 + 1 + 1 + 1 + 1 of their own


def test_blank_bundle_asks_a_fact_once(tmp_path: Path) -> None:
    text = blank_manifest(RUBRIC)
    assert text.count("meal_mode:") == 1
    assert "中心以何种方式开展助餐服务？（指标 1.1、1.2、1.3使用）" in text
    assert "另按共用事实“助餐方式”（facts 中的 meal_mode）计分" in text
    (tmp_path / "blank").mkdir()
    (tmp_path / "blank" / "bundle.yaml").write_text(text, "utf-8")
    r = engine.score(RUBRIC, open_bundle(tmp_path / "blank"))
    assert r.total == 0 and ("1.1", "meal_mode") in r.missing


# ---------------------------------------------------------------- choice branches


@pytest.mark.parametrize(("taken", "words"), [
    (0, "厨房安全现场检查扣分 0：未扣分，得 10 分"),     # not "10 − 1 × 0（不低于 0 分）"
    (2, "厨房安全现场检查扣分 2：10 − 2，得 8 分"),      # a judged amount is deducted as itself
])
def test_a_judged_deduction_says_what_was_deducted(tmp_path: Path, taken: int, words: str) -> None:
    r = score(tmp_path, {"1.1": {"kitchen_deduction": {"value": taken, "reason": "现场检查"}}}, "kitchen")
    assert ind(r, "1.1").score == 10 - taken
    assert [s.text for s in ind(r, "1.1").trace if s.kind == "deduction"] == [words]


def test_a_branch_not_taken_asks_for_nothing(tmp_path: Path) -> None:
    r = score(tmp_path, {}, "delivered")
    assert (ind(r, "1.1").score, ind(r, "1.2").score) == (10, 5)  # 采取配餐方式的不扣分
    assert ind(r, "1.1").missing == () and ind(r, "1.2").missing == ()


def test_a_branch_taken_asks_for_its_inputs(tmp_path: Path) -> None:
    r = score(tmp_path / "k", {}, "kitchen")
    assert ind(r, "1.1").score == 0 and ind(r, "1.1").missing == ("kitchen_deduction",)
    # 1.3 lists no `none`: an unlisted value earns 0 and its branches' inputs are not asked.
    r = score(tmp_path / "n", {}, "none")
    assert ind(r, "1.3").score == 0 and ind(r, "1.3").missing == ()
    assert sum(s.lost for s in ind(r, "1.3").trace) == 10


def test_a_branch_trace_reads_the_choice_then_its_rule(tmp_path: Path) -> None:
    r = score(tmp_path, {"1.2": {"food_licence": False}}, "kitchen")
    first, second = ind(r, "1.2").trace
    assert first.text == "助餐方式：自建厨房，按该项细则计分" and first.lost == 0
    assert second.reads[0].input == "food_licence" and second.lost == 5


def test_reach_walk_and_steps_see_branches() -> None:
    one = RUBRIC.indicator("1.1")
    assert one is not None
    assert rules.reach(one.rule) == 10  # the best single branch, never their sum
    assert [n["kind"] for n in rules.walk(one.rule)] == ["choice", "deduction"]
    assert rules.granularity(one.rule) == 1 and rules.step_of(one) == 1
    star = load(FIXTURES / "star.yaml").indicator("2.2")
    assert star is not None and rules.step_of(star) is None  # a judged deduction with no step stays free


# ---------------------------------------------------------------- judged deductions


@pytest.mark.parametrize("amount", [Decimal("1.5"), 4])
def test_judged_deduction_off_step_or_range_is_refused(tmp_path: Path, amount: object) -> None:
    answer = {"value": amount, "reason": "现场检查发现问题"}
    out = refusal(tmp_path, {"1.1": {"kitchen_deduction": answer}}, meal_mode="kitchen")
    assert "指标 1.1 输入 kitchen_deduction" in out and "bundle.yaml" in out and "第 " in out
    assert "应在 0 至 3 分之间，且为 1 分的整数倍" in out


def test_judged_deduction_is_checked_on_a_branch_not_taken(tmp_path: Path) -> None:
    out = refusal(tmp_path, {"1.1": {"kitchen_deduction": {"value": 5, "reason": "x"}}}, meal_mode="delivered")
    assert "扣分 5 无效" in out


def test_reviewer_score_keeps_to_the_declared_step(tmp_path: Path) -> None:
    bundle = open_bundle(make_bundle(tmp_path / "b", {}, rubric="center_demo"))
    bad = engine.Override("1.1", "score", "", Decimal("7.5"), "复核", "市民政局")
    with pytest.raises(ScoringError, match="且为 1 分的整数倍"):
        engine.check_override(RUBRIC, bundle, bad)


# ---------------------------------------------------------------- multi-select inputs


@pytest.mark.parametrize(("value", "message"), [
    (["culture", "dancing"], "“dancing” 不是可选项"),
    (["culture", "sports", "culture"], "“文化娱乐” 重复出现"),
    ("文化娱乐、跳舞", "“跳舞” 不是可选项"),
    ("culture、文化娱乐", "“文化娱乐” 重复出现"),
    ([1, 2], "应为所选项的列表"),
])
def test_multi_refuses_unknown_duplicate_and_non_list(tmp_path: Path, value: object, message: str) -> None:
    out = refusal(tmp_path, {"2.1": {"activities": value}})
    assert message in out and "指标 2.1 输入 activities" in out


def test_multi_refusal_names_the_options(tmp_path: Path) -> None:
    assert "可选：文化娱乐（culture）、体育健身（sports）" in refusal(tmp_path, {"2.1": {"activities": ["x"]}})


def test_multi_is_counted_and_capped(tmp_path: Path) -> None:
    every = ["culture", "sports", "education", "health", "volunteer", "outing"]
    r = score(tmp_path, {"2.1": {"activities": every}, "2.2": {"services": ["bath", "medical"]}})
    assert ind(r, "2.1").score == 100  # 6 × 20 = 120, capped at 100
    assert "封顶 100 分" in ind(r, "2.1").trace[0].text and "文化娱乐" in ind(r, "2.1").trace[0].text
    assert ind(r, "2.2").score == 10  # 2 items: at least 1, short of 3
    # The level's count and its unit word are set apart as a listed count is ("达到 1 项", not "达到 1项").
    assert "提供的服务项目 2 项（助浴；助医），达到 1 项，得 10 分" in ind(r, "2.2").trace[0].text


def test_multi_takes_labels_and_one_line(tmp_path: Path) -> None:
    by_code = score(tmp_path / "a", {"2.1": {"activities": ["culture", "sports"]}})
    by_label = score(tmp_path / "b", {"2.1": {"activities": "文化娱乐、体育健身"}})
    mixed = score(tmp_path / "c", {"2.1": {"activities": ["文化娱乐", "sports"]}})
    assert ind(by_code, "2.1").score == ind(by_label, "2.1").score == ind(mixed, "2.1").score == 40  # 2 × 20


def test_blank_bundle_lists_multi_options() -> None:
    text = blank_manifest(RUBRIC)
    assert "可多选，逐项列出所选项（名称或代码），每项一行：- 选项，或写在一行中用“、”分隔：culture = 文化娱乐；sports = 体育健身" in text


# ---------------------------------------------------------------- lint


@pytest.mark.parametrize(("changes", "message"), [
    ([("max: 3, step: 1", "max: 3, step: 2")], "扣分上限 3 不是步长 2 的整数倍"),
    ([("  - {fact: meal_mode}\n", "  - {fact: meal_way}\n")], "指标 1.1：引用了未声明的共用事实 “meal_way”"),
    ([("food_licence, label", "meal_mode, label"), ("input: food_licence", "input: meal_mode")],
     "指标 1.2：输入 “meal_mode” 与共用事实同名"),
    ([("name: meals, label", "name: meal_mode, label")], "指标 1.3：输入 “meal_mode” 与共用事实同名"),
    ([("facts:  # asked", "facts:\n  - {name: has_bath, label: 助浴, prompt: 是否助浴？, type: bool}\n  # asked")],
     "共用事实 has_bath：共用事实 “has_bath” 没有任何指标使用"),
    ([("  - {fact: meal_mode}\n", "  - {fact: meal_mode, label: 方式}\n")], "不认识的键 “label”"),
    ([("facts:  # asked", "facts:\n  - {name: meal_mode, label: 助餐, prompt: 助餐？, type: bool}\n  # asked")],
     "共用事实 “meal_mode” 重复声明"),
    ([("type: score,", "type: integer,")],
     "扣分的 max 和 step 只用于酌情扣分（score 类型的输入），“kitchen_deduction” 是 integer 类型"),
    ([("each: 20, cap: 100", "each: 10, cap: 100")], "共 6 个可选项，每项 10 分，最多 60 分，达不到封顶 100 分"),
    ([("{at: 3, points: 20}", "{at: 5, points: 20}")], "目标 5 项多于输入 “services” 的可选项数 4，无法达到"),
    ([("input: food_licence, points: 5", "input: food_license, points: 5")], "未声明的输入 “food_license”"),
    ([("input: food_licence, points: 5", "input: food_licence, points: 6")], "flag 规则的分值 6 超过指标分值 5"),
    ([("base: 10, max: 3", "base: 8, max: 3"), ("delivered: 10", "delivered: 9")],
     "规则最高只能得 9 分，低于指标分值 10 分"),
    ([("kitchen: {kind: flag", "kitchen: {kind: tier")], "rule.points.kitchen.points：类型错误"),
    ([("            none: 0\n", "            none: lots\n")], "类型错误"),
    ([("type: multi\n            unit: 类\n            values:", "type: multi\n            unit: 类\n            valuez:")],
     "缺少必填项 “values”"),
])
def test_lint_refusals(runner: CliRunner, tmp_path: Path, changes: list[tuple[str, str]], message: str) -> None:
    assert message in lint(runner, tmp_path, *changes)


def test_every_input_type_is_in_the_schema_and_the_docs() -> None:
    assert set(schema("rubric")["$defs"]["input"]["properties"]["type"]["enum"]) == set(inputs.TYPES)
    doc = (FIXTURES.parent.parent / "docs" / "rubric-language.md").read_text("utf-8")
    for name in inputs.TYPES:
        assert f"| `{name}` |" in doc, name


def test_fixture_is_clean(runner: CliRunner) -> None:
    result = runner.invoke(main, ["rubric", "check", str(CENTER), "--strict"])
    assert result.exit_code == 0, result.output
