"""Rushan's operating subsidies (seed 002, 乳政发〔2022〕8号 四（二十一）2) as shipped: grades read from the
registry (an external grading already done), no rubric. Every amount is worked by hand from the seed's
numbers and the programme's own percentages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from scoring.base.errors import ScoringError
from scoring.faces.cli import main
from scoring.jobs import rating
from scoring.loading import programme as programmes
from scoring.papers.formats import rating_data

from .conftest import ROOT, pdf_pages
from .test_report import pdf_text

INSTITUTIONS = ROOT / "programmes" / "rushan_institution_subsidy_2023.yaml"
RURAL = ROOT / "programmes" / "rushan_rural_care_awards_2023.yaml"
HEAD = "编号,名称,区（市）,等级,收住中度失能老年人数,收住重度失能老年人数\n"


def run(programme: Path, registry: Path, out: Path, *extra: str) -> Any:
    return CliRunner().invoke(main, ["rate", "--programme", str(programme), "--registry", str(registry),
                                     "-o", str(out), *extra])


def graded(programme: Path, registry: Path) -> dict[str, Any]:
    """ratings.json's data, without writing or rendering anything."""
    made = rating.rate_graded(programmes.load(programme, None), rating.read_registry(registry))
    data: dict[str, Any] = json.loads(json.dumps(rating_data(made), default=str))
    return data


def amounts(data: dict[str, Any]) -> dict[str, tuple[str | None, int]]:
    return {c["id"]: (c["band"], int(c["reward"])) for c in data["centers"]}


def test_institution_subsidy_as_shipped(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run(INSTITUTIONS, ROOT / "evidence" / "rushan_institutions_2023.csv", out)
    assert result.exit_code == 0, result.output
    data = json.loads((out / "ratings.json").read_text("utf-8"))
    # 2,400 per moderately and 3,600 per severely disabled resident, × the grade's % (the city's own choice):
    # RS001 三星级 100%: (2400 × 30 + 3600 × 12) = 115200; RS002 五星级 120%: (48000 + 36000) × 1.2 = 100800;
    # RS003 一星级 80%: (19200 + 18000) × 0.8 = 29760; RS004 has no grade: 0. Registry order, no ranks.
    assert amounts(data) == {"RS001": ("三星级", 115200), "RS002": ("五星级", 100800), "RS003": ("一星级", 29760),
                             "RS004": (None, 0)}
    assert [c["rank"] for c in data["centers"]] == [None] * 4 and data["quota"]["centers"] is None
    assert int(data["totals"]["reward"]) == 245760 and data["rubric_id"] == ""
    assert "4 个养老机构" in result.output and "运营补助 3 个，合计 245,760 元" in result.output
    text = pdf_text(out / "committee.pdf")
    # The paper's nouns are the programme's: 养老机构, 等级, 运营补助; no refund is declared, so no such column.
    assert "养老服务中心" not in text and "星级分布" not in text and "返还" not in text and "奖励（元）" not in text
    assert "一、等级分布" in text and "二、等级与运营补助" in text and "运营补助（元）" in text
    assert "运营补助（2,400×30+3,600×12）×100%=115,200元" in text and "未评定等级；不予运营补助" in text
    assert "奖补依据：《乳山市人民政府关于进一步推进养老服务高质量发展的实施意见》（乳政发〔2022〕8号）四（二十一）2" in text
    assert "为本市自定" in text and "名册共4个养老机构，等级均取自名册，本方案不另行评分" in text
    # The section's heading and opening lines stay on the page of its table.
    (page,) = [p for p in pdf_pages(out / "committee.pdf") if "二、等级与运营补助" in p]
    assert "RS001" in page and "本方案不设运营补助名额上限" in page


def test_rural_care_awards_by_kind_and_grade() -> None:
    data = graded(RURAL, ROOT / "evidence" / "rushan_rural_care_2023.csv")
    # At most 6,000 (农村幸福院) or 12,000 (城市社区日间照料中心) a year, × the grade's % (the city's choice):
    # XF001 三星级 6000 × 100%; XF002 一星级 6000 × 60% = 3600; RZ001 二星级 12000 × 80% = 9600; RZ002 none.
    assert amounts(data) == {"XF001": ("三星级", 6000), "XF002": ("一星级", 3600), "RZ001": ("二星级", 9600),
                             "RZ002": (None, 0)}
    assert int(data["totals"]["reward"]) == 19200


@pytest.mark.parametrize(("row", "message"), [
    ("R1,甲养老院,乳山市,六星级,1,1", "名册“等级”列：甲养老院（R1）的“六星级”不是奖补方案的等级"),
    ("R1,甲养老院,乳山市,三星级,2.5,1", "名册“收住中度失能老年人数”列：甲养老院（R1）的“2.5”不是人数"),
    ("R1,甲养老院,乳山市,三星级,1,-1", "名册“收住重度失能老年人数”列：甲养老院（R1）的“-1”不是人数"),
])
def test_a_registry_cell_the_programme_cannot_read_is_refused(tmp_path: Path, row: str, message: str) -> None:
    registry = tmp_path / "名册.csv"
    registry.write_text(HEAD + "R0,乙养老院,乳山市,一星级,0,0\n" + row + "\n", "utf-8")
    result = run(INSTITUTIONS, registry, tmp_path / "out")
    assert result.exit_code == 1 and message in result.output and "名册.csv，第 3 行" in result.output
    assert not (tmp_path / "out").exists()


def test_a_missing_column_and_a_wrong_invocation_are_refused(tmp_path: Path) -> None:
    registry = tmp_path / "名册.csv"
    registry.write_text("编号,名称,区（市）,等级\nR1,甲养老院,乳山市,三星级\n", "utf-8")
    result = run(INSTITUTIONS, registry, tmp_path / "out")
    assert result.exit_code == 1 and "名册缺少奖补方案 rushan_institution_subsidy_2023.yaml 要读取的“收住中度失能老年人数”列" \
        in result.output
    folder = tmp_path / "材料包"
    folder.mkdir()
    result = CliRunner().invoke(main, ["rate", str(folder), "--programme", str(INSTITUTIONS), "--registry",
                                       str(registry), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1 and "等级取自名册：请只给出 --registry，不给材料包目录" in result.output


@pytest.mark.parametrize(("old", "new", "message"), [
    ("五星级: 120,", "五星级: 125,", "reward.factor 中 “五星级” 的 125% 不在依据文件规定的 80%–120% 之内"),
    ("none: 0   ", "none: 50  ", "reward.factor 中 “none” 的 50% 不在依据文件规定的 80%–120% 之内"),
    ("四星级: 110,", "特级: 110,", "reward.factor.by_band 中的 “特级” 不是名册等级（grade.levels）"),
    ("unit: 养老机构\n", "unit: 养老机构\nrubric: qingdao_center_stars\n", "等级取自名册（grade）的奖补方案不按评分细则评分"),
    ("unit: 养老机构\n", "unit: 养老机构\nquota: {share: 50, ties: exclude}\n", "无法按名次划定奖励名额：请删去 quota"),
])
def test_programme_lint(tmp_path: Path, old: str, new: str, message: str) -> None:
    text = INSTITUTIONS.read_text("utf-8")
    assert old in text
    path = tmp_path / "p.yaml"
    path.write_text(text.replace(old, new, 1), "utf-8")
    with pytest.raises(ScoringError) as caught:
        programmes.load(path, None)
    assert message in str(caught.value)


def test_what_a_programme_prints_is_bounded(tmp_path: Path) -> None:
    """Every text a programme puts on the committee's paper has a length (a note 500 characters, at most
    10 notes): a programme within its bytes cannot fill the paper with pages."""
    text = INSTITUTIONS.read_text("utf-8")
    path = tmp_path / "p.yaml"
    path.write_text(text.replace("notes:\n", "notes:\n  - " + "长" * 501 + "\n", 1), "utf-8")
    with pytest.raises(ScoringError) as caught:
        programmes.load(path, None)
    assert "notes" in str(caught.value) and "500" in str(caught.value), str(caught.value)
