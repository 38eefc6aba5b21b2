"""Results as spreadsheets (--format xlsx): the engine's exact figures, live formulas, the same bytes."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import openpyxl
from click.testing import CliRunner

from scoring.faces.cli import main

from .conftest import ROOT, SAMPLE

CITY, PROVINCE = (ROOT / "evidence" / f"gaoqing_2022_review_{s}.yaml" for s in ("city", "province"))


def written(runner: CliRunner, target: Path, *args: str) -> bytes:
    result = runner.invoke(main, ["score", str(SAMPLE), "--format", "xlsx", "-o", str(target), *args])
    assert result.exit_code == 0, result.output
    return target.read_bytes()


def test_the_score_sheet_saves_the_engine_figures_under_its_formulas(runner: CliRunner, tmp_path: Path) -> None:
    raw = written(runner, tmp_path / "得分.xlsx", "--review", str(CITY), "--review", str(PROVINCE))
    values = openpyxl.load_workbook(io.BytesIO(raw), data_only=True).worksheets[0]
    formulas = openpyxl.load_workbook(io.BytesIO(raw)).worksheets[0]
    # Row 1 names the county, so printed sheets of several counties can be told apart; the header is row 2.
    assert values["A1"].value == "高青县自评打分表（县域养老服务体系建设示范创建指引与评分细则（2022年修订版））"
    assert values.oddFooter.center.text == "第 &P 页，共 &N 页" and "高青县" in str(values.oddHeader.center.text)
    head = [c.value for c in values[2]]
    assert head == ["序号", "一级指标", "二级指标", "评分标准", "指标性质", "分值", "自评得分", "有据得分",
                    "初评得分", "初评有据得分", "验收得分", "验收有据得分", "佐证材料"]
    last = values.max_row
    # The sample's figures as worked by hand in its header and in the two reviews: 84.2, 82.9 (有据 81.9: D12
    # rejected for 2.2's 1 point), 80.9 (有据 79.9). The saved text is the exact decimal; openpyxl reads
    # it back as the float nearest to it.
    assert [Decimal(str(c.value)) for c in values[last][5:12]] == [Decimal(v) for v in (
        "100", "84.2", "84.2", "82.9", "81.9", "80.9", "79.9")]
    assert str(formulas[f"G{last}"].value).startswith("=SUM(")
    subtotal = next(r for r in range(3, last) if str(values[f"A{r}"].value).startswith("小计：1、"))
    assert values[f"G{subtotal}"].value == 18 and formulas[f"G{subtotal}"].value == f"=SUM(G3:G{subtotal - 1})"
    # Formulas are protected (no password); the indicators' scores stay open.
    assert formulas.protection.sheet and not formulas.protection.password
    assert formulas[f"G{subtotal}"].protection.locked and not formulas[f"G{subtotal - 1}"].protection.locked
    row_23 = next(r for r in range(3, last) if values[f"A{r}"].value == "2.3")
    assert (values[f"G{row_23}"].value, values[f"I{row_23}"].value) == (1.7, 1.4)  # 1 − 0.3 + 1; 初评: 2 cases


def test_the_score_sheet_is_the_same_bytes_every_time(runner: CliRunner, tmp_path: Path) -> None:
    assert written(runner, tmp_path / "a.xlsx") == written(runner, tmp_path / "b.xlsx")


def test_xlsx_is_not_written_to_the_screen(runner: CliRunner) -> None:
    result = runner.invoke(main, ["score", str(SAMPLE), "--format", "xlsx"])
    assert result.exit_code == 1 and "XLSX 不能输出到屏幕" in result.output


def test_the_review_changes_as_a_sheet(runner: CliRunner, tmp_path: Path) -> None:
    def diff(target: Path) -> bytes:
        result = runner.invoke(main, ["diff", str(SAMPLE), "--review", str(CITY), "--review", str(PROVINCE),
                                      "-o", str(target)])
        assert result.exit_code == 0, result.output
        return target.read_bytes()

    raw = diff(tmp_path / "a.xlsx")
    assert raw == diff(tmp_path / "b.xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(raw)).worksheets[0]
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=2)]
    assert [r[2] for r in rows if r[0] == "初评" and r[2] != "合计"] == ["2.2", "2.3", "4.4"]
    totals = {r[0]: r[4:8] for r in rows if r[2] == "合计"}
    # 初评: 84.2 → 82.9 (supported 84.2 → 81.9); 验收: 82.9 → 80.9 (7.1 set from 4 to 2), as the reviews work out.
    assert totals == {"初评": [84.2, 82.9, 84.2, 81.9], "验收": [82.9, 80.9, 81.9, 79.9]}
