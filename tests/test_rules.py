"""Each rule kind on the mini rubric; expected points worked out by hand from the rule text."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.base.errors import ScoringError
from scoring.base.numbers import fmt
from scoring.domain import engine, rules
from scoring.loading.bundle import open_bundle
from scoring.loading.rubric import load

from .conftest import MINI, make_bundle

RUBRIC = load(MINI)


def score(tmp_path: Path, inputs: dict, **kw: object) -> engine.Result:
    return engine.score(RUBRIC, open_bundle(make_bundle(tmp_path / "b", inputs, **kw)))


def ind(result: engine.Result, ident: str) -> engine.IndicatorResult:
    return next(i for i in result.indicators if i.id == ident)


@pytest.mark.parametrize(("meeting", "convener", "expected"), [
    (True, "principal", "4"),   # 2 + 2
    (True, "leader", "3"),      # 2 + 1
    (True, "none", "2"),        # 2 + 0
    (False, "principal", "0"),  # the bonus only if the system exists
])
def test_flag_gate_choice(tmp_path: Path, meeting: bool, convener: str, expected: str) -> None:
    result = score(tmp_path, {"1.1": {"meeting": meeting, "convener": convener}})
    assert ind(result, "1.1").score == Decimal(expected)


def test_deduction_is_exact_and_floored(tmp_path: Path) -> None:
    # 1 − 0.3 × 3 = 0.1 exactly; 1 − 0.3 × 4 floors at 0.
    r = score(tmp_path / "a", {"1.2": {"cases": 3}})
    assert ind(r, "1.2").score == Decimal("0.1")
    assert fmt(ind(r, "1.2").score) == "0.1"
    r = score(tmp_path / "b", {"1.2": {"cases": 4}})
    assert ind(r, "1.2").score == 0


@pytest.mark.parametrize(("cases", "words"), [
    (0, "未落实案例 0 例：未扣分，得 1 分"),                              # no "1 − 0.3 × 0"
    (2, "未落实案例 2 例：1 − 0.3 × 2，得 0.4 分"),                        # the floor does not bind: not named
    (4, "未落实案例 4 例：1 − 0.3 × 4，得 0 分（不低于 0 分）"),           # 1 − 1.2 < 0: the floor binds
])
def test_a_deduction_traces_only_the_steps_taken(tmp_path: Path, cases: int, words: str) -> None:
    step = next(s for s in ind(score(tmp_path, {"1.2": {"cases": cases}}), "1.2").trace if s.kind == "deduction")
    assert step.text == words


def test_per_item_cap_and_judged(tmp_path: Path) -> None:
    # 5 policies × 0.5 = 2.5, capped at 2; judged 1.5; no cases: 1 − 0 = 1. 1 + 2 + 1.5 = 4.5
    r = score(tmp_path, {"1.2": {"cases": 0, "policies": list("abcde"),
                                  "quality": {"value": 1.5, "reason": "含金量较高"}}})
    i = ind(r, "1.2")
    assert i.score == Decimal("4.5")
    assert any("封顶 2 分" in s.text for s in i.trace)


@pytest.mark.parametrize(("coverage", "expected"), [(100, 2), (Decimal("99.9"), 0), (0, 0)])
def test_threshold(tmp_path: Path, coverage: object, expected: int) -> None:
    assert ind(score(tmp_path, {"2.1": {"coverage": coverage}}), "2.1").score == expected


@pytest.mark.parametrize(("accident", "expected"), [(False, 2), (True, 0), (None, 0)])
def test_veto(tmp_path: Path, accident: bool | None, expected: int) -> None:
    i = ind(score(tmp_path, {"2.2": {"met": True, "accident": accident}}), "2.2")
    assert i.score == expected
    if accident is None:
        assert "accident" in i.missing


def test_document_date_flags_but_self_score_counts(tmp_path: Path) -> None:
    docs = {"D1": ("documents/old.txt", "2018年文件".encode(), "2018-06-15")}
    r = score(tmp_path, {"2.3": {"policy": {"value": True, "documents": ["D1"]}, "level": "fair"}},
              documents=docs)
    i = ind(r, "2.3")
    assert i.score == 4  # 2 + 2, as claimed
    assert i.supported_score == 2  # the pre-2019 document does not support the 2 points
    assert [f.code for f in i.flags] == ["document_date"]


def test_document_in_window_supports(tmp_path: Path) -> None:
    docs = {"D1": ("documents/new.txt", "2021年文件".encode(), "2021-03-01")}
    r = score(tmp_path, {"2.3": {"policy": {"value": True, "documents": ["D1"]}, "level": "good"}},
              documents=docs)
    assert (ind(r, "2.3").score, ind(r, "2.3").supported_score) == (6, 6)
    assert not ind(r, "2.3").flags


def test_missing_document_is_flagged_not_scored_as_supported(tmp_path: Path) -> None:
    r = score(tmp_path, {"1.1": {"meeting": True, "convener": "leader"}})
    i = ind(r, "1.1")
    assert (i.score, i.supported_score) == (3, 0)
    assert "no_document" in {f.code for f in i.flags}


def test_verdict_and_mandatory(tmp_path: Path) -> None:
    docs = {"D1": ("d.txt", b"x", "2022-01-01")}
    r = score(tmp_path, {"1.1": {"meeting": {"value": True, "documents": ["D1"]}, "convener": "principal"},
                         "2.1": {"coverage": {"value": 100, "documents": ["D1"]}},
                         "2.2": {"met": True, "accident": False}}, documents=docs)
    # mandatory 1.1 (4), 2.1 (2), 2.2 (2) all full; total 8 < min_total 10
    assert (r.own.mandatory.met, r.own.mandatory.total) == (3, 3)
    assert r.total == 8
    assert not r.own.verdict.passed
    assert r.own.verdict.reasons == ("总分 8 分，低于 10 分",)


def test_judged_off_step_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ScoringError, match="0.5 分的整数倍") as exc:
        score(tmp_path, {"1.2": {"quality": {"value": Decimal("0.7"), "reason": "x"}}})
    assert exc.value.where == "指标 1.2 输入 quality"
    assert exc.value.line


def test_judged_needs_reason(tmp_path: Path) -> None:
    with pytest.raises(ScoringError, match="必须写明理由"):
        score(tmp_path, {"1.2": {"quality": 1}})


def test_every_registered_kind_reaches_points() -> None:
    assert set(rules.KINDS) >= {"flag", "threshold", "choice", "tier", "judged", "per_item", "deduction",
                                "veto", "gate", "sum", "document_date"}


@settings(max_examples=60, deadline=None)
@given(count=st.integers(min_value=0, max_value=50),
       base=st.decimals(min_value=0, max_value=10, places=1),
       each=st.decimals(min_value=Decimal("0.1"), max_value=3, places=1))
def test_deduction_never_below_floor(count: int, base: Decimal, each: Decimal) -> None:
    rule = {"kind": "deduction", "input": "n", "base": base, "each": each}
    ctx = rules.Context(RUBRIC.indicators[1], {"n": count}, {}, Decimal("0.5"))
    points = rules.score(rule, ctx).points
    assert points == max(base - each * count, 0)
    assert points >= 0


@settings(max_examples=60, deadline=None)
@given(items=st.lists(st.text(min_size=1, max_size=3), max_size=20))
def test_per_item_never_above_cap(items: list[str]) -> None:
    rule = {"kind": "per_item", "input": "p", "each": Decimal("0.5"), "cap": 2}
    ctx = rules.Context(RUBRIC.indicators[1], {"p": items}, {}, Decimal("0.5"))
    assert rules.score(rule, ctx).points == min(Decimal("0.5") * len(items), 2)


def test_other_cities_star_standard_is_yaml_only(tmp_path: Path) -> None:
    star = load(MINI.with_name("star.yaml"))
    bundle = make_bundle(tmp_path / "b", rubric="star_demo", inputs={
        "1.1": {"area": 750},                                  # ≥ 600: 120
        "1.2": {"hazards": ["灭火器过期", "扶手松动"]},          # 200 − 40 × 2 = 120
        "2.1": {"meals": 100},                                 # ≥ 100: 200
        "2.2": {"onsite": {"value": 25, "reason": "台账不全"}},  # 300 − 25 = 275
    })
    r = engine.score(star, open_bundle(bundle))
    assert [i.score for i in r.indicators] == [120, 120, 200, 275]
    assert r.total == 715
    # Section 1 has 240 of its 400 points: exactly the minimum, so it passes.
    assert r.own.verdict.passed
    bundle2 = make_bundle(tmp_path / "c", rubric="star_demo", inputs={
        "1.1": {"area": 299}, "1.2": {"hazards": []}, "2.1": {"meals": 250}})
    r2 = engine.score(star, open_bundle(bundle2))
    assert [i.score for i in r2.indicators] == [0, 200, 300, 0]
    assert r2.own.verdict.reasons == ("一级指标“设施设备”得分 200 分，低于最低要求 240 分",)


def test_a_no_needs_no_document_and_no_date(tmp_path: Path) -> None:
    r = score(tmp_path, {"1.1": {"meeting": False}, "2.3": {"policy": False, "level": "poor"}})
    assert not ind(r, "1.1").flags
    assert not [f for f in ind(r, "2.3").flags if f.code == "document_date"]
    assert ind(r, "2.3").score == 1


def test_an_answer_that_earns_nothing_needs_no_document(tmp_path: Path) -> None:
    r = score(tmp_path, {"2.1": {"coverage": 50}, "1.1": {"meeting": True, "convener": "none"}})
    assert not ind(r, "2.1").flags  # 50% earns nothing: nothing to support
    assert [f.input for f in ind(r, "1.1").flags] == ["meeting"]  # the system earns 2: it needs its document
