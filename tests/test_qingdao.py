"""The Qingdao center star rubric's sample center (evidence/qingdao_center_sample), scored end to end.

The figures are worked by hand at the top of its bundle.yaml: 12 + 18 + 22 + 37 = 89, four stars, held
from five by one point and by the 860 m² building (five stars needs 1000 m²)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from scoring.faces.cli import main

from .conftest import ROOT

RUBRIC = ROOT / "rubrics" / "qingdao_center_stars.yaml"
SAMPLE = ROOT / "evidence" / "qingdao_center_sample"


def scored() -> dict:  # type: ignore[type-arg]
    result = CliRunner().invoke(main, ["score", str(SAMPLE), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_the_rubric_checks_clean() -> None:
    result = CliRunner().invoke(main, ["rubric", "check", "--strict", str(RUBRIC)])
    assert result.exit_code == 0, result.output


def test_the_sample_scores_89_with_every_claim_supported() -> None:
    data = scored()
    assert data["rubric"]["id"] == "qingdao_center_stars"
    assert (data["total"], data["supported_total"]) == (89, 89)
    assert {c["id"]: c["score"] for c in data["categories"]} == {"1": 12, "2": 18, "3": 22, "4": 37}
    assert not [i["id"] for i in data["indicators"] if i["flags"]]


def test_the_sample_is_four_stars_held_from_five_by_its_building() -> None:
    verdict = scored()["verdict"]
    assert (verdict["band"], verdict["next"], verdict["requested"], verdict["passed"]) == ("四星", "五星", "四星", True)
    assert verdict["text"] == "申请四星，符合四星条件"
    assert verdict["held"] == ["总分 89 分，低于五星要求的 90 分（差 1 分）",
                               "五星前提条件“建筑面积不少于1000平方米”未满足（860 平方米）"]
