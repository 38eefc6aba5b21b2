"""scoring rate: a committee's run over the bands fixture (tests/fixtures/bands.yaml) with a Qingdao-shaped
programme, and Rushan's per-resident subsidy. Every figure is worked by hand in the comments."""

from __future__ import annotations

import csv
import io
import json
import shutil
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from scoring.domain.records import CenterRating
from scoring.faces.cli import main
from scoring.jobs.rating import amount, round_to
from scoring.loading import programme as programmes
from scoring.loading.rubric import load
from scoring.loading.yamlio import load_yaml

from .conftest import FIXTURES

pytestmark = pytest.mark.xdist_group("rating")  # the shared run (rated) is made once, on one worker

BANDS, PROGRAMME = FIXTURES / "bands.yaml", FIXTURES / "bands_programme.yaml"
ALL = "[meals, bathing, day_care]"


def center(folder: Path, ident: str, district: str, a: int, b: int, area: int = 1200, functions: str = ALL,
           accident: bool = False) -> None:
    """A bands_demo center: part 1 scores a (of 60), part 2 scores b (of 40)."""
    (folder / ident).mkdir(parents=True)
    (folder / ident / "bundle.yaml").write_text(
        f"rubric: bands_demo\nassessee: {{name: {ident}中心, id: {ident}, district: {district}}}\n"
        "period: {start: 2023-01-01, end: 2023-12-31}\n"
        f"facts: {{floor_area: {area}, functions: {functions}, safety_accident: {str(accident).lower()}}}\n"
        f"inputs:\n  \"1.1\": {{points: {{value: {a}, reason: 现场评定。}}}}\n"
        f"  \"2.1\": {{points: {{value: {b}, reason: 现场评定。}}}}\n", "utf-8")


def seven_centers(folder: Path) -> Path:
    """Seven centers. By hand (五星 ≥ 90 with each part ≥ 60% and 1000 m², all functions; 四星 ≥ 80, 50%;
    三星 ≥ 70, 40%): C1 58 + 37 = 95 五星; C2 55 + 33 = 88 四星; C3 52 + 33 = 85 四星; C4 50 + 32 = 82 四星;
    C5 52 + 30 = 82 四星; C6 44 + 28 = 72 三星; C7 40 + 20 = 60 none."""
    for ident, district, a, b in (("C1", "甲区", 58, 37), ("C2", "乙区", 55, 33), ("C3", "甲区", 52, 33),
                                  ("C4", "乙区", 50, 32), ("C5", "甲区", 52, 30), ("C6", "乙区", 44, 28),
                                  ("C7", "甲区", 40, 20)):
        center(folder, ident, district, a, b)
    return folder


@pytest.fixture
def city(tmp_path: Path) -> Path:
    return seven_centers(tmp_path / "centers")


def ratings(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "ratings.json").read_text("utf-8"))
    return data


def rate(folder: Path, out: Path, *extra: str, programme: Path = PROGRAMME, rubric: Path = BANDS,
         paper: bool = False) -> dict[str, Any]:
    """`scoring rate` as a committee runs it. Without `paper`, committee.pdf is left out of the outputs:
    most tests read the figures only, and the paper (a render) is checked by the tests that ask for it."""
    from unittest import mock

    from scoring.jobs import rating as job

    outputs = job.OUTPUTS if paper else tuple(name for name in job.OUTPUTS if not name.endswith(".pdf"))
    with mock.patch.object(job, "OUTPUTS", outputs):
        result = CliRunner().invoke(main, ["rate", str(folder), "--rubric", str(rubric), "--programme",
                                           str(programme), "-o", str(out), *extra])
    assert result.exit_code == 0, result.output
    return ratings(out)


@dataclass(frozen=True)
class Run:
    city: Path  # the seven centers, never changed: a test that changes them changes a copy
    out: Path  # what `scoring rate` wrote for them with --centers-total 8


@pytest.fixture(scope="module")
def rated(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The seven centers rated once with --centers-total 8 and a sheet per center, for the tests that read
    that run (or copy it)."""
    root = tmp_path_factory.mktemp("rated")
    run = Run(seven_centers(root / "centers"), root / "2023")
    rate(run.city, run.out, "--centers-total", "8", "--pdfs", paper=True)
    return run


def by_id(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"] or c["source"]: c for c in data["centers"]}


def next_year(folder: Path, year: int) -> None:
    """Every bundle of `folder` moved to the assessment period of `year`."""
    for manifest in folder.glob("*/bundle.yaml"):
        manifest.write_text(manifest.read_text("utf-8").replace("2023-", f"{year}-"), "utf-8")


def test_quota_of_all_centers_with_a_tie_at_the_line(city: Path, tmp_path: Path) -> None:
    data = rate(city, tmp_path / "out", "--centers-total", "8")
    # 8 centers in the city × 50% = 4 rewards. Ranked: 95, 88, 85, 82, 82, 72 (C7 earns nothing): the 4th
    # and 5th tie on 82 at the line; the programme excludes a tie, so only C1–C3 are rewarded.
    assert data["quota"] == {"share": 50, "centers": 4, "cut": 82, "ties": ["C4", "C5"], "rule": "exclude"}
    got = by_id(data)
    assert [got[i]["rewarded"] for i in ("C1", "C2", "C3", "C4", "C5", "C6", "C7")] == [
        True, True, True, False, False, False, False]
    assert got["C4"]["tie"] and got["C5"]["tie"] and not got["C3"]["tie"]
    # Rewards: cap × score / 100. C1 600000 × 0.95 = 570000; C2 300000 × 0.88 = 264000; C3 × 0.85 = 255000.
    assert [got[i]["reward"] for i in ("C1", "C2", "C3")] == [570000, 264000, 255000]
    # The district pays, the city refunds half.
    assert [(got[i]["payer_share"], got[i]["refund"]) for i in ("C1", "C2", "C3")] == [
        (285000, 285000), (132000, 132000), (127500, 127500)]
    assert data["districts"] == [
        {"district": "乙区", "centers": 3, "rewarded": 1, "reward": 264000, "payer_share": 132000, "refund": 132000},
        {"district": "甲区", "centers": 4, "rewarded": 2, "reward": 825000, "payer_share": 412500, "refund": 412500}]
    assert data["totals"] == {"centers": 7, "rewarded": 3, "reward": 1089000, "payer_share": 544500,
                              "refund": 544500}
    # 6 of the 8 centers are at 三星 or better: 75% against the city's 50%.
    assert data["target"] == {"band": "三星", "share": 50, "reached": 6}


def test_a_tie_included_rewards_every_tied_center(city: Path, tmp_path: Path) -> None:
    text = PROGRAMME.read_text("utf-8").replace("ties: exclude", "ties: include")
    (tmp_path / "p.yaml").write_text(text, "utf-8")
    got = by_id(rate(city, tmp_path / "out", "--centers-total", "8", programme=tmp_path / "p.yaml", paper=True))
    # C4 and C5 both rewarded: 300000 × 0.82 = 246000 each.
    assert [got[i]["reward"] for i in ("C1", "C2", "C3", "C4", "C5", "C6")] == [
        570000, 264000, 255000, 246000, 246000, 0]
    # 5 rewarded against 4 places: a warning when the programme is read, and a line on the paper.
    result = CliRunner().invoke(main, ["rate", str(city), "--rubric", str(BANDS), "--programme",
                                       str(tmp_path / "p.yaml"), "--centers-total", "8", "-o", str(tmp_path / "o2")])
    assert result.exit_code == 0 and "注意：" in result.output and "quota.ties 为 include" in result.output
    from .test_report import pdf_text

    assert "均予奖励；获奖励5个，超过名额4个" in pdf_text(tmp_path / "out" / "committee.pdf")


def test_no_tie_when_the_line_falls_between_scores(city: Path, tmp_path: Path) -> None:
    # 10 centers × 50% = 5: C1–C5 rewarded, the line between 82 and 72, no tie.
    data = rate(city, tmp_path / "out", "--centers-total", "10")
    assert (data["quota"]["centers"], data["quota"]["cut"], data["quota"]["ties"]) == (5, 82, [])
    assert [c["id"] for c in data["centers"] if c["rewarded"]] == ["C1", "C2", "C3", "C4", "C5"]
    # 7 centers × 50% = 3 (rounded down): C1–C3, the line between 85 and 82.
    data = rate(city, tmp_path / "out2", "--centers-total", "7")
    assert (data["quota"]["centers"], data["quota"]["ties"]) == (3, [])


def test_reward_rounding_and_shares_add_up() -> None:
    rubric = load(BANDS)
    text = PROGRAMME.read_text("utf-8").replace("五星: 600000", "五星: 333333")
    plan = programmes.build(load_yaml(text, "p.yaml"), "")
    c = CenterRating("x", "X", "X", "甲区", Decimal("91.5"), Decimal("91.5"), "五星", None, (), "自评", ())
    # 333333 × 91.5 / 100 = 304999.695 → 305000 (half up to the yuan).
    assert amount(plan, rubric.total, ("五星", "四星", "三星"), c) == 305000
    assert round_to(Decimal("152500.5"), Decimal(1)) == 152501 and round_to(Decimal("0.125"), Decimal("0.01")) == \
        Decimal("0.13")


def test_exit_after_two_years_below(rated: Run, tmp_path: Path) -> None:
    first = ratings(rated.out)  # 2023
    assert by_id(first)["C7"]["years_below"] == 1 and not by_id(first)["C7"]["exit"]
    # Next year: C7 is still below 三星 and loses its qualification; C6 drops below for its first year.
    city = shutil.copytree(rated.city, tmp_path / "centers")
    (city / "C6" / "bundle.yaml").write_text((city / "C6" / "bundle.yaml").read_text("utf-8")
                                             .replace("value: 28", "value: 15"), "utf-8")
    next_year(city, 2024)
    second = rate(city, tmp_path / "2024", "--centers-total", "8", "--previous", str(rated.out / "ratings.json"), paper=True)
    got = by_id(second)
    assert (got["C7"]["years_below"], got["C7"]["exit"]) == (2, True)
    assert (got["C6"]["years_below"], got["C6"]["exit"]) == (1, False)
    assert got["C1"]["years_below"] == 0
    from .test_report import pdf_text

    # Both years and last year's file are named.
    assert "C7中心（C7）：2023–2024年度连续2年未达到三星（2023年度及以前据上一年的评定结果ratings.json）。" in pdf_text(
        tmp_path / "2024" / "committee.pdf")
    rows = list(csv.reader(io.StringIO((tmp_path / "2024" / "ratings.csv").read_text("utf-8-sig"))))
    assert next(r for r in rows if r[1] == "C7")[12:14] == ["2", "是"]


def test_a_broken_bundle_changes_no_one_else(city: Path, tmp_path: Path) -> None:
    before = rate(city, tmp_path / "a", "--centers-total", "9")
    (city / "C0").mkdir()
    (city / "C0" / "bundle.yaml").write_text("rubric: [\n", "utf-8")
    after = rate(city, tmp_path / "b", "--centers-total", "9")
    broken = after["centers"][-1]
    assert broken["source"] == "C0" and "YAML 格式错误" in broken["error"] and broken["rank"] is None
    assert not broken["rewarded"] and broken["band"] is None
    assert after["centers"][:-1] == before["centers"] and after["quota"] == before["quota"]
    # Known by its folder name; an unreadable submission counts as below 三星 for the exit rule.
    assert (broken["id"], broken["years_below"], broken["submitted"]) == ("C0", 1, True)


def test_a_registry_counts_all_centers(city: Path, tmp_path: Path, rated: Run) -> None:
    registry = tmp_path / "名册.csv"
    rows = [f"C{k},C{k}中心,{'甲区' if k % 2 else '乙区'}" for k in range(1, 9)]
    registry.write_text("\ufeff编号,名称,区（市）\n" + "\n".join(rows) + "\n", "utf-8")
    data = rate(city, tmp_path / "out", "--registry", str(registry))
    assert data["city_total"] == 8 and data["quota"]["centers"] == 4
    assert data["unrated"] == [{"id": "C8", "name": "C8中心", "district": "乙区"}]
    # The seven bundles are rated as without a registry (their districts agree with it); C8 is added as
    # not submitted, and is listed as a problem.
    missing = data["centers"][-1]
    assert (missing["id"], missing["submitted"], missing["error"], missing["years_below"]) == ("C8", False,
                                                                                              "未报送材料包", 1)
    assert data["centers"][:-1] == rate(city, tmp_path / "out2", "--centers-total", "8")["centers"]
    assert data["problems"] == ["名册中的C8中心（C8）没有报送材料包：未评定，不予奖励"]
    registry.write_text("编号,名称,区（市）\nC1,C1中心,甲区\n", "utf-8")
    result = CliRunner().invoke(main, ["rate", str(city), "--rubric", str(BANDS), "--programme", str(PROGRAMME),
                                       "--registry", str(registry), "-o", str(tmp_path / "out3")])
    assert result.exit_code == 1 and "少于参评的 7 个" in result.output and not (tmp_path / "out3").exists()


@pytest.mark.parametrize(("args", "expected"), [
    (("--centers-total", "8", "--registry", "x.csv"), "请给出 --centers-total 或 --registry 之一"),
    ((), "请给出 --centers-total 或 --registry 之一"),
])
def test_refusals(city: Path, tmp_path: Path, args: tuple[str, ...], expected: str) -> None:
    result = CliRunner().invoke(main, ["rate", str(city), "--rubric", str(BANDS), "--programme", str(PROGRAMME),
                                       "-o", str(tmp_path / "out"), *args])
    assert result.exit_code == 1 and expected in result.output and not (tmp_path / "out").exists()


def test_an_output_folder_with_other_files_is_not_replaced(city: Path, tmp_path: Path, rated: Run) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "我的笔记.txt").write_text("保留", "utf-8")
    result = CliRunner().invoke(main, ["rate", str(city), "--rubric", str(BANDS), "--programme", str(PROGRAMME),
                                       "--centers-total", "8", "-o", str(out)])
    assert result.exit_code == 1 and "有不是本命令输出的文件" in result.output
    assert [p.name for p in out.iterdir()] == ["我的笔记.txt"]
    # A previous run's outputs are replaced whole.
    again = shutil.copytree(rated.out, tmp_path / "again")  # the outputs of a run with --centers-total 8
    assert ratings(again)["city_total"] == 8
    rate(city, again, "--centers-total", "10", paper=True)
    assert json.loads((tmp_path / "again" / "ratings.json").read_text("utf-8"))["city_total"] == 10


def test_a_programme_that_does_not_fit_the_rubric(city: Path, tmp_path: Path) -> None:
    bad = tmp_path / "p.yaml"
    bad.write_text(PROGRAMME.read_text("utf-8").replace("四星: 300000", "六星: 300000"), "utf-8")
    result = CliRunner().invoke(main, ["rate", str(city), "--rubric", str(BANDS), "--programme", str(bad),
                                       "--centers-total", "8", "-o", str(tmp_path / "out")])
    assert result.exit_code == 1 and "“六星” 不是评分细则的星级" in result.output and "p.yaml" in result.output


def test_rushan_subsidy_per_resident_scaled_by_grade(tmp_path: Path) -> None:
    folder = tmp_path / "institutions"
    for ident, points, moderate, severe in (("R1", 75, 30, 12), ("R2", 62, 10, 5), ("R3", 40, 25, 10)):
        (folder / ident).mkdir(parents=True)
        (folder / ident / "bundle.yaml").write_text(
            f"rubric: rushan_demo\nassessee: {{name: {ident}养老院, id: {ident}, district: 乳山市}}\n"
            "period: {start: 2023-01-01, end: 2023-12-31}\n"
            f"facts: {{moderate_residents: {moderate}, severe_residents: {severe}}}\n"
            f"inputs:\n  \"1.1\": {{points: {{value: {points}, reason: 现场评定。}}}}\n", "utf-8")
    data = rate(folder, tmp_path / "out", "--centers-total", "3", programme=FIXTURES / "rushan_programme.yaml",
                rubric=FIXTURES / "rushan.yaml", paper=True)
    got = by_id(data)
    # R1: 75 + 5 + 5 = 85 三级; (30 × 2400 + 12 × 3600) × 120% = 115200 × 1.2 = 138240.
    # R2: 62 + 0 + 0 = 62 一级; (10 × 2400 + 5 × 3600) × 80% = 42000 × 0.8 = 33600.
    # R3: 40 + 5 + 5 = 50, no grade: 0.
    assert [(got[i]["score"], got[i]["band"], got[i]["reward"]) for i in ("R1", "R2", "R3")] == [
        (85, "三级", 138240), (62, "一级", 33600), (50, None, 0)]
    assert data["quota"]["centers"] is None and data["totals"]["reward"] == 171840
    from .test_report import pdf_text

    # The amount as its formula, named as the programme names it; no refund declared, so no refund column; the
    # nouns are the programme's (养老机构, 运营补助) and the rubric's (等级).
    text = pdf_text(tmp_path / "out" / "committee.pdf")
    assert "运营补助（2,400×30+3,600×12）×120%=138,240元" in text and "返还" not in text
    assert "全市共3个养老机构" in text and "一、等级分布" in text and "星级" not in text and "养老服务中心" not in text


def test_outputs_and_center_reports(rated: Run) -> None:
    import jsonschema

    from scoring.loading.validate import schema

    out = rated.out
    data = ratings(out)
    jsonschema.Draft202012Validator(schema("rating")).validate(data)
    assert sorted(p.name for p in out.iterdir()) == ["committee.pdf", "ratings.csv", "ratings.json", "ratings.xlsx",
                                                     "评定报告"]
    reports = sorted(p.name for p in (out / "评定报告").iterdir())
    assert reports == [f"C{k}_C{k}中心.pdf" for k in range(1, 8)]
    from .test_report import pdf_text

    text = pdf_text(out / "committee.pdf")
    assert "奖励名额：全市8个×50%=4个（向下取整）" in text
    assert "得分82分的2个养老服务中心在奖励名额线上并列（C4、C5），按方案均不予奖励" in text
    assert "三星及以上6个，占全市8个的75%；目标为不低于50%：已达到" in text
    assert "全市合计731,089,000544,500544,500" in text
    sheet = pdf_text(out / "评定报告" / "C2_C2中心.pdf")
    # C2: 55 + 33 = 88, 四星, 2nd of 7; 600000 is 五星's: 300000 × 0.88 = 264000, half refunded.
    assert "C2中心星级评定结果" in sheet and "有据得分88分（评定阶段：仅有养老服务中心自评，未经评审），评定为四星；全市排名2/7" in sheet
    assert "奖励264,000元（300,000×88÷100=264,000）：区（市）承担132,000元，市级财政返还132,000元" in sheet
    assert "总分88分，低于五星要求的90分（差2分）" in sheet
    from pypdf import PdfReader

    assert all(len(PdfReader(out / "评定报告" / name).pages) <= 2 for name in reports)


def test_the_run_as_a_workbook(rated: Run, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    ws = load_workbook(rated.out / "ratings.xlsx").worksheets[0]
    rows = [[cell.value for cell in row] for row in ws.iter_rows()]
    assert rows[0][:9] == ["名次", "编号", "名称", "区（市）", "得分", "有据得分", "星级", "未达到上一级的原因", "奖励"]
    assert rows[1][:9] == [1, "C1", "C1中心", "甲区", 95, 95, "五星", None, 570000]
    assert rows[-1][2] == "全市合计" and rows[-1][8] == 1089000
    first = (rated.out / "ratings.xlsx").read_bytes()
    out = shutil.copytree(rated.out, tmp_path / "out")  # the same run again, over its own outputs
    rate(rated.city, out, "--centers-total", "8", paper=True)
    assert (out / "ratings.xlsx").read_bytes() == first


@pytest.mark.parametrize(("rows", "expected"), [
    ("编号,名称,区（市）\nC1,C1中心,甲区\nC2,C2中心\n", ("第 3 行", "名册这一行缺少编号、名称或区（市）")),
    ("编号,名称,区（市）\n,C1中心,甲区\n", ("第 2 行", "缺少编号")),
    ("名称,区（市）\nC1中心,甲区\n", ("第 1 行", "名册缺少“编号”列")),
    ("编号,名称,区（市）\nC1,甲,甲区\nC1,乙,乙区\n", ("名册中编号重复：C1",)),
])
def test_a_broken_registry_is_refused_with_its_line(city: Path, tmp_path: Path, rows: str,
                                                    expected: tuple[str, ...]) -> None:
    registry = tmp_path / "名册.csv"
    registry.write_text(rows, "utf-8")
    result = CliRunner().invoke(main, ["rate", str(city), "--rubric", str(BANDS), "--programme", str(PROGRAMME),
                                       "--registry", str(registry), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1 and "Traceback" not in result.output and "名册.csv" in result.output
    assert all(text in result.output for text in expected), result.output
    assert not (tmp_path / "out").exists()


def test_a_broken_programme_or_last_year_is_refused_with_its_line(city: Path, tmp_path: Path) -> None:
    bad = tmp_path / "p.yaml"
    bad.write_text(PROGRAMME.read_text("utf-8").replace("quota: {share: 50, ties: exclude}",
                                                        "quota: {share: 150, ties: exclude}"), "utf-8")
    result = CliRunner().invoke(main, ["rate", str(city), "--rubric", str(BANDS), "--programme", str(bad),
                                       "--centers-total", "8", "-o", str(tmp_path / "out")])
    assert result.exit_code == 1 and "p.yaml" in result.output and "第 12 行，奖补方案 quota.share" in result.output
    last = tmp_path / "ratings.json"
    last.write_text('{"schema_version": 2,\n "centers": "none"}\n', "utf-8")
    result = CliRunner().invoke(main, ["rate", str(city), "--rubric", str(BANDS), "--programme", str(PROGRAMME),
                                       "--centers-total", "8", "--previous", str(last), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1 and "ratings.json" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_ratings_json_says_whose_and_which_year_it_is(city: Path, tmp_path: Path) -> None:
    # bands_demo_rewards declares no year and no series: the year is the bundles' period's (ends 2023-12-31),
    # the series is the programme's own id.
    data = rate(city, tmp_path / "out", "--centers-total", "8")
    assert data["programme"]["id"] == data["programme"]["series"] == "bands_demo_rewards"
    assert (data["year"], data["rubric_id"], data["previous"]) == (2023, "bands_demo", None)


def _last_year(tmp_path: Path, name: str, **changes: Any) -> Path:
    """The 2023 run's ratings.json with some top-level fields or the programme's series changed."""
    data = json.loads((tmp_path / "2023" / "ratings.json").read_text("utf-8"))
    if "series" in changes:
        data["programme"]["series"] = changes.pop("series")
    data.update(changes)
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    return path


@pytest.mark.parametrize(("changes", "expected"), [
    ({}, "是 2023 年度的，不早于本次评定的 2023 年度"),
    ({"year": 2024}, "是 2024 年度的，不早于本次评定的 2023 年度"),
    ({"series": "other_rewards"}, "不是同一方案"),
    ({"schema_version": 2}, "schema_version 应为 3"),
    ({"year": None}, "没有记录评定年度"),
])
def test_last_year_must_be_an_earlier_year_of_the_same_programme(city: Path, tmp_path: Path,
                                                                 changes: dict[str, Any], expected: str) -> None:
    rate(city, tmp_path / "2023", "--centers-total", "8")
    last = _last_year(tmp_path, "去年结果.json", **changes)
    result = CliRunner().invoke(main, ["rate", str(city), "--rubric", str(BANDS), "--programme", str(PROGRAMME),
                                       "--centers-total", "8", "--previous", str(last), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "去年结果.json" in result.output and expected in result.output, result.output
    assert not (tmp_path / "out").exists()


def test_a_gap_year_is_stated(city: Path, tmp_path: Path) -> None:
    # A 2021 file for the 2023 run: accepted, and the missing 2022 is said on the paper and in the problems.
    rate(city, tmp_path / "2023", "--centers-total", "8")
    last = _last_year(tmp_path, "2021.json", year=2021)
    data = rate(city, tmp_path / "out", "--centers-total", "8", "--previous", str(last), paper=True)
    assert data["previous"] == {"file": "2021.json", "programme": "bands_demo_rewards", "year": 2021}
    gap = "上一年的评定结果 2021.json 是 2021 年度的，与本次 2023 年度之间缺 1 个年度的评定"
    assert any(p.startswith(gap) for p in data["problems"])
    from .test_report import pdf_text, squeeze

    assert squeeze(gap) in pdf_text(tmp_path / "out" / "committee.pdf")


def _registry(tmp_path: Path, rows: str) -> Path:
    path = tmp_path / "名册.csv"
    path.write_text("\ufeff编号,名称,区（市）\n" + rows, "utf-8")
    return path


def test_a_broken_bundle_keeps_its_center_and_its_years(city: Path, tmp_path: Path) -> None:
    registry = _registry(tmp_path, "".join(f"C{k},C{k}中心,{'甲区' if k % 2 else '乙区'}\n" for k in range(1, 9)))
    rate(city, tmp_path / "2023", "--registry", str(registry))  # C7 below 三星: 1; C8 sent nothing: 1
    (city / "C3").rename(city / "C3_某街道中心")
    (city / "C3_某街道中心" / "bundle.yaml").write_text("rubric: [\n", "utf-8")
    next_year(city, 2024)
    last = str(tmp_path / "2023" / "ratings.json")
    got = by_id(rate(city, tmp_path / "2024", "--registry", str(registry), "--previous", last, paper=True))
    # C3 was 四星 in 2023 (0 years below); unreadable in 2024 it counts as below: 1, no exit yet. C7 and C8
    # reach two years and exit.
    assert (got["C3"]["source"], got["C3"]["name"], got["C3"]["district"]) == ("C3_某街道中心", "C3中心", "甲区")
    assert (got["C3"]["years_below"], got["C3"]["exit"]) == (1, False)
    assert (got["C7"]["years_below"], got["C7"]["exit"]) == (2, True)
    assert (got["C8"]["years_below"], got["C8"]["exit"]) == (2, True)
    from .test_report import pdf_text

    text = pdf_text(tmp_path / "2024" / "committee.pdf")
    assert "按方案，材料包无法评定或未报送的养老服务中心本年度计为未达到三星（连续未达标年数加1）。" in text
    assert "全市共8个养老服务中心，报送材料包7个，评定6个，1个材料包无法评定，1个未报送" in text
    # A programme that keeps last year's count: C3 stays at 0, C8 at 1.
    keep = tmp_path / "keep.yaml"
    keep.write_text(PROGRAMME.read_text("utf-8").replace("exit: {below: 三星, years: 2}",
                                                         "exit: {below: 三星, years: 2, unreadable: keep}"), "utf-8")
    got = by_id(rate(city, tmp_path / "kept", "--registry", str(registry), "--previous", last, programme=keep, paper=True))
    assert (got["C3"]["years_below"], got["C8"]["years_below"], got["C8"]["exit"]) == (0, 1, False)
    assert "本年度不计入连续未达到三星的年数（保留上一年的年数）" in pdf_text(tmp_path / "kept" / "committee.pdf")


def test_the_registry_decides_who_pays(city: Path, tmp_path: Path) -> None:
    # C2's bundle says 乙区, the registry 甲区; C4's registry cell is blank; C5 is not in the registry; C8 has
    # no bundle. Registry order: 甲区 (C1, C2, C3, C7), then 乙区 (C6); C4 and C5 are left to settle.
    registry = _registry(tmp_path, "C1,C1中心,甲区\nC2,C2中心,甲区\nC3,C3中心,甲区\nC4,C4中心,\n"
                                   "C6,C6中心,乙区\nC7,C7中心,甲区\nC8,C8中心,乙区\n")
    data = rate(city, tmp_path / "out", "--registry", str(registry), paper=True)
    got = by_id(data)
    assert (got["C2"]["district"], got["C2"]["bundle_district"]) == ("甲区", "乙区")
    assert (got["C4"]["district"], got["C5"]["district"]) == ("", "")
    assert data["problems"] == [
        "C5中心（C5）不在名册中：奖励暂不计入任何区（市），请核实名册",
        "C2中心（C2）：材料包填写的区（市）为“乙区”，名册为“甲区”；按名册由甲区兑现，请核实",
        "名册中C4中心（C4）的区（市）为空：奖励暂不计入任何区（市），请补全名册",
        "名册中的C8中心（C8）没有报送材料包：未评定，不予奖励"]
    assert [(d["district"], d["centers"]) for d in data["districts"]] == [("甲区", 4), ("乙区", 1), ("", 2)]
    assert data["totals"]["centers"] == 7 and data["totals"]["reward"] == sum(d["reward"] for d in data["districts"])
    from .test_report import pdf_text

    text = pdf_text(tmp_path / "out" / "committee.pdf")
    assert "区（市）待核实" in text and "按名册由甲区兑现，请核实" in text


def test_the_committee_paper_says_why(rated: Run) -> None:
    # centers-total 8 × 50% = 4 places; eligible by score: C1 95, C2 88, C3 85, C4 82, C5 82, C6 72 (三星);
    # the 4th and 5th tie on 82 and are excluded, so 3 are rewarded. Competition ranking: C4 and C5 share 4th,
    # C6 is 6th. C1: 600,000 × 95 ÷ 100 = 570,000; C2: 300,000 × 88 ÷ 100 = 264,000.
    data = ratings(rated.out)
    assert [c["rank"] for c in data["centers"]] == [1, 2, 3, 4, 4, 6, 7]
    from .test_report import pdf_text

    text = pdf_text(rated.out / "committee.pdf")
    assert "奖励600,000×95÷100=570,000元" in text and "奖励300,000×88÷100=264,000元" in text
    assert "——奖励名额线：以上获得奖励3个（名额4个）——" in text
    assert "名额线上并列（可获奖励的第4位，名额4个），按方案不予奖励" in text
    assert "名额线外（可获奖励的第6位，名额4个），不予奖励" in text
    # C7: 40 + 20 = 60 < 70 for 三星 (both parts above 40%): held by the points alone.
    assert "未达到三星：总分60分，低于三星要求的70分（差10分）；不予奖励" in text
    sheet = pdf_text(rated.out / "评定报告" / "C6_C6中心.pdf")
    assert "全市排名6/7" in sheet and "本年度不予奖励：名额线外（可获奖励的第6位，名额4个）。" in sheet
    sheet = pdf_text(rated.out / "评定报告" / "C1_C1中心.pdf")
    assert "奖励570,000元（600,000×95÷100=570,000）" in sheet


def test_the_target_is_compared_exactly() -> None:
    from types import SimpleNamespace
    from typing import cast

    from scoring.domain.records import Rating
    from scoring.papers.report.committee import _target

    def target(reached: int, total: int) -> str:
        plan = SimpleNamespace(target_band="三星", target_share=Decimal(50))
        return _target(cast(Rating, SimpleNamespace(programme=plan, city_total=total, at_target=reached)))

    # 500 of 1001 is 49.95…%: short of 50%, and shown rounded down so it never reads as 50%.
    assert target(500, 1001).endswith("49.95%；目标为不低于 50%：未达到")
    assert target(501, 1002).endswith("50%；目标为不低于 50%：已达到")


def test_the_committee_papers_are_pdf_a_3b_and_carry_their_json(rated: Run) -> None:
    import hashlib

    from pypdf import PdfReader

    from .test_report import pdf_text

    whole = (rated.out / "ratings.json").read_bytes()
    centers = {c["id"]: c for c in json.loads(whole)["centers"]}
    papers = [("committee.pdf", "rating.json"), *((f"评定报告/C{k}_C{k}中心.pdf", "center.json") for k in range(1, 8))]
    for name, attached in papers:
        reader = PdfReader(rated.out / name)
        root = reader.trailer["/Root"]
        xmp = root["/Metadata"].get_object().get_data().decode()
        assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="B"' in xmp, name
        assert root["/OutputIntents"][0].get_object()["/S"] == "/GTS_PDFA1", name
        assert len(reader.trailer["/ID"]) == 2, name  # PDF/A asks for a file identifier
        (spec,) = {f.idnum: f.get_object() for f in root["/AF"]}.values()
        assert spec["/AFRelationship"] == "/Data" and spec["/F"] == attached, name
        data = spec["/EF"]["/F"].get_object().get_data()
        # The digest printed on the paper is the attachment's; the committee's attachment is ratings.json.
        assert f"结果JSONSHA-256：{hashlib.sha256(data).hexdigest()}" in pdf_text(rated.out / name), name
        if attached == "rating.json":
            assert data == whole
        else:  # a sheet carries its own center's entry, and is that center's sheet from its first page
            entry = json.loads(data)["center"]
            assert entry == centers[entry["id"]] and name == f"评定报告/{entry['id']}_{entry['id']}中心.pdf"
            assert reader.pages[0].extract_text().replace(" ", "").count("被评定单位") == 1
            assert f"被评定单位{entry['id']}中心" in pdf_text(rated.out / name).split("一、评定结果")[0]
    # The sheets were written once and cut: every sheet has the same font subsets, named alike (each
    # written alone would subset the fonts again, for its own glyphs, under a name of its own).
    fonts = {str(font.get_object()["/BaseFont"]) for k in range(1, 8)
             for page in PdfReader(rated.out / f"评定报告/C{k}_C{k}中心.pdf").pages
             for font in page["/Resources"]["/Font"].values()}
    assert len(fonts) == 2 and {f.split("+")[1] for f in fonts} == {"Noto-Sans-CJK-SC", "Noto-Sans-CJK-SC-Bold"}


@pytest.mark.parametrize("name", ["committee.pdf", "评定报告/C2_C2中心.pdf"])
def test_verify_checks_the_committee_papers(rated: Run, tmp_path: Path, name: str) -> None:
    from pypdf import PdfReader, PdfWriter

    result = CliRunner().invoke(main, ["verify", str(rated.out / name)])
    assert result.exit_code == 0 and "与页面上印的 SHA-256 一致" in result.output, result.output
    writer = PdfWriter()
    for page in PdfReader(rated.out / name).pages:
        writer.add_page(page)
    writer.add_attachment("center.json" if "C2" in name else "rating.json", b'{"centers": []}')
    with (tmp_path / "swapped.pdf").open("wb") as f:
        writer.write(f)
    result = CliRunner().invoke(main, ["verify", str(tmp_path / "swapped.pdf")])
    assert result.exit_code == 1 and "与页面上印的摘要不符" in result.output and "附件被替换或改动过" in result.output
