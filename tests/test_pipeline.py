"""The refactored pipeline end to end: reviewing stages and their overrides, the verdict a rubric
declares, the trace as data, the CSV output, and the judged-step and gate fixes.

Every expected figure is worked out by hand from the fixture rubric's rules (the comments show the sums).
"""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator

from scoring.base.errors import ScoringError
from scoring.domain import engine
from scoring.domain.model import Bundle, Override, Rubric, Stage
from scoring.domain.results import IndicatorResult, Result
from scoring.faces.cli import main
from scoring.loading.bundle import open_bundle
from scoring.loading.rubric import load
from scoring.loading.validate import schema
from scoring.papers.outputs import names, render

from .conftest import FIXTURES, GAOQING, MINI, make_bundle

STAR = FIXTURES / "star.yaml"
RUBRIC = load(MINI)
REVIEWER = "市民政局 张三"
CHECKER = "省民政厅 李四"

DOCS = {"D1": ("documents/meeting.txt", "联席会议制度".encode(), "2022-03-01"),
        "D2": ("documents/policy.txt", "综合性文件".encode(), "2021-03-01")}

# A full mini bundle, every claim backed by a document dated in its window.
FULL: dict[str, Any] = {
    "1.1": {"meeting": {"value": True, "documents": ["D1"]}, "convener": "principal"},  # 2 + 2 = 4
    "1.2": {"cases": 1, "policies": ["养老服务补贴办法", "床位运营补贴办法"],
            "quality": {"value": Decimal("1.5"), "reason": "补助标准较高"}},  # (1 − 0.3 × 1) + 0.5 × 2 + 1.5 = 3.2
    "2.1": {"coverage": {"value": 100, "documents": ["D1"]}},  # 100 ≥ 100: 2
    "2.2": {"met": True, "accident": False},  # no accident, met: 2
    "2.3": {"policy": {"value": True, "documents": ["D2"]}, "level": "fair"},  # 2 + fair 2 = 4
}
FULL_TOTAL = Decimal("15.2")  # 4 + 3.2 + 2 + 2 + 4


def bundle_of(tmp_path: Path, inputs: dict[str, Any] = FULL, name: str = "b", **kw: Any) -> Bundle:
    return open_bundle(make_bundle(tmp_path / name, inputs, documents=kw.pop("documents", DOCS), **kw))


def ind(result: Result, ident: str) -> IndicatorResult:
    return next(i for i in result.indicators if i.id == ident)


def first_stage(*overrides: Override) -> Stage:
    return Stage("初评", author=REVIEWER, unit="某某市民政局", date="2023-03-01", overrides=overrides)


def correct(indicator: str, target: str, value: Any, author: str = REVIEWER) -> Override:
    return Override(indicator, "input", target, value, "经现场核实更正", author)


def set_score(indicator: str, value: Any, author: str = REVIEWER) -> Override:
    return Override(indicator, "score", "", value, "按现场检查情况酌定", author)


def reject(indicator: str, document: str) -> Override:
    return Override(indicator, "reject", document, None, "文件未加盖公章", REVIEWER)


def invoke(runner: CliRunner, *args: str | Path) -> Any:
    return runner.invoke(main, [str(a) for a in args])


def score_json(runner: CliRunner, *args: str | Path) -> dict[str, Any]:
    result = invoke(runner, "score", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    Draft202012Validator(schema("result")).validate(data)
    return data


# ---------------------------------------------------------------- 1. overrides


def test_the_full_bundle_scores_as_worked_by_hand(tmp_path: Path) -> None:
    # The baseline the override tests start from.
    r = engine.score(RUBRIC, bundle_of(tmp_path))
    assert [i.score for i in r.indicators] == [4, Decimal("3.2"), 2, 2, 4]
    assert [i.supported_score for i in r.indicators] == [4, Decimal("3.2"), 2, 2, 4]
    assert (r.total, r.own.supported_total) == (FULL_TOTAL, FULL_TOTAL)
    assert r.own.verdict.passed  # 3 mandatory indicators at full marks, 15.2 ≥ 10


def test_input_correction_reruns_the_rule_at_that_stage_only(tmp_path: Path) -> None:
    r = engine.score(RUBRIC, bundle_of(tmp_path), chain=[first_stage(correct("1.1", "convener", "leader"))])
    i = ind(r, "1.1")
    assert i.score == 4  # the self-score: 2 + principal 2
    assert [s.stage for s in i.scores] == ["自评", "初评"]
    assert i.scores[1].points == 3  # 2 + leader 1
    assert i.scores[1].supported == 3  # the meeting is still backed by D1; the corrected answer is the reviewer's
    assert any("负责同志，得 1 分" in s.text for s in i.scores[1].trace)
    override_steps = [s for s in i.scores[1].trace if s.kind == "override"]
    assert len(override_steps) == 1
    assert "初评更正“召集人”" in override_steps[0].text and REVIEWER in override_steps[0].text
    assert [o.target for o in i.scores[1].overrides] == ["convener"]
    # Totals per stage: 15.2 self, 15.2 − 1 = 14.2 at 初评.
    assert [s.stage for s in r.stages] == ["自评", "初评"]
    assert r.stages[0].total == FULL_TOTAL
    assert r.stages[1].total == Decimal("14.2")
    # 1.1 is mandatory: short of full marks at 初评, so 初评's verdict fails while the self-assessment passes.
    assert r.stages[0].verdict.passed
    assert not r.stages[1].verdict.passed
    assert r.stages[1].verdict.reasons == ("强制性指标未达标 1 项：1.1",)
    assert r.stages[1].mandatory.failures == ("1.1",)


def test_set_score_carries_reason_and_author_into_the_trace(tmp_path: Path) -> None:
    r = engine.score(RUBRIC, bundle_of(tmp_path), chain=[first_stage(set_score("1.2", Decimal("2.5")))])
    i = ind(r, "1.2")
    assert i.score == Decimal("3.2")
    assert (i.scores[1].points, i.scores[1].supported) == (Decimal("2.5"), Decimal("2.5"))
    last = i.scores[1].trace[-1]
    assert last.kind == "override" and last.points == Decimal("2.5")
    assert [s.kind for s in i.scores[1].trace[:-1]] == [s.kind for s in i.trace]  # the rule's own steps first
    assert "初评" in last.text and "2.5 分" in last.text
    assert "按现场检查情况酌定" in last.text and REVIEWER in last.text
    assert not any(s.kind == "override" for s in i.trace)  # nothing of it in the self-score
    assert r.stages[1].total == Decimal("14.5")  # 15.2 − 3.2 + 2.5


@pytest.mark.parametrize(("indicator", "value"), [
    ("1.1", Decimal("2.5")),   # 1.1's amounts 2, 2, 1: step 1
    ("1.1", 5),                # above 1.1's max 4
    ("1.2", Decimal("2.55")),  # 1.2's amounts 1, 0.3, 0.5, 2, 3, 0.5: step 0.1
    ("1.2", Decimal("6.1")),   # above 1.2's max 6
    ("2.1", 1),                # 2.1 gives 0 or 2: step 2
    ("2.2", -2),               # below 0
])
def test_set_score_off_step_or_out_of_range_is_refused(tmp_path: Path, indicator: str, value: Any) -> None:
    with pytest.raises(ScoringError, match="评审得分") as exc:
        engine.score(RUBRIC, bundle_of(tmp_path), chain=[first_stage(set_score(indicator, value))])
    assert exc.value.where == f"指标 {indicator}"


@pytest.mark.parametrize(("indicator", "value"), [
    ("1.1", 3), ("1.1", 0), ("1.1", 4), ("1.2", Decimal("0.1")), ("1.2", 6), ("2.1", 0), ("2.1", 2)])
def test_set_score_on_step_and_in_range_is_accepted(tmp_path: Path, indicator: str, value: Any) -> None:
    r = engine.score(RUBRIC, bundle_of(tmp_path), chain=[first_stage(set_score(indicator, value))])
    assert ind(r, indicator).scores[1].points == Decimal(value)


def test_rejected_document_makes_its_claims_unsupported_at_that_stage(tmp_path: Path) -> None:
    r = engine.score(RUBRIC, bundle_of(tmp_path), chain=[first_stage(reject("1.1", "D1"))])
    i = ind(r, "1.1")
    # The self-score is untouched: 4 points, all supported, no flag.
    assert (i.score, i.supported_score) == (Decimal(4), Decimal(4))
    assert not i.flags
    # At 初评 the claimed points stand, but without D1 the meeting (2) is unsupported, and the convener bonus
    # behind the meeting's gate (2) with it: supported 0.
    at = i.scores[1]
    assert (at.points, at.supported) == (Decimal(4), Decimal(0))
    assert [(f.code, f.input) for f in at.flags] == [("rejected", "meeting")]
    assert any(s.kind == "override" and "D1" in s.text for s in at.trace)
    assert (r.stages[1].total, r.stages[1].supported_total) == (FULL_TOTAL, Decimal("11.2"))  # 15.2 − 4
    assert r.stages[0].supported_total == FULL_TOTAL
    assert r.stages[1].mandatory.unsupported == ("1.1",)


def test_later_stage_correction_drops_an_earlier_set_score(tmp_path: Path) -> None:
    chain = [first_stage(set_score("1.1", 3), set_score("1.2", Decimal("2.5"))),
             Stage("验收", author=CHECKER, overrides=(correct("1.1", "convener", "none", CHECKER),))]
    r = engine.score(RUBRIC, bundle_of(tmp_path), chain=chain)
    one = ind(r, "1.1")
    # self 2 + 2 = 4; 初评 sets 3; 验收 corrects the convener to 其他, which drops 初评's 3: 2 + 0 = 2.
    assert [s.points for s in one.scores] == [4, 3, 2]
    assert not any("定为" in s.text for s in one.scores[2].trace)
    assert any("验收更正“召集人”" in s.text for s in one.scores[2].trace)
    # 1.2 is not touched at 验收: 初评's 2.5 stands there.
    assert [s.points for s in ind(r, "1.2").scores] == [Decimal("3.2"), Decimal("2.5"), Decimal("2.5")]
    # 15.2; 3 + 2.5 + 2 + 2 + 4 = 13.5; 2 + 2.5 + 2 + 2 + 4 = 12.5
    assert [s.total for s in r.stages] == [FULL_TOTAL, Decimal("13.5"), Decimal("12.5")]
    assert [s.stage for s in r.stages] == ["自评", "初评", "验收"]


def test_an_earlier_correction_carries_into_a_later_stage(tmp_path: Path) -> None:
    chain = [first_stage(correct("1.1", "convener", "leader")),
             Stage("验收", author=CHECKER, overrides=(set_score("1.2", 3, CHECKER),))]
    r = engine.score(RUBRIC, bundle_of(tmp_path), chain=chain)
    assert [s.points for s in ind(r, "1.1").scores] == [4, 3, 3]
    assert ind(r, "1.1").scores[2].overrides == ()  # 验收 made no change to 1.1 itself
    assert [s.points for s in ind(r, "1.2").scores] == [Decimal("3.2"), Decimal("3.2"), 3]
    assert [s.total for s in r.stages] == [FULL_TOTAL, Decimal("14.2"), Decimal("14")]


def test_merge_rules() -> None:
    set3 = set_score("1.1", 3)
    leader = correct("1.1", "convener", "leader")
    none = correct("1.1", "convener", "none")
    rej = reject("1.1", "D1")
    assert engine.merge((set3,), (leader,)) == (leader,)  # a correction drops an earlier set score
    assert engine.merge((set3,), (rej,)) == (rej,)  # so does a rejection
    assert engine.merge((leader,), (none,)) == (none,)  # a later correction of the same input replaces
    assert engine.merge((leader, rej), ()) == (leader, rej)  # nothing made, everything kept
    assert engine.merge((leader,), (set3,)) == (leader, set3)  # a set score keeps the corrections before it


def test_the_self_score_is_the_same_with_and_without_a_chain(tmp_path: Path) -> None:
    plain = engine.score(RUBRIC, bundle_of(tmp_path))
    chain = [first_stage(correct("1.1", "convener", "none"), set_score("1.2", 1), reject("2.3", "D2"),
                         reject("2.1", "D1")),
             Stage("验收", author=CHECKER, overrides=(correct("2.2", "accident", True, CHECKER),))]
    reviewed = engine.score(RUBRIC, bundle_of(tmp_path, name="c"), chain=chain)
    for a, b in zip(plain.indicators, reviewed.indicators, strict=True):
        assert (a.own.points, a.own.supported, a.own.trace, a.own.flags) == \
               (b.own.points, b.own.supported, b.own.trace, b.own.flags)
        assert a.own == b.own
    assert plain.stages[0] == reviewed.stages[0]
    # ... while the chain did change the stages after it. 初评: 1.1 2 + 0 = 2; 1.2 set 1; 2.1 and 2.3 keep
    # their claimed 2 and 4 (a rejection only lowers support); 2.2 2: 11. 验收: 2.2's accident corrected to
    # true vetoes it: 2 + 1 + 2 + 0 + 4 = 9.
    assert [ind(reviewed, k).scores[2].points for k in ("1.1", "1.2", "2.1", "2.2", "2.3")] == [2, 1, 2, 0, 4]
    assert [s.total for s in reviewed.stages] == [FULL_TOTAL, 11, 9]


def test_reviews_in_json_validate_and_add_up(tmp_path: Path) -> None:
    r = engine.score(RUBRIC, bundle_of(tmp_path), chain=[first_stage(correct("1.1", "convener", "leader"))])
    data = json.loads(render("result", "json", r), parse_float=Decimal)
    Draft202012Validator(schema("result")).validate(data)
    assert data["total"] == Decimal("15.2") and data["reviews"][0]["total"] == Decimal("14.2")
    assert data["reviews"][0]["reviewer"] == REVIEWER
    one = next(i for i in data["indicators"] if i["id"] == "1.1")
    assert one["score"] == 4 and one["reviews"][0]["score"] == 3
    assert one["reviews"][0]["overrides"] == [{"action": "input", "target": "convener", "value": "leader",
                                               "reason": "经现场核实更正", "author": REVIEWER}]


def test_a_reviewer_can_set_any_score_the_rule_itself_gives(tmp_path: Path) -> None:
    star = load(STAR)
    bundle = open_bundle(make_bundle(tmp_path / "s", rubric="star_demo",
                                     inputs={"2.2": {"onsite": {"value": 25, "reason": "台账不全"}}}))
    assert ind(engine.score(star, bundle), "2.2").score == 275  # 300 − 25
    r = engine.score(star, bundle, chain=[first_stage(set_score("2.2", 275))])
    assert ind(r, "2.2").scores[1].points == 275


def test_a_correction_of_an_unknown_input_is_refused_in_chinese(tmp_path: Path) -> None:
    with pytest.raises(ScoringError, match="convenor"):
        engine.score(RUBRIC, bundle_of(tmp_path), chain=[first_stage(correct("1.1", "convenor", "leader"))])


# ---------------------------------------------------------------- 2. the verdict a rubric declares


def declared_rubric(tmp_path: Path) -> Path:
    text = MINI.read_text("utf-8")
    old = "verdict: {mandatory_full: true, min_total: 10}\n"
    assert old in text
    path = tmp_path / "mini_declared.yaml"
    path.write_text(text.replace(old, "verdict: {mandatory_full: true, passed: 达标, failed: 不达标}\n"
                                      "natures: {mandatory: 必备项, advisory: 一般项}\n"), "utf-8")
    return path


def test_declared_verdict_and_natures_when_passing(runner: CliRunner, tmp_path: Path) -> None:
    rubric = declared_rubric(tmp_path)
    bundle = make_bundle(tmp_path / "b", FULL, documents=DOCS)
    out = invoke(runner, "score", bundle, "--rubric", rubric)
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()
    assert "必备项：3/3 项达到满分" in lines
    assert "结论：达标" in lines
    row = next(line for line in lines if line.startswith("1.2 "))
    assert "一般项" in row
    assert "必备项" in next(line for line in lines if line.startswith("1.1 "))
    assert "强制性" not in out.stdout and "倡导性" not in out.stdout and "倡导" not in out.stdout
    data = score_json(runner, bundle, "--rubric", rubric)
    assert data["verdict"] == {"passed": True, "reasons": [], "text": "达标"}


def test_declared_verdict_and_natures_when_failing(runner: CliRunner, tmp_path: Path) -> None:
    rubric = declared_rubric(tmp_path)
    inputs = {**FULL, "1.1": {"meeting": {"value": True, "documents": ["D1"]}, "convener": "leader"}}  # 3 of 4
    bundle = make_bundle(tmp_path / "b", inputs, documents=DOCS)
    out = invoke(runner, "score", bundle, "--rubric", rubric)
    assert out.exit_code == 0, out.output
    assert "必备项：2/3 项达到满分" in out.stdout.splitlines()
    assert "结论：不达标：必备项未达标 1 项：1.1" in out.stdout.splitlines()
    assert "强制性" not in out.stdout
    data = score_json(runner, bundle, "--rubric", rubric)
    assert data["verdict"] == {"passed": False, "reasons": ["必备项未达标 1 项：1.1"],
                               "text": "不达标：必备项未达标 1 项：1.1"}


def test_declared_natures_in_rubric_check(runner: CliRunner, tmp_path: Path) -> None:
    out = invoke(runner, "rubric", "check", declared_rubric(tmp_path))
    assert out.exit_code == 0, out.output
    # mandatory: 1.1 (4), 2.1 (2), 2.2 (2) = 3 indicators, 8 points
    assert out.stdout.strip() == "评分细则 mini 检查通过：2 个一级指标，5 个二级指标，总分 20 分；必备项 3 项，共 8 分。"


STAR_INPUTS = {"1.1": {"area": 750}, "1.2": {"hazards": ["灭火器过期"]}, "2.1": {"meals": 100},
               "2.2": {"onsite": {"value": 20, "reason": "台账不全"}}}  # 120 + 160 + 200 + 280 = 760


def test_a_rubric_without_mandatory_indicators_says_nothing_of_them(runner: CliRunner, tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "s", STAR_INPUTS, rubric="star_demo")
    out = invoke(runner, "score", bundle, "--rubric", STAR)
    assert out.exit_code == 0, out.output
    assert "总分：760 / 1000" in out.stdout
    assert "强制性" not in out.stdout
    assert "0/0" not in out.stdout
    assert "项达到满分" not in out.stdout
    data = score_json(runner, bundle, "--rubric", STAR)
    assert data["total"] == 760
    assert data["verdict"]["passed"] is True  # section 1: 120 + 160 = 280 ≥ 240
    verdict = json.dumps(data["verdict"], ensure_ascii=False)
    assert "强制性" not in verdict and "0/0" not in verdict


def test_rubric_check_without_mandatory_indicators_gives_no_count(runner: CliRunner) -> None:
    out = invoke(runner, "rubric", "check", STAR)
    assert out.exit_code == 0, out.output
    assert out.stdout.strip() == "评分细则 star_demo 检查通过：2 个一级指标，4 个二级指标，总分 1000 分。"
    assert "强制性" not in out.output and "0 项" not in out.output


# ---------------------------------------------------------------- 3. the trace as data


def test_json_answers_and_reads(runner: CliRunner, tmp_path: Path) -> None:
    inputs = {
        "1.1": {"meeting": {"value": False, "documents": ["D1"]}, "convener": "principal"},  # 0 + closed gate = 0
        "1.2": {"cases": 0, "quality": {"value": 1, "reason": "含金量一般"}},  # 1 − 0 + 0 (unanswered) + 1 = 2
        "2.3": {"policy": {"value": True, "documents": ["D2"]}, "level": "good"},  # 2 + 4 = 6
    }
    data = score_json(runner, make_bundle(tmp_path / "b", inputs, documents=DOCS), "--rubric", MINI)
    by_id = {i["id"]: i for i in data["indicators"]}
    assert [by_id[k]["score"] for k in ("1.1", "1.2", "2.1", "2.2", "2.3")] == [0, 2, 0, 0, 6]

    def answers(ident: str) -> list[tuple[str, Any, list[str]]]:
        return [(a["input"], a["value"], a["documents"]) for a in by_id[ident]["answers"]]

    assert answers("1.1") == [("meeting", False, ["D1"]), ("convener", "principal", [])]
    assert answers("1.2") == [("cases", 0, []), ("quality", 1, [])]  # policies unanswered: not listed
    assert by_id["1.2"]["answers"][1]["reason"] == "含金量一般"
    assert answers("2.3") == [("policy", True, ["D2"]), ("level", "good", [])]
    assert answers("2.1") == [] and answers("2.2") == []
    assert "policies" in by_id["1.2"]["missing"]

    gates = [s for s in by_id["1.1"]["trace"] if s["rule"] == "gate"]
    assert len(gates) == 1
    assert gates[0]["points"] == 0
    assert "前提未满足" in gates[0]["text"] and "召集人" in gates[0]["text"]
    assert gates[0]["reads"] == [{"input": "meeting", "value": False, "documents": ["D1"]}]

    flags = [s for s in by_id["2.3"]["trace"] if s["rule"] == "flag"]
    assert len(flags) == 1
    assert flags[0]["points"] == 2
    assert "得 2 分" in flags[0]["text"]
    assert flags[0]["reads"] == [{"input": "policy", "value": True, "documents": ["D2"]}]
    tier = next(s for s in by_id["2.3"]["trace"] if s["rule"] == "tier")
    assert tier["points"] == 4
    assert tier["reads"] == [{"input": "level", "value": "good", "documents": []}]


# ---------------------------------------------------------------- 4. CSV


def test_csv_output(runner: CliRunner, tmp_path: Path) -> None:
    # 1.1 without its document: claimed 2 + leader 1 = 3, supported 0 (no meeting, so no convener bonus).
    inputs = {**FULL, "1.1": {"meeting": True, "convener": "leader"}}
    out = invoke(runner, "score", make_bundle(tmp_path / "b", inputs, documents=DOCS), "--rubric", MINI,
                 "--format", "csv")
    assert out.exit_code == 0, out.output
    raw = out.stdout_bytes
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(rows) == 1 + 5
    header = rows[0]
    assert {"指标", "自评得分", "有据得分"} <= set(header)
    table = [dict(zip(header, row, strict=True)) for row in rows[1:]]
    assert [row["指标"] for row in table] == ["1.1", "1.2", "2.1", "2.2", "2.3"]
    assert [(row["自评得分"], row["有据得分"]) for row in table] == [
        ("3", "0"), ("3.2", "3.2"), ("2", "2"), ("2", "2"), ("4", "4")]
    assert table[0]["标记"] == "缺佐证" and table[1]["标记"] == ""


def test_csv_has_a_column_per_reviewing_stage(tmp_path: Path) -> None:
    r = engine.score(RUBRIC, bundle_of(tmp_path), chain=[first_stage(correct("1.1", "convener", "leader"))])
    rows = list(csv.DictReader(io.StringIO(render("result", "csv", r).decode("utf-8-sig"))))
    assert [(row["自评得分"], row["初评得分"]) for row in rows][0] == ("4", "3")


def test_format_choices_in_help_are_the_registry(runner: CliRunner) -> None:
    out = invoke(runner, "score", "--help")
    assert out.exit_code == 0, out.output
    match = re.search(r"--format \[([^\]]+)\]", out.stdout)
    assert match, out.stdout
    assert match.group(1).split("|") == names("result")
    assert {"table", "json", "csv"} <= set(names("result"))


# ---------------------------------------------------------------- 5. fixes


def step_rubric(tmp_path: Path, top: int) -> Path:
    path = tmp_path / f"step_{top}.yaml"
    path.write_text(f"""\
id: step_demo
title: 步长测试
version: 测试版
total: {top}
judged_step: 2
verdict: {{mandatory_full: false}}
categories:
  - id: "1"
    title: 综合评价
    max: {top}
    indicators:
      - id: "1.1"
        title: 综合评价
        text: 综合评价。
        mandatory: false
        max: {top}
        inputs:
          - {{name: grade, label: 综合评价得分, prompt: 酌情打分, type: score}}
        rule: {{kind: judged, input: grade, max: {top}}}
""", "utf-8")
    return path


def test_judged_max_off_the_rubric_step_fails_the_check(runner: CliRunner, tmp_path: Path) -> None:
    out = invoke(runner, "rubric", "check", step_rubric(tmp_path, 3))
    assert out.exit_code == 1
    assert "上限 3 不是步长 2 的整数倍" in out.stderr
    assert "检查通过" not in out.output


def test_judged_values_keep_to_the_rubric_step(runner: CliRunner, tmp_path: Path) -> None:
    rubric = step_rubric(tmp_path, 4)
    out = invoke(runner, "rubric", "check", rubric)
    assert out.exit_code == 0, out.output
    refused = make_bundle(tmp_path / "three", {"1.1": {"grade": {"value": 3, "reason": "较好"}}}, rubric="step_demo")
    out = invoke(runner, "score", refused, "--rubric", rubric)
    assert out.exit_code == 1
    assert "指标 1.1 输入 grade" in out.stderr and "2 分的整数倍" in out.stderr
    accepted = make_bundle(tmp_path / "two", {"1.1": {"grade": {"value": 2, "reason": "一般"}}}, rubric="step_demo")
    data = score_json(runner, accepted, "--rubric", rubric)
    assert data["indicators"][0]["score"] == 2 and data["total"] == 2


def test_judged_off_step_behind_a_closed_gate_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    # Gaoqing 2.4: policy (flag 2), and behind it a judged remainder on 0.5 steps up to 1.
    closed = {"2.4": {"support_policy": False, "policy_quality": {"value": Decimal("0.3"), "reason": "含金量一般"}}}
    out = invoke(runner, "score", make_bundle(tmp_path / "off", closed, rubric="gaoqing_2022"), "--rubric", GAOQING)
    assert out.exit_code == 1
    assert "指标 2.4 输入 policy_quality" in out.stderr
    assert "0.5 分的整数倍" in out.stderr
    assert "Traceback" not in out.output
    # On the step behind the same closed gate: accepted, and 0 + nothing = 0.
    fine = {"2.4": {"support_policy": False, "policy_quality": {"value": Decimal("0.5"), "reason": "含金量一般"}}}
    data = score_json(runner, make_bundle(tmp_path / "on", fine, rubric="gaoqing_2022"), "--rubric", GAOQING)
    assert next(i for i in data["indicators"] if i["id"] == "2.4")["score"] == 0


def test_judged_behind_an_open_gate_counts(tmp_path: Path, gaoqing_rubric: Rubric) -> None:
    gaoqing = gaoqing_rubric
    docs = {"D1": ("documents/policy.txt", b"policy", "2022-05-01")}
    inputs = {"2.4": {"support_policy": {"value": True, "documents": ["D1"]},
                      "policy_quality": {"value": Decimal("0.5"), "reason": "补助标准一般", "documents": ["D1"]}}}
    r = engine.score(gaoqing, open_bundle(make_bundle(tmp_path / "b", inputs, rubric="gaoqing_2022",
                                                      documents=docs)))
    assert ind(r, "2.4").score == Decimal("2.5")  # 2 + 0.5


def test_a_closed_gate_names_only_what_it_holds_back(tmp_path: Path, gaoqing_rubric: Rubric) -> None:
    gaoqing = gaoqing_rubric
    docs = {"D1": ("documents/loan.txt", b"loan", "2022-05-01")}
    inputs = {"2.3": {"policies_implemented": False, "cases_not_implemented": 2,
                      "elderly_care_loan": {"value": True, "documents": ["D1"]}}}
    r = engine.score(gaoqing, open_bundle(make_bundle(tmp_path / "b", inputs, rubric="gaoqing_2022",
                                                      documents=docs)))
    i = ind(r, "2.3")
    assert i.score == 1  # gate closed: 0; the loan: 1
    trace = list(i.trace)
    gates = [k for k, s in enumerate(trace) if s.kind == "gate"]
    assert len(gates) == 1
    gate = trace[gates[0]]
    assert "发现未落实扶持政策的例数" in gate.text  # the per-case deduction it holds back
    assert "养老保障贷" not in gate.text and "养老保障贷" not in gate.hint
    assert gate.points == 0 and gate.lost == 1  # the deduction's base 1
    later = [s for s in trace[gates[0] + 1:] if "养老保障贷" in s.text]
    assert len(later) == 1 and "得 1 分" in later[0].text and later[0].points == 1
