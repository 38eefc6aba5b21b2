"""The one look of every spreadsheet we write, and its bytes: a table's header row frozen, repeated on
every printed page and set up for A4 landscape; boxed, wrapped cells in rows tall enough for their text;
the workbook stamped with a date from the data instead of the clock, so the same content gives the same
bytes. The fill-in workbook (loading/workbook.py) and the papers' sheets (papers/sheets.py) both use it."""

from __future__ import annotations

import io
import math
import re
import unicodedata
import zipfile
from collections.abc import Mapping, Sequence
from copy import copy
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from scoring.base.numbers import fmt

THIN = Side(style="thin", color="808080")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEAD = PatternFill("solid", fgColor="D9E1F2")
TO_FILL = PatternFill("solid", fgColor="FFF2CC")  # the cells a county fills in
BAND = PatternFill("solid", fgColor="EDEDED")  # a category's heading or subtotal
WRAP = Alignment(wrap_text=True, vertical="top")
LINE_HEIGHT = 15  # points per line of wrapped text at the default font size
FONT = "等线"  # a CJK font Excel and WPS have; LibreOffice falls back to a CJK font it has (Noto, 宋体)
OPEN = Protection(locked=False)  # a cell a clerk may type in on a protected sheet


def to_fill(cell: Any) -> None:
    """A cell the county fills in: yellow, and open on the protected sheet."""
    cell.fill, cell.protection = TO_FILL, OPEN


def protect(ws: Worksheet) -> None:
    """Everything but the open cells protected, with no password (an expert can unprotect it); rows and
    columns may still be resized."""
    ws.protection.sheet = True
    ws.protection.formatRows = ws.protection.formatColumns = False


def display_width(text: str) -> int:
    """Width in narrow characters: a Chinese character takes two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def table(ws: Worksheet, columns: Sequence[tuple[str, int]], title: str = "") -> int:
    """A header row of (title, width in narrow characters), frozen, repeated on every printed page,
    and the sheet set up for A4 landscape, as wide as one page. With a title, the title is row 1 (and the
    printed page's header, with page numbers in its footer). The header's row."""
    for k, (_, width) in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(k)].width = width
    head = 2 if title else 1
    if title:
        write(ws, 1, 1, title).font = Font(name=FONT, bold=True, size=14)
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(columns))
        ws.row_dimensions[1].height = LINE_HEIGHT * 2
        for part, text in ((ws.oddHeader, title), (ws.oddFooter, "第 &P 页，共 &N 页")):
            if part is not None:
                part.center.text = text
    put(ws, head, [name for name, _ in columns], HEAD, bold=True)
    ws.freeze_panes = f"B{head + 1}"
    ws.print_title_rows = f"{head}:{head}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.print_options.gridLines = False
    return head


def write(ws: Worksheet, row: int, column: int, value: Any) -> Any:
    """One cell, and the one way every cell we write gets its value: a figure as a number, a text always as
    a string cell (openpyxl would make a text starting with "=" a formula and "#N/A" an error), so that no
    spreadsheet evaluates text from outside (OWASP's guidance). Our own formulas are set apart, as formulas."""
    cell = ws.cell(row=row, column=column, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
    return cell


def put(ws: Worksheet, row: int, values: Sequence[Any], fill: PatternFill | None = None,
        bold: bool = False) -> None:
    """One row of boxed, wrapped cells, tall enough for its longest text (spreadsheets do not grow a
    row by themselves for text written into it)."""
    lines = 1
    for k, value in enumerate(values, start=1):
        cell = write(ws, row, k, value)
        if k == 1:  # openpyxl looks a style up by value each time it is set: set it once, copy it along the row
            cell.border, cell.alignment = BOX, WRAP
            if fill is not None:
                cell.fill = fill
            cell.font = Font(name=FONT, bold=bold)
            style = cell._style
        else:
            cell._style = copy(style)
        width = ws.column_dimensions[get_column_letter(k)].width or 10
        if isinstance(value, str):
            # CJK fonts run wider than a column's nominal characters (more so in LibreOffice's fallback
            # fonts): count 70% of them to a line, and leave a little room under the last line.
            lines = max(lines, sum(max(1, math.ceil(display_width(part) / max(width * 0.7, 1)))
                                   for part in value.split("\n")))
    ws.row_dimensions[row].height = LINE_HEIGHT * lines + (3 if lines > 1 else 0)


def moment(day: str) -> datetime:
    """A date in the data (YYYY-MM-DD) as the workbook's created and modified time."""
    return datetime.combine(date.fromisoformat(day), datetime.min.time())


def save(wb: Workbook, when: datetime, cached: Mapping[int, Mapping[str, Decimal]] | None = None) -> bytes:
    """The workbook's bytes, stamped with `when` (from the data) instead of the clock, in its document
    properties and in every zip entry, so that the same content gives the same bytes. `cached` gives, per
    sheet (by position), the value to save with each formula cell: openpyxl saves formulas without one."""
    wb.properties.created = wb.properties.modified = when
    wb.properties.creator = wb.properties.lastModifiedBy = "county-scoring"
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(wb, archive).save()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw.getvalue())) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=when.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            data = src.read(info)
            sheet = re.fullmatch(r"xl/worksheets/sheet(\d+)\.xml", info.filename)
            if sheet and cached and (int(sheet.group(1)) - 1) in cached:
                data = _with_values(data.decode(), cached[int(sheet.group(1)) - 1]).encode()
            dst.writestr(entry, data)
    return out.getvalue()


def _with_values(xml: str, values: Mapping[str, Decimal]) -> str:
    for cell, value in values.items():
        xml = re.sub(rf'(<c r="{cell}"[^>]*><f>[^<]*</f>)(<v\s*/>)?(</c>)', rf"\g<1><v>{fmt(value)}</v>\g<3>", xml,
                     count=1)
    return xml
