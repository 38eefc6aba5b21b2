"""Hostile workbooks: each built here by editing the blank workbook's XML inside its zip, and each refused
in Chinese naming the sheet and the row or cell, at a small and bounded cost: rows and cells past the
budgets are never built, nothing a clerk cannot see is read in silence, and a number obeys bundle.yaml's
rule (finite, 15 significant digits, within 10^±15)."""

from __future__ import annotations

import contextlib
import io
import time
import tracemalloc
import warnings
import zipfile
from collections.abc import Callable
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import openpyxl
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.utils import get_column_letter

from scoring.base import limits
from scoring.base.errors import ScoringError
from scoring.faces.cli import main
from scoring.loading import sheetxml, workbook
from scoring.loading.rubric import load
from scoring.loading.yamlio import load_yaml

from .conftest import LONG_TESTS, MINI

INPUTS = "xl/worksheets/sheet2.xml"  # 指标填报: row 9 asks for the rate `coverage` in E9
EMPTY_E9 = '<c r="E9" s="3" t="n" />'
NAME = "县/填报表.xlsx"
MIB = 1024 * 1024
TYPES = "[Content_Types].xml"
bounded_examples = settings(max_examples=200 if LONG_TESTS else 12, deadline=None, derandomize=True, database=None,
                            suppress_health_check=[HealthCheck.too_slow])
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


@cache
def blank() -> bytes:
    return workbook.blank(load(MINI), "测试县")


def edited(part: str, edit: Callable[[str], str]) -> bytes:
    """The blank workbook with one part's XML edited (the edit must change it)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(blank())) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == part:
                changed = edit(data.decode("utf-8"))
                assert changed != data.decode("utf-8")
                data = changed.encode("utf-8")
            dst.writestr(info.filename, data)
    return out.getvalue()


def in_e9(value: str) -> bytes:
    return edited(INPUTS, lambda xml: xml.replace(EMPTY_E9, f'<c r="E9" s="3"><v>{value}</v></c>'))


def refused(raw: bytes, peak: int | None = None) -> str:
    """What reading the workbook says; with `peak`, checked to have cost little: under `peak` bytes and a
    few seconds (well under one without tracemalloc; openpyxl took minutes and gigabytes for some)."""
    if peak is not None:
        tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(ScoringError) as caught:
            workbook.read(raw, NAME)
        elapsed, (_, used) = time.perf_counter() - start, tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak is None or (used < peak and elapsed < 5), (used, elapsed)
    text = str(caught.value)
    assert text.startswith(f"文件 {NAME}，") and "Traceback" not in text
    return text


def test_the_blank_workbook_reads_within_the_same_small_cost() -> None:
    doc, used = _read_traced(blank())
    assert doc.data["assessee"] == {"name": "测试县"} and used < 4 * MIB


def _read_traced(raw: bytes) -> tuple[Any, int]:
    """The workbook read, and the peak memory its reading traced."""
    tracemalloc.start()
    try:
        doc = workbook.read(raw, NAME, need_hash=False)
        return doc, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_each_cell_reads_as_openpyxl_reads_it() -> None:
    # The streamed reader hands out openpyxl's own cells: the same value and number format for each kind a
    # clerk's program saves (shared and inline strings, rich text, numbers, percentages, dates, booleans,
    # formulas' saved values, errors), as openpyxl's read-only sheet gives them.
    wb = openpyxl.load_workbook(io.BytesIO(blank()))
    ws = wb[workbook.INPUTS]
    for at, value in {"E3": "是", "E5": 3, "E7": 1.5, "E9": 0.857, "G7": " 理由 ", "E10": True,
                      "H3": datetime(2022, 5, 1), "H4": "#N/A", "H5": 12345678901234}.items():
        ws[at] = value
    ws["E9"].number_format = "0.0%"
    saved = io.BytesIO()
    wb.save(saved)
    parts = {name: zipfile.ZipFile(saved).read(name).decode("utf-8") for name in (INPUTS, TYPES)}
    rich = '<c r="H6" s="3" t="inlineStr"><is><r><t>富</t></r><r><t>文本</t></r></is></c><c r="X6"'
    shared = '<c r="H7" t="s"><v>1</v></c><c r="X7"'  # a shared string, as Excel and WPS save text
    xml = parts[INPUTS].replace('<c r="H6" s="3"', rich, 1).replace('<c r="H7" s="3"', shared, 1)
    raw = edited_bytes(saved.getvalue(), INPUTS, xml)
    raw = edited_bytes(raw, TYPES, parts[TYPES].replace("</Types>", '<Override PartName="/xl/sharedStrings.xml" '
                       'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>'))
    raw = edited_bytes(raw, "xl/sharedStrings.xml", f'<sst xmlns="{MAIN}"><si><t>甲</t></si><si><t>共享文字</t></si></sst>')
    book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    for title, width in ((workbook.INFO, 2), (workbook.INPUTS, 9), (workbook.DOCUMENTS, 7), (workbook.TEXTS, 3)):
        theirs = {r: [(c.value, c.number_format) for c in row] for r, row in
                  enumerate(book[title].iter_rows(max_col=width), start=1) if any(c.value is not None for c in row)}
        ours = {row.number: [(c.value, c.number_format) for c in row.cells] for row in
                sheetxml.rows(book[title], width, NAME) if any(c.value is not None for c in row.cells)}
        assert ours == theirs, title
        if title == workbook.INPUTS:
            assert (ours[6][7], ours[7][7], ours[9][4]) == (("富文本", "General"), ("共享文字", "General"), (0.857, "0.0%"))


# ------------------------------------------------------------------ numbers: one rule with bundle.yaml


# The two refusals of a number, with their hints: the same words whatever file carried it.
HINTS = {"位数过多或超出范围": "数值最多 15 位有效数字", "不是有限的数（无穷大或 NaN）": "请填写具体的数值，最多 15 位有效数字"}


@pytest.mark.parametrize(("value", "said"), [
    ("1e999", "数值 1e999 位数过多或超出范围"),  # a float infinity to openpyxl
    ("1e300", "数值 1E+300 位数过多或超出范围"),
    ("NaN", "数值 NaN 不是有限的数（无穷大或 NaN）"),
    ("-inf", "数值 -inf 不是有限的数（无穷大或 NaN）"),
    ("1e-20", "数值 1E-20 位数过多或超出范围"),
])
def test_a_number_cell_out_of_bounds_is_refused_naming_it(value: str, said: str) -> None:
    text = refused(in_e9(value))
    assert f"指标填报!E9：{said}（{HINTS[said.split(' ', 2)[-1]]}）" in text


@pytest.mark.parametrize(("value", "said"), [
    ("1.0e+999", "位数过多或超出范围"),
    ("1.0e+300", "位数过多或超出范围"),
    (".nan", "不是有限的数（无穷大或 NaN）"),
    ("-.Inf", "不是有限的数（无穷大或 NaN）"),
    ("1234567890123456", "位数过多或超出范围"),
])
def test_the_same_numbers_in_yaml_get_the_same_words(value: str, said: str) -> None:
    with pytest.raises(ScoringError) as caught:
        load_yaml(f"rubric: mini\ninputs:\n  \"2.1\":\n    coverage: {value}\n", "bundle.yaml")
    assert str(caught.value) == f"文件 bundle.yaml，第 4 行：数值 {value} {said}（{HINTS[said]}）"


def test_a_percent_and_a_long_float_stay_as_the_cell_shows_them() -> None:
    # 0.857 formatted as 0% is 85.7; 17 stored digits are the 15 a spreadsheet shows, inside the rule
    doc = workbook.read(in_e9("0.85700000000000001"), NAME, need_hash=False)
    assert str(doc.data["inputs"]["2.1"]["coverage"]["value"]) == "0.857"


def test_infinity_never_reaches_the_json_output(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "县").mkdir()
    (tmp_path / "县" / workbook.FILE).write_bytes(in_e9("1e999"))
    result = runner.invoke(main, ["score", str(tmp_path / "县"), "--rubric", str(MINI), "--format", "json"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "指标填报!E9：数值 1e999 位数过多或超出范围" in result.output


def test_a_date_formatted_number_no_date_can_be_is_refused() -> None:
    # 基本信息!B5 (评估期开始) holds a date; a serial past the year 9999 is no date
    raw = edited("xl/worksheets/sheet1.xml", lambda xml: xml.replace('<v>44562</v>', '<v>99999999</v>', 1))
    assert "基本信息!B5：日期 99999999 超出范围" in refused(raw)


# ------------------------------------------------------------------ what a clerk cannot see


def test_a_hidden_sheet_that_is_read_is_refused() -> None:
    raw = edited("xl/workbook.xml", lambda xml: xml.replace('name="指标填报" sheetId="2" state="visible"',
                                                             'name="指标填报" sheetId="2" state="hidden"'))
    assert "指标填报!A1：工作表 “指标填报” 被隐藏" in refused(raw)


def test_a_hidden_row_holding_a_value_is_refused_naming_it() -> None:
    raw = edited(INPUTS, lambda xml: xml.replace('<row r="9" ', '<row r="9" hidden="1" ').replace(
        EMPTY_E9, '<c r="E9" s="3"><v>85.7</v></c>'))
    assert "指标填报!A9：工作表 “指标填报” 第 9 行被隐藏" in refused(raw)


def test_a_hidden_row_of_empty_cells_is_no_secret() -> None:
    row = '<row r="14" hidden="1"><c r="E14" s="3"/><c r="F14" s="3" t="inlineStr"><is><t> </t></is></c></row>'
    raw = edited(INPUTS, lambda xml: xml.replace("</sheetData>", row + "</sheetData>"))
    assert workbook.read(raw, NAME, need_hash=False).data["inputs"]["2.1"]["coverage"]["value"] is None


# ------------------------------------------------------------------ rows and cells past the budgets


@pytest.mark.parametrize("row", [limits.WORKBOOK_ROWS + 1, limits.WORKBOOK_ROWS + 2])
def test_a_row_past_the_limit_is_refused_not_dropped(row: int) -> None:
    extra = f'<row r="{row}"><c r="E{row}" t="inlineStr"><is><t>x</t></is></c></row></sheetData>'
    text = refused(edited(INPUTS, lambda xml: xml.replace("</sheetData>", extra)), peak=2 * MIB)
    assert f"指标填报!A{row}：工作表 “指标填报” 行数过多：第 {row} 行超出上限 {limits.WORKBOOK_ROWS} 行" in text


def test_a_claimed_range_past_the_limits_is_refused_before_any_row() -> None:
    raw = edited(INPUTS, lambda xml: xml.replace('<dimension ref="A1:I13" />', '<dimension ref="A1:XFD1048576" />'))
    assert "指标填报!A1：工作表 “指标填报” 的范围 A1:XFD1048576 超过上限（5000 行、26 列）" in refused(raw, peak=2 * MIB)


@pytest.mark.parametrize("cell", ['<c s="3"/>', '<c r="E5" s="3"/>'])
def test_a_wide_row_of_empty_styled_cells_is_refused_before_it_is_built(cell: str) -> None:
    # 100,000 cells: about 50 MB as openpyxl builds a row, 400 KB of XML, under 1 KB zipped
    raw = edited(INPUTS, lambda xml: xml.replace('<row r="5" ht="48" customHeight="1">',
                                                 '<row r="5" ht="48" customHeight="1">' + cell * 100_000))
    assert len(raw) < len(blank()) + 5000
    assert "指标填报!A5：工作表 “指标填报” 列数过多：超出上限 26 列" in refused(raw, peak=2 * MIB)


def test_what_follows_the_sheet_data_is_never_parsed() -> None:
    # 20,000 merged ranges after the data: openpyxl would build each one; the stream stops before them
    merged = "<mergeCells>" + '<mergeCell ref="J1:K1"/>' * 20_000 + "</mergeCells>"
    doc, used = _read_traced(edited(INPUTS, lambda xml: xml.replace("</sheetData>", "</sheetData>" + merged)))
    assert "inputs" in doc.data and used < 4 * MIB


def test_a_sheet_of_countless_elements_is_refused_at_its_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    # Elements outside any cell (here before the data) cost parsing too, each counted
    monkeypatch.setattr(limits, "WORKBOOK_ELEMENTS", 10_000)
    raw = edited(INPUTS, lambda xml: xml.replace("<sheetData>", "<a/>" * 20_000 + "<sheetData>"))
    assert "指标填报!A1：工作表 “指标填报” 内容过多（XML 元素超过 10000 个）" in refused(raw, peak=2 * MIB)


def test_scoring_docs_streams_every_sheet_before_loading_it_whole() -> None:
    # `scoring docs` loads the workbook whole to add rows: the sheets `read` skips (选项, hidden) are bounded too
    raw = edited("xl/worksheets/sheet5.xml", lambda xml: xml.replace("</sheetData>", "".join(
        f'<row r="{r}"><c r="A{r}" s="1"/></row>' for r in range(100, limits.WORKBOOK_ROWS + 2)) + "</sheetData>"))
    doc = workbook.read(raw, NAME, need_hash=False)
    with pytest.raises(ScoringError, match=f"工作表 “选项” 行数过多：第 {limits.WORKBOOK_ROWS + 1} 行"):
        workbook.register(raw, doc, [("D01", "documents/a.txt", "0" * 64)], {})


def test_a_sheet_over_its_unpacked_size_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "WORKBOOK_SHEET_BYTES", 9000)  # 指标填报 is 9,741 bytes unpacked
    assert "指标填报!A1：工作表 “指标填报” 过大（解压后 9741 字节，上限 9000 字节）" in refused(blank(), peak=2 * MIB)


# ------------------------------------------------------------------ generated sheets

VALUES = st.one_of(
    st.tuples(st.just("n"), st.sampled_from(["1", "85.7", "0.30000000000000004", "-0", "1e300", "1e999", "NaN",
                                             "12345678901234567890", "44562", "1.5E-3", "abc", ""])),
    st.tuples(st.sampled_from(["inlineStr", "str"]), st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]),
                                                            max_size=8)),
    st.tuples(st.just("b"), st.sampled_from(["0", "1"])),
    st.tuples(st.just("e"), st.sampled_from(["#N/A", "#DIV/0!"])),
)
COLUMNS = st.sampled_from([*range(1, 13)] * 3 + [limits.WORKBOOK_COLUMNS + 1])  # now and then one too far
CELLS = st.lists(st.tuples(COLUMNS, st.sampled_from(["0", "3", "5"]), VALUES, st.booleans(), st.booleans()),
                 max_size=6)  # column, style (5 a date), value, with its coordinate, with a formula
GAPS = st.sampled_from([1] * 10 + [2, 3, 0])  # now and then a row number repeated, as no program writes


def cell_xml(row: int, column: int, style: str, value: tuple[str, str], named: bool, formula: bool) -> str:
    kind, text = value
    where = f' r="{get_column_letter(column)}{row}"' if named else ""
    inner = (f"<is><t>{escape(text)}</t></is>" if kind == "inlineStr" else f"<v>{escape(text)}</v>")
    return f'<c{where} s="{style}" t="{kind}">' + ("<f>1+1</f>" if formula else "") + inner + "</c>"


@bounded_examples
@given(st.lists(st.tuples(GAPS, st.booleans(), CELLS), min_size=1, max_size=8))
def test_a_generated_sheet_reads_as_openpyxl_reads_it_or_is_refused(rows: list[tuple[int, bool, list]]) -> None:
    # Rows of every kind of cell appended to 指标填报: the streamed reader gives what openpyxl's read-only sheet
    # gives for each row holding a value, or refuses in Chinese (a budget, a hidden row, a number); 12 drawn
    # sheets by default, 200 with SCORING_LONG_TESTS=1.
    number, xml = 13, []
    for gap, hidden, cells in rows:
        number += gap
        xml.append(f'<row r="{number}"' + (' hidden="1"' if hidden else "") + ">"
                   + "".join(cell_xml(number, *c) for c in cells) + "</row>")
    raw = edited(INPUTS, lambda x: x.replace("</sheetData>", "".join(xml) + "</sheetData>"))
    book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    try:
        ours = {r.number: [(c.value, c.number_format) for c in r.cells]
                for r in sheetxml.rows(book[workbook.INPUTS], 9, NAME)}
    except ScoringError:
        return
    except (ValueError, IndexError, KeyError):  # a damaged file: workbook.read names the sheet
        with pytest.raises(ScoringError, match="无法读取工作表 “指标填报”"):
            workbook.read(raw, NAME, need_hash=False)
        return
    theirs = None
    with warnings.catch_warnings(), contextlib.suppress(ValueError):  # junk in a column not read: ours skips it
        warnings.simplefilter("ignore")  # openpyxl's own warning for a date serial out of range
        theirs = {r: [(c.value, c.number_format) for c in row] for r, row in
                  enumerate(book[workbook.INPUTS].iter_rows(max_row=limits.WORKBOOK_ROWS, max_col=9), start=1)}
    if theirs is None:
        return
    assert {r: row for r, row in ours.items() if any(v is not None for v, _ in row)} == {
        r: row for r, row in theirs.items() if any(v is not None for v, _ in row)}
    with contextlib.suppress(ScoringError):
        workbook.read(raw, NAME, need_hash=False)


# ------------------------------------------------------------------ the worst workbook within the budgets


def at_the_limits() -> bytes:
    """Each of the four sheets read filled to WORKBOOK_ROWS rows of WORKBOOK_COLUMNS cells, its own header
    first, every cell of the columns read holding text and the rest styled but empty, within its bytes."""
    sheets = {"xl/worksheets/sheet1.xml": workbook.INFO_COLUMNS, INPUTS: workbook.INPUT_COLUMNS,
              "xl/worksheets/sheet3.xml": workbook.DOCUMENT_COLUMNS, "xl/worksheets/sheet4.xml": workbook.TEXT_COLUMNS}
    parts = {}
    for part, columns in sheets.items():
        width = 2 if columns is workbook.INFO_COLUMNS else len(columns)
        letters = [chr(65 + k) for k in range(limits.WORKBOOK_COLUMNS)]
        head = "".join(f'<c r="{c}1" t="inlineStr"><is><t>{h}</t></is></c>' for c, (h, _) in zip(letters, columns, strict=False))
        rows = [f'<row r="1">{head}</row>']
        for r in range(2, limits.WORKBOOK_ROWS + 1):
            filled = "".join(f'<c r="{c}{r}" t="inlineStr"><is><t>第{r}行{c}列</t></is></c>' for c in letters[:width])
            rows.append(f'<row r="{r}">{filled}' + "".join(f'<c r="{c}{r}" s="1"/>' for c in letters[width:]) + "</row>")
        parts[part] = ('<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                       f'<dimension ref="A1:{letters[-1]}{limits.WORKBOOK_ROWS}"/><sheetData>{"".join(rows)}'
                       "</sheetData></worksheet>")
        assert len(parts[part].encode("utf-8")) <= limits.WORKBOOK_SHEET_BYTES
    raw = blank()
    for part, xml in parts.items():
        raw = edited_bytes(raw, part, xml)
    return raw


def edited_bytes(raw: bytes, part: str, xml: str) -> bytes:
    """The workbook with one part replaced, or added."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename != part:
                dst.writestr(info.filename, src.read(info))
        dst.writestr(part, xml.encode("utf-8"))
    return out.getvalue()


@pytest.mark.skipif(not LONG_TESTS, reason="a workbook at every sheet budget: SCORING_LONG_TESTS=1")
def test_a_workbook_at_its_limits_reads_within_the_target() -> None:
    # The target is bench/run.py's (5 s, 500 MB), in CPU seconds: the machine running the tests is shared.
    raw = at_the_limits()
    start = time.process_time()
    with pytest.raises(ScoringError):  # its labels and codes are nonsense, each named: the reading is the cost
        workbook.read(raw, NAME)
    spent = time.process_time() - start
    tracemalloc.start()
    try:
        with pytest.raises(ScoringError):
            workbook.read(raw, NAME)
        _, used = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(f"workbook at its limits: {len(raw)} bytes, read in {spent:.2f} CPU s, peak {used / MIB:.0f} MiB")
    assert spent < 5 and used < 500 * MIB
