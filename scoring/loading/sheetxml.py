"""A workbook sheet's rows, streamed from its XML and bounded before anything is built.

openpyxl's reader builds every cell of a row (some 530 bytes each) whatever columns are asked for, and
parses a sheet to its very end (merged cells, validations, formats) whatever rows are asked for. Here expat
streams the sheet's part from the zip: its size, the range the sheet claims, each row's number and each
cell's column are checked against the budgets as they arrive, only the cells of the columns read become
openpyxl cells (through openpyxl's own `parse_cell`, so values, dates and number formats are the ones it
gives), and reading stops at the end of the sheet's data. What a clerk cannot see is not read in silence:
a hidden sheet, or a hidden row holding a value, is refused.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from math import isfinite
from typing import Any
from xml.etree.ElementTree import SubElement, TreeBuilder
from xml.parsers import expat

from openpyxl.cell.read_only import EMPTY_CELL, ReadOnlyCell
from openpyxl.utils.cell import column_index_from_string, get_column_letter, range_boundaries
from openpyxl.utils.datetime import from_excel
from openpyxl.worksheet._reader import WorkSheetParser

from scoring.base import limits
from scoring.base.errors import ScoringError
from scoring.base.numbers import accepted, refused

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
DIMENSION, SHEET_DATA, ROW, CELL, FORMULA, INLINE, TEXT = (
    MAIN + t for t in ("dimension", "sheetData", "row", "c", "f", "is", "t"))
DIGITS = "0123456789"
CHUNK = 64 * 1024
UNHIDE_SHEET = "请在 Excel 或 WPS 中右击工作表标签，选“取消隐藏”，检查其中的内容后保存"
UNHIDE_ROW = "请在 Excel 或 WPS 中取消隐藏该行（或清除筛选），检查其中的内容后保存"
TRIM = "请删除多余的行和列（包括只设了格式的空行、空列）后保存"


@dataclass(frozen=True)
class Row:
    """One row of a sheet as its file numbers it: a cell for each column read (openpyxl's EMPTY_CELL where
    the file has none), and whether each holds a formula."""

    number: int
    cells: list[Any]
    formulas: list[bool]


class _Stop(Exception):
    """The sheet's data has ended: nothing after it is parsed."""


def rows(ws: Any, width: int, name: str, shown: bool = True) -> Iterator[Row]:
    """The rows of a read-only openpyxl sheet, columns A to `width`, in the file's order; `shown`: the
    sheet is one a clerk fills in, so it must not be hidden."""
    title = str(ws.title)
    if shown and ws.sheet_state != "visible":
        raise ScoringError(f"工作表 “{title}” 被隐藏：其中的内容会被读取，但打开文件时看不到", name, f"{title}!A1",
                           hint=UNHIDE_SHEET)
    archive, part = ws.parent._archive, ws._worksheet_path
    size = archive.getinfo(part).file_size
    if size > limits.WORKBOOK_SHEET_BYTES:
        raise ScoringError(f"工作表 “{title}” 过大（解压后 {size} 字节，上限 {limits.WORKBOOK_SHEET_BYTES} 字节）",
                           name, f"{title}!A1", hint=TRIM)
    sheet = _Sheet(ws, title, width, name)
    with archive.open(part) as source:
        read = 0
        while not sheet.done:
            chunk = source.read(CHUNK)
            read += len(chunk)
            if read > limits.WORKBOOK_SHEET_BYTES:  # a part that unpacks to more than it declared
                raise ScoringError(f"工作表 “{title}” 过大（上限 {limits.WORKBOOK_SHEET_BYTES} 字节）", name, f"{title}!A1",
                                   hint=TRIM)
            sheet.feed(chunk)
            yield from sheet.ready
            sheet.ready.clear()


class _Sheet:
    """The expat handlers: the state of one sheet's reading, rows handed out as each ends."""

    def __init__(self, ws: Any, title: str, width: int, name: str) -> None:
        wb = ws.parent
        self.ws, self.title, self.width, self.name = ws, title, width, name
        # openpyxl's own cell reader, fed one cell at a time (its source is never read)
        self.cells = WorkSheetParser(io.BytesIO(), ws._shared_strings, data_only=True, epoch=wb.epoch,
                                     date_formats=wb._date_formats, timedelta_formats=wb._timedelta_formats)
        self.ready: list[Row] = []
        self.done = False
        self.row: Row | None = None
        self.hidden = False
        self.column = self.count = self.depth = self.elements = 0
        self.tree: TreeBuilder | None = None  # the cell being built, when it is one of the columns read
        self.parser = expat.ParserCreate(namespace_separator="}")
        self.parser.buffer_text = True
        self.parser.StartElementHandler = self._start
        self.parser.EndElementHandler = self._end
        self.parser.CharacterDataHandler = self._text
        self.parser.StartDoctypeDeclHandler = self._doctype

    def feed(self, chunk: bytes) -> None:
        try:
            self.parser.Parse(chunk, not chunk)
        except _Stop:
            self.done = True
        if not chunk:
            self.done = True

    def _doctype(self, *_: Any) -> None:
        raise ValueError("a sheet has no document type declaration")  # where entities would be declared

    def _start(self, tag: str, attrs: dict[str, str]) -> None:
        self.elements += 1
        if self.elements > limits.WORKBOOK_ELEMENTS:
            raise ScoringError(f"工作表 “{self.title}” 内容过多（XML 元素超过 {limits.WORKBOOK_ELEMENTS} 个）", self.name,
                               f"{self.title}!A{self.row.number if self.row else 1}", hint=TRIM)
        if self.tree is not None:
            self.depth += 1
            self.tree.start("{" + tag, attrs)
        elif tag == CELL and self.row is not None:
            self._cell(attrs)
        elif tag == ROW:
            self._row(attrs)
        elif tag == DIMENSION:
            self._claimed(attrs.get("ref", ""))

    def _end(self, tag: str) -> None:
        if self.tree is not None:
            self.tree.end("{" + tag)
            self.depth -= 1
            if not self.depth:
                self._built(self.tree.close())
                self.tree = None
        elif tag == ROW and self.row is not None:
            self._row_done(self.row)
        elif tag == SHEET_DATA:
            raise _Stop

    def _text(self, data: str) -> None:
        if self.tree is not None:
            self.tree.data(data)

    def _claimed(self, ref: str) -> None:
        """The range the sheet says it uses, refused when it reaches past the budgets."""
        _, _, columns, rows = range_boundaries(ref)
        if not rows or not columns or rows > limits.WORKBOOK_ROWS or columns > limits.WORKBOOK_COLUMNS:
            raise ScoringError(f"工作表 “{self.title}” 的范围 {ref[:40]} 超过上限（{limits.WORKBOOK_ROWS} 行、"
                               f"{limits.WORKBOOK_COLUMNS} 列）", self.name, f"{self.title}!A1", hint=TRIM)

    def _row(self, attrs: dict[str, str]) -> None:
        number = _number(attrs["r"]) if "r" in attrs else (self.row.number if self.row else 0) + 1
        if self.row is not None and number <= self.row.number:
            raise ValueError("rows out of order")  # as no program writes them: a damaged file
        if number > limits.WORKBOOK_ROWS:
            raise ScoringError(f"工作表 “{self.title}” 行数过多：第 {number} 行超出上限 {limits.WORKBOOK_ROWS} 行",
                               self.name, f"{self.title}!A{number}",
                               hint=f"请删除第 {limits.WORKBOOK_ROWS} 行以后的行（包括只设了格式的空行）后保存")
        self.row = Row(number, [EMPTY_CELL] * self.width, [False] * self.width)
        self.hidden = attrs.get("hidden") in ("1", "true")
        self.column = self.count = 0
        self.cells.row_counter, self.cells.col_counter = number, 0

    def _cell(self, attrs: dict[str, str]) -> None:
        self.count += 1
        self.column = _column(attrs["r"].rstrip(DIGITS)) if "r" in attrs else self.column + 1
        if self.column > limits.WORKBOOK_COLUMNS or self.count > limits.WORKBOOK_COLUMNS:
            at = f"{self.title}!A{self.row.number if self.row else 1}"
            last = get_column_letter(limits.WORKBOOK_COLUMNS)
            raise ScoringError(f"工作表 “{self.title}” 列数过多：超出上限 {limits.WORKBOOK_COLUMNS} 列（A 至 {last} 列）",
                               self.name, at, hint=f"请删除 {last} 列以后的列（包括只设了格式的空单元格）后保存")
        if self.column <= self.width:
            self.tree, self.depth = TreeBuilder(), 1
            self.tree.start("{" + CELL, attrs)

    def _built(self, element: Any) -> None:
        """A cell of the columns read, made by openpyxl as its reader makes it."""
        assert self.row is not None
        self._number_in_range(element)
        _plain(element)
        self.cells.col_counter = self.column - 1
        cell = ReadOnlyCell(self.ws, **self.cells.parse_cell(element))
        self.row.cells[self.column - 1] = cell
        self.row.formulas[self.column - 1] = element.find("{" + FORMULA) is not None

    def _number_in_range(self, element: Any) -> None:
        """A number no spreadsheet program saves (1e999, NaN) refused here, in bundle.yaml's words and as the
        file writes it, before openpyxl reads it as a float (infinity) or, in a date cell, only warns (in
        English) and reads an error value; so is a date-formatted number that no date can be."""
        text = element.findtext("{" + MAIN + "v")
        if not text or element.get("t", "n") != "n":
            return
        assert self.row is not None
        at = f"{self.title}!{get_column_letter(self.column)}{self.row.number}"
        value = float(text)
        if not isfinite(value):
            accepted(Decimal(text), text, self.name, at)
            raise refused(text, self.name, at, finite=False)
        style = int(element.get("s", 0) or 0)
        if style in self.cells.date_formats:
            try:
                from_excel(value, self.cells.epoch, timedelta=style in self.cells.timedelta_formats)
            except (OverflowError, ValueError) as exc:
                raise ScoringError(f"日期 {text[:30]} 超出范围", self.name, at, hint="请填写如 2022-12-31 的日期") from exc

    def _row_done(self, row: Row) -> None:
        if self.hidden and any(_filled(c.value) for c in row.cells):
            raise ScoringError(f"工作表 “{self.title}” 第 {row.number} 行被隐藏：其中的内容会被读取，但打开文件时看不到",
                               self.name, f"{self.title}!A{row.number}", hint=UNHIDE_ROW)
        self.ready.append(row)


@cache
def _column(letters: str) -> int:
    """A column's number from its letters (at most 18,278 of them, so the cache is bounded)."""
    return column_index_from_string(letters)


def _plain(element: Any) -> None:
    """An inline string of plain text (<is><t>…</t></is>, as openpyxl writes one) made the <v> of a "str"
    cell: `parse_cell` then gives it the same value, without the rich-text machinery it takes four times
    as long through."""
    if element.get("t") != "inlineStr" or len(element) != 1 or element[0].tag != "{" + INLINE:
        return
    inline = element[0]
    if len(inline) != 1 or inline[0].tag != "{" + TEXT or len(inline[0]) or not inline[0].text:
        return  # rich text, or empty text (openpyxl's "", where a <v> would give None): openpyxl's way
    text = inline[0].text
    element.remove(inline)
    SubElement(element, "{" + MAIN + "v").text = text
    element.set("t", "str")


def _number(text: str) -> int:
    """A row's number as openpyxl reads it: 5, or 5.0."""
    try:
        return int(text)
    except ValueError:
        value = float(text)
        if not value.is_integer():
            raise
        return int(value)


def _filled(value: Any) -> bool:
    return value is not None and (not isinstance(value, str) or bool(value.strip()))
