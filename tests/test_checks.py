"""Checks across indicators (tests/fixtures/checks.yaml): a failed check is refused like a bad answer, naming
both indicators; kept checks score as usual. Expected points worked out by hand from the clauses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from scoring.base.errors import ScoringError
from scoring.domain import engine
from scoring.faces.cli import main
from scoring.loading.bundle import open_bundle
from scoring.loading.rubric import load

from .conftest import FIXTURES, make_bundle

CHECKS = FIXTURES / "checks.yaml"
RUBRIC = load(CHECKS)
KEPT = {"1.1": {"residents": ["张某", "李某"]}, "1.2": {"meal_clients": ["王某", "赵某", "钱某"]},
        "1.3": {"beds": 12}, "2.1": {"meal_mode": "kitchen"},
        "2.2": {"kitchen_type": "kitchen", "food_licence": True}}


def score(tmp_path: Path, **changed: dict[str, Any]) -> engine.Result:
    return engine.score(RUBRIC, open_bundle(make_bundle(tmp_path / "b", {**KEPT, **changed}, rubric="checks_demo")))


def test_kept_checks_score_as_usual(tmp_path: Path) -> None:
    # 2 residents × 1 = 2; 3 meal clients × 0.5 = 1.5; 12 beds ≥ 10: 5; kitchen 5; licence 5: 18.5.
    assert score(tmp_path).total == 2 + 1.5 + 5 + 5 + 5


@pytest.mark.parametrize(("changed", "message"), [
    ({"1.2": {"meal_clients": ["王某", "张某"]}},
     "长期入住的老人不再计入助餐服务绩效：指标 1.1 的“长期入住老人”为 2 项（张某；李某），"
     "指标 1.2 的“助餐服务老人”为 2 项（王某；张某），“张某” 在两处都已计入"),
    ({"1.3": {"beds": 1}}, "长期入住人数不超过床位数：指标 1.1 的“长期入住老人”为 2 项（张某；李某），"
                           "指标 1.3 的“床位数”为 1 张，前者 2 多于后者 1"),
    ({"2.2": {"kitchen_type": "delivered", "food_licence": True}},
     "安全与设施两项所填助餐方式应一致：指标 2.1 的“助餐方式”为 自建厨房，指标 2.2 的“厨房设施对应的助餐方式”为 "
     "采取配餐方式，两处填报不一致"),
    ({"2.2": {"kitchen_type": "kitchen", "food_licence": False}},
     "自建厨房的须取得食品经营许可证：指标 2.1 的“助餐方式”为 自建厨房，指标 2.2 的“取得食品经营许可证”为 否，"
     "前者成立时后者也应成立"),
])
def test_a_failed_check_is_refused_naming_both(tmp_path: Path, changed: dict[str, Any], message: str) -> None:
    with pytest.raises(ScoringError) as caught:
        score(tmp_path, **changed)
    text = str(caught.value)
    assert message in text and "bundle.yaml" in text and "指标 " in text and "与指标" in text, text


def test_implies_holds_when_its_left_side_does_not(tmp_path: Path) -> None:
    # 配餐 in both: no licence needed. 2 + 1.5 + 5 + 5 (配餐) + 5 (配餐不扣分) = 18.5.
    result = score(tmp_path, **{"2.1": {"meal_mode": "delivered"},
                                "2.2": {"kitchen_type": "delivered", "food_licence": False}})
    assert result.total == 18.5


def test_an_unanswered_side_is_not_checked(tmp_path: Path) -> None:
    # 1.3 unanswered: 2 + 1.5 + 0 + 5 + 5 = 13.5, beds listed as missing.
    result = score(tmp_path, **{"1.3": {}})
    assert result.total == 13.5


@pytest.mark.parametrize(("old", "new", "message"), [
    ('{indicator: "1.3", input: beds}', '{indicator: "9.9", input: beds}', "引用了不存在的指标 “9.9”"),
    ('{indicator: "1.3", input: beds}', '{indicator: "1.3", input: bed}', "指标 1.3 没有输入 “bed”（该指标的输入有：beds）"),
    ('right: {indicator: "1.2", input: meal_clients}', 'right: {indicator: "1.3", input: beds}',
     "excludes 只用于两个列表或多选输入"),
    ('{indicator: "2.2", input: kitchen_type}', '{indicator: "2.2", input: food_licence}',
     "equal 的两边应为同一类型、同样选项的输入"),
    ("one_of: [kitchen]}", "one_of: [canteen]}", "one_of 应列出单选输入 “meal_mode” 的选项代码"),
    ('left: {indicator: "1.1", input: residents}\n    right: {indicator: "1.3"',
     'left: {indicator: "1.1", input: residents, at_least: 1}\n    right: {indicator: "1.3"',
     "one_of、at_least、at_most、value 只用于 implies"),
    ("kind: implies", "kind: implied", "取值 'implied' 无效"),
])
def test_lint_refuses_bad_checks(runner: CliRunner, tmp_path: Path, old: str, new: str, message: str) -> None:
    text = CHECKS.read_text("utf-8")
    assert old in text, old
    (tmp_path / "r.yaml").write_text(text.replace(old, new, 1), "utf-8")
    result = runner.invoke(main, ["rubric", "check", str(tmp_path / "r.yaml")])
    assert result.exit_code == 1 and message in result.output and "r.yaml" in result.output, result.output


def test_a_check_declared_to_zero_changes_the_score_instead(tmp_path: Path) -> None:
    text = CHECKS.read_text("utf-8").replace("    right: {indicator: \"1.2\", input: meal_clients}\n",
                                             "    right: {indicator: \"1.2\", input: meal_clients}\n    effect: zero\n", 1)
    assert "effect: zero" in text
    (tmp_path / "z.yaml").write_text(text, "utf-8")
    rubric = load(tmp_path / "z.yaml")
    bundle = make_bundle(tmp_path / "b", {**KEPT, "1.2": {"meal_clients": ["王某", "张某"]}}, rubric="checks_demo")
    result = engine.score(rubric, open_bundle(bundle))
    meals = next(i for i in result.indicators if i.id == "1.2")
    # 1.2 would give 2 × 0.5 = 1; 张某 is counted in 1.1 too, so 1.2 scores 0: 2 + 0 + 5 + 5 + 5 = 17.
    assert meals.score == 0 and result.total == 17
    assert meals.trace[-1].text.startswith("长期入住的老人不再计入助餐服务绩效：") and "本项不得分" in meals.trace[-1].text


# ---------------------------------------------------------------- 长期入住的老人不再计入助餐、助医……服务绩效

UNCOUNT = load(FIXTURES / "uncount.yaml")
RESIDENTS = {"1.1": {"residents": ["张某", "李某", "孙某"]},
             "1.2": {"meal_clients": ["王某", "张某", "赵某", "李某"]}, "1.3": {"medical_clients": 32}}


def test_residents_counted_once_are_not_counted_again(tmp_path: Path) -> None:
    bundle = open_bundle(make_bundle(tmp_path / "b", RESIDENTS, rubric="uncount_demo"))
    result = engine.score(UNCOUNT, bundle)
    scores = {i.id: i.score for i in result.indicators}
    # 1.1: 3 residents × 1 = 3. 1.2: 张某 and 李某 are residents, so 王某 and 赵某 count: 2 × 0.5 = 1 (not 2).
    # 1.3: 32 − 3 residents = 29 people, ≥ 20 but < 30: 5 (not 10). 3 + 1 + 5 = 9.
    assert scores == {"1.1": 3, "1.2": 1, "1.3": 5} and result.total == 9
    meals, medical = (next(i for i in result.indicators if i.id == n) for n in ("1.2", "1.3"))
    assert meals.trace[0].text == ("长期入住的老人不再计入助餐服务绩效：指标 1.1 的“长期入住老人”为 3 项（张某；李某；孙某）；"
                                   "“助餐服务老人”中的 2 项（张某；李某）已在指标 1.1 计入，不再计入本项，"
                                   "按 2 项（王某；赵某）计分")
    doc = (FIXTURES.parent.parent / "docs" / "rubric-language.md").read_text("utf-8").replace("\n", "")
    assert meals.trace[0].text in doc and "effect: uncount" in doc  # the documented example says what it does
    assert "助餐服务老人：2 项（王某；赵某），每项 0.5 分，得 1 分" in meals.trace[1].text
    assert medical.trace[0].text.endswith("“助医服务老人数”为 32 人，其中已在指标 1.1 计入的 3 不再计入本项，"
                                          "按 32 − 3 = 29 人计分")
    assert meals.own.values["meal_clients"] == ["王某", "赵某"] and medical.own.values["medical_clients"] == 29


def test_uncounting_follows_each_stage(tmp_path: Path) -> None:
    from scoring.domain.model import Override, Stage

    bundle = open_bundle(make_bundle(tmp_path / "b", RESIDENTS, rubric="uncount_demo"))
    fixed = Override("1.1", "input", "residents", ["张某"], "李某、孙某为日托", "李明", "初评")
    result = engine.score(UNCOUNT, bundle, (Stage("初评", overrides=(fixed,)),))
    # 初评: 1 resident: 1; meals 王某, 赵某, 李某: 1.5; 32 − 1 = 31 ≥ 30: 10. 1 + 1.5 + 10 = 12.5.
    assert result.total == 9 and result.final.total == 12.5
    # Nothing on the right is also on the left: the answer is scored as given, with no step.
    plain = make_bundle(tmp_path / "c", {**RESIDENTS, "1.2": {"meal_clients": ["王某"]}}, rubric="uncount_demo")
    meals = next(i for i in engine.score(UNCOUNT, open_bundle(plain)).indicators if i.id == "1.2")
    assert meals.score == 0.5 and meals.trace[0].kind != "check"


@pytest.mark.parametrize(("old", "new", "message"), [
    ("kind: excludes\n    label: 长期入住的老人不再计入助医", "kind: at_most\n    label: 长期入住的老人不再计入助医",
     "effect: uncount 只用于 excludes"),
    ('right: {indicator: "1.2", input: meal_clients}', 'right: {indicator: "1.1", input: residents}',
     "两边是同一项填报（指标 1.1 的 “residents”）"),
    ('left: {indicator: "1.1", input: residents}\n    right: {indicator: "1.2"',
     'left: {indicator: "1.3", input: medical_clients}\n    right: {indicator: "1.2"',
     "uncount 的后者为列表或多选时，前者也应为列表或多选（按项扣除）"),
])
def test_lint_refuses_an_uncount_it_cannot_do(runner: CliRunner, tmp_path: Path, old: str, new: str,
                                               message: str) -> None:
    text = (FIXTURES / "uncount.yaml").read_text("utf-8")
    assert old in text, old
    (tmp_path / "r.yaml").write_text(text.replace(old, new, 1), "utf-8")
    result = runner.invoke(main, ["rubric", "check", str(tmp_path / "r.yaml")])
    assert result.exit_code == 1 and message in result.output, result.output
