"""Every band explained (tests/fixtures/bands.yaml: 五星/四星/三星 at 90/80/70 points with each part at
60%/50%/40%; parts of 60 and 40 points): for each band above the one reached, up to the band applied for or
the top, what held it, and the band the total alone would have given. Figures worked by hand."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from scoring.domain import engine
from scoring.domain.results import BandHeld
from scoring.faces.cli import main
from scoring.loading.bundle import open_bundle
from scoring.loading.rubric import load

from .conftest import FIXTURES, make_bundle

BANDS = FIXTURES / "bands.yaml"
RUBRIC = load(BANDS)
BIG = {"floor_area": 1200, "functions": ["meals", "bathing", "day_care"], "safety_accident": False}


def bundle(tmp_path: Path, part1: int, part2: int, **facts: Any) -> Path:
    inputs = {"1.1": {"points": {"value": part1, "reason": "现场评定"}},
              "2.1": {"points": {"value": part2, "reason": "现场评定"}}}
    return make_bundle(tmp_path / "b", inputs, rubric="bands_demo", facts={**BIG, **facts})


def verdict(tmp_path: Path, part1: int, part2: int, **facts: Any) -> engine.Verdict:
    return engine.score(RUBRIC, open_bundle(bundle(tmp_path, part1, part2, **facts))).own.verdict


def test_asked_five_rated_three_says_why_not_four(tmp_path: Path) -> None:
    # 50 + 25 = 75: 三星 (≥ 70; 50/60 and 25/40 above 40%); 四星 needs 80 (5 short); 五星 needs 90 (15 short)
    # and part 2 at 60% of 40 = 24 (25 holds).
    v = verdict(tmp_path, 50, 25, requested_band="five")
    assert v.band == "三星" and v.next == "五星"
    assert v.held == ("总分 75 分，低于五星要求的 90 分（差 15 分）",)
    assert v.above == (BandHeld("四星", ("总分 75 分，低于四星要求的 80 分（差 5 分）",)),
                       BandHeld("五星", ("总分 75 分，低于五星要求的 90 分（差 15 分）",)))
    assert [b.band for b in v.further] == ["四星"]
    assert v.by_total == "三星" and v.total_alone is None
    assert v.text == "申请五星，未达到五星条件；评定为三星"


def test_a_total_held_to_no_band_by_one_part_says_what_the_total_alone_gives(tmp_path: Path) -> None:
    # 60 + 15 = 75 (三星 by the total alone), but part 2 at 15 is below 40% of 40 = 16: no band at all.
    v = verdict(tmp_path, 60, 15)
    assert v.band is None and v.next == "三星" and v.by_total == "三星" and v.total_alone == "三星"
    assert v.held == ("一级指标“服务”得分 15 分，低于三星要求的 40%（16 分）",)
    assert [b.band for b in v.above] == ["三星", "四星", "五星"]  # no band asked for: up to the top
    assert v.text == "未达到星级" and v.by_total_text(Decimal(75)) == "仅按总分 75 分可评三星"


def test_no_band_reached_reads_without_rated_as_unrated(tmp_path: Path) -> None:
    # 60 + 15 = 75 asked for 四星: 四星 needs 80 and each part at 50% (20 of 40); no band reached.
    v = verdict(tmp_path, 60, 15, requested_band="four")
    assert "评定为未达到星级" not in v.text
    assert v.text == "申请四星，未达到四星条件；未达到星级"
    assert [b.band for b in v.above] == ["三星", "四星"]  # up to the band applied for


def test_the_table_and_the_json_explain_every_band(tmp_path: Path) -> None:
    path = bundle(tmp_path, 50, 25, requested_band="five")
    table = CliRunner().invoke(main, ["score", str(path), "--rubric", str(BANDS)])
    assert table.exit_code == 0, table.output
    assert "未达到五星的原因：\n  - 总分 75 分，低于五星要求的 90 分（差 15 分）" in table.output
    assert "未达到四星的原因：\n  - 总分 75 分，低于四星要求的 80 分（差 5 分）" in table.output
    out = CliRunner().invoke(main, ["score", str(path), "--rubric", str(BANDS), "--format", "json"])
    data = json.loads(out.stdout)["verdict"]
    assert data["further"] == [{"band": "四星", "held": ["总分 75 分，低于四星要求的 80 分（差 5 分）"]}]
    assert "by_total" not in data  # the total alone gives the band reached


def test_the_json_says_the_band_by_total_when_it_is_above(tmp_path: Path) -> None:
    out = CliRunner().invoke(main, ["score", str(bundle(tmp_path, 60, 15)), "--rubric", str(BANDS), "--format", "json"])
    assert "仅按总分 75 分可评三星" in CliRunner().invoke(main, ["score", str(tmp_path / "b"), "--rubric",
                                                            str(BANDS)]).output
    data = json.loads(out.stdout)["verdict"]
    assert data["by_total"] == "三星" and [b["band"] for b in data["further"]] == ["四星", "五星"]


def test_the_report_explains_every_band(tmp_path: Path) -> None:
    from scoring.papers.report.context import build

    result = engine.score(RUBRIC, open_bundle(bundle(tmp_path, 60, 15)))
    report = build(result)
    assert report.next_band == "三星" and report.held == ("一级指标“服务”得分 15 分，低于三星要求的 40%（16 分）",)
    assert [band for band, _ in report.further] == ["四星", "五星"]
    assert report.by_total == "仅按总分 75 分可评三星"


def test_the_committee_record_explains_every_band(tmp_path: Path) -> None:
    from scoring.jobs.rating import _center
    from scoring.papers.report.committee import SheetContext, sheets_html
    from scoring.pipeline.folder import Scored

    path = bundle(tmp_path, 60, 15)
    c = _center(path, Scored(path, engine.score(RUBRIC, open_bundle(path)), ()), ())
    assert c.next == "三星" and [band for band, _ in c.further] == ["四星", "五星"]
    assert c.by_total == "仅按总分 75 分可评三星"
    sheet = SheetContext("c0", "示例中心星级评定结果", "示例中心", "", "", "", "", "自评", "75", "75", "未达到星级",
                         "1 / 1", c.next or "", c.held, (), "", "", "", "", "", (), further=c.further, by_total=c.by_total)
    html = sheets_html([sheet])
    assert "未达到四星的原因：" in html and "未达到五星的原因：" in html and "仅按总分 75 分可评三星。" in html


def test_a_rubric_case_may_expect_every_band_explained(tmp_path: Path) -> None:
    import shutil

    shutil.copy(BANDS, tmp_path / "bands.yaml")
    case = tmp_path / "bands.tests" / "c"
    shutil.copytree(FIXTURES / "bands.tests" / "held_to_none_by_a_part", case)
    (case / "expected.yaml").write_text("total: 75\nby_total: 四星\nabove:\n  三星: [差 1 分]\n", "utf-8")
    result = CliRunner().invoke(main, ["rubric", "test", str(tmp_path / "bands.yaml")])
    assert result.exit_code == 1, result.output
    assert "仅按总分的星级：应为 四星，实际为 三星" in result.output
    assert "未达到三星的原因中应有“差 1 分”，实际为 “一级指标“服务”得分 15 分，低于三星要求的 40%（16 分）”" in result.output
