"""The fill-in workbook (填报表.xlsx): a bundle's manifest as sheets a county fills in Excel or WPS.

`blank` writes it for a rubric (`scoring init --xlsx`). `read` turns a filled one into the same manifest
data bundle.yaml gives, with the cell of every part, so that it passes the same schema and checks and
each error names its cell (指标填报!E12). Answers stay as the county wrote them (是, a choice's label,
several labels separated by 、): `inputs.py` reads those for YAML and workbooks alike.

A workbook is untrusted input: only the values a spreadsheet program saved are read, so no formula is
ever evaluated (one saved without its value is refused); macros and external links are not loaded; the
file and its unpacked parts are bounded, and each sheet is streamed within its rows and columns
(`sheetxml.py`); a number obeys bundle.yaml's rule (`numbers.accepted`).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import PurePosixPath
from typing import Any, Literal

from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from scoring.base import limits, tablelook
from scoring.base.errors import ScoringError, ScoringErrors
from scoring.base.numbers import ZERO, accepted, fmt
from scoring.domain.inputs import TYPES
from scoring.domain.model import NARRATIVE, WORKBOOK, Input, Line, Path, Rubric, line_at
from scoring.loading import sheetxml, unzip

FILE = WORKBOOK

INFO, INPUTS, DOCUMENTS, TEXTS, OPTIONS = "基本信息", "指标填报", "佐证文件", "报告文字", "选项"
FACT = "共用"  # column A of a shared fact's row

# 基本信息: the label in column A, the manifest's place for the value in column B, and how to fill it.
HEADER: tuple[tuple[str, Path, str], ...] = (
    ("评分细则", ("rubric",), "评分细则编号，请勿修改"),
    ("被评估单位", ("assessee", "name"), "如 高青县"),
    ("行政区划代码", ("assessee", "region_code"), "可不填"),
    ("评估期开始", ("period", "start"), "日期，如 2022-01-01"),
    ("评估期结束", ("period", "end"), "日期，如 2022-12-31"),
    ("评估期名称", ("period", "label"), "如 2022年度，可不填"),
    ("填报单位", ("signoff", "unit"), "加盖公章的单位全称"),
    ("单位负责人", ("signoff", "head"), ""),
    ("填报人", ("signoff", "preparer"), ""),
    ("联系电话", ("signoff", "phone"), ""),
    ("报告日期", ("signoff", "date"), "日期，如 2022-11-20；报告的日期都取自材料包"),
)
DATES = {("period", "start"), ("period", "end"), ("signoff", "date")}
CODES = {("assessee", "region_code"), ("signoff", "phone")}
OPEN_ROWS = 500  # rows of 佐证文件 a clerk may fill in by hand
MUST = {("rubric",), ("assessee", "name"), ("period", "start"), ("period", "end")}

INFO_COLUMNS = (("项目", 14), ("填写", 30), ("说明", 44))
INPUT_COLUMNS = (("指标", 7), ("指标名称", 22), ("性质", 6), ("填报内容", 44), ("填报值", 16),
                 ("佐证文件编号", 12), ("理由（酌情打分必填）", 26), ("备注", 14), ("输入代码（勿改）", 12))
DOCUMENT_COLUMNS = (("编号", 7), ("文件（材料包内路径）", 34), ("标题", 34), ("文号", 18), ("发文单位", 20),
                    ("日期", 12), ("SHA-256（scoring docs 填写）", 22))
TEXT_COLUMNS = (("部分", 10), ("说明", 30), ("内容", 90))
ANSWER = ("value", "documents", "reason", "note")  # 指标填报 columns E to H
DOCUMENT = ("id", "file", "title", "number", "issuer", "date", "sha256")  # 佐证文件 columns A to G
REQUIRED = {"id": "如 D01", "file": "如 documents/文件名.pdf", "title": "文件标题",
            "sha256": "运行 scoring docs 材料包目录，自动登记文件并填写"}
SPLIT_IDS = re.compile(r"[、，,；;\s]+")
RUBRIC_ID = re.compile(r"[A-Za-z][A-Za-z0-9_]*")  # as scoring/schemas/bundle.schema.json has it


# ---------------------------------------------------------------- the blank workbook


def blank(rubric: Rubric, assessee: str = "") -> bytes:
    wb = Workbook()
    info = wb.worksheets[0]
    info.title = INFO
    _info(info, rubric, assessee)
    options = wb.create_sheet(OPTIONS)
    _inputs(wb.create_sheet(INPUTS, 1), options, rubric)
    _documents(wb.create_sheet(DOCUMENTS, 2))
    _texts(wb.create_sheet(TEXTS, 3), rubric)
    options.sheet_state = "hidden"
    for ws in wb.worksheets:
        tablelook.protect(ws)
    wb.active = 1
    return tablelook.save(wb, tablelook.moment("2022-12-31"))


def _info(ws: Worksheet, rubric: Rubric, assessee: str) -> None:
    tablelook.table(ws, INFO_COLUMNS)
    given: dict[Path, Any] = {("rubric",): rubric.id, ("assessee", "name"): assessee,
             ("period", "start"): date(2022, 1, 1), ("period", "end"): date(2022, 12, 31)}
    for row, (label, path, how) in enumerate(HEADER, start=2):
        tablelook.put(ws, row, [label, given.get(path), how])
        if path != ("rubric",):  # the rubric's id is not the county's to change
            tablelook.to_fill(ws.cell(row=row, column=2))
        if path in DATES:
            ws.cell(row=row, column=2).number_format = "yyyy-mm-dd"
        elif path in CODES:  # typed as text: 05336961532 keeps its 0
            ws.cell(row=row, column=2).number_format = "@"
    title = f"{rubric.title}（{rubric.version}）自评填报表"
    tablelook.put(ws, len(HEADER) + 3, ["说明", title, "先填本表和“指标填报”；文件放入 documents 文件夹后运行 "
                  "scoring docs 登记到“佐证文件”；黄色为填写处。"])


def _inputs(ws: Worksheet, options: Worksheet, rubric: Rubric) -> None:
    tablelook.table(ws, INPUT_COLUMNS)
    row = 2
    rules: dict[str, DataValidation] = {}
    for fact in rubric.facts:
        users = "、".join(i.id for i in rubric.indicators if fact.name in i.facts)
        _input_row(ws, options, rules, row, [FACT, f"共用事实（指标 {users} 使用）", ""], fact)
        row += 1
    for cat in rubric.categories:
        tablelook.put(ws, row, [cat.id, f"{cat.title}（共 {fmt(cat.max)} 分）", *[None] * 7], tablelook.BAND, bold=True)
        row += 1
        for ind in cat.indicators:
            for inp in (i for i in ind.inputs if not i.fact):
                nature = rubric.natures.short(ind.mandatory)
                _input_row(ws, options, rules, row, [ind.id, f"{ind.title}（{fmt(ind.max)} 分）", nature], inp)
                row += 1
    for rule in rules.values():
        ws.add_data_validation(rule)


def _input_row(ws: Worksheet, options: Worksheet, rules: dict[str, DataValidation], row: int,
               head: list[str], inp: Input) -> None:
    tablelook.put(ws, row, [*head, f"{inp.prompt}\n{_how(inp)}", None, None, None, None, inp.name])
    for col in "EFGH":
        tablelook.to_fill(ws[f"{col}{row}"])
    rule = _validation(inp, options, rules)
    if rule is not None:
        rule.add(f"E{row}")


def _how(inp: Input) -> str:
    text = TYPES[inp.type].workbook_hint
    if inp.values:
        text += "：" + "／".join(label for _, label in inp.values)
    if inp.unit:
        text += f"，单位：{inp.unit}"
    if inp.min is not None or inp.max is not None:
        text += f"，范围 {fmt(inp.min) if inp.min is not None else '0'} 至 {fmt(inp.max) if inp.max is not None else '不限'}"
    return text + ("；须在“佐证文件编号”栏填写所引文件的编号" if inp.document else "")


def _validation(inp: Input, options: Worksheet, rules: dict[str, DataValidation]) -> DataValidation | None:
    """The answer cell checked by the spreadsheet program itself: a drop-down, or a number range.
    Inputs asking the same share one rule, since a sheet holds a limited number of them."""
    if not TYPES[inp.type].cell:
        return None
    key = f"{inp.type}:{inp.values}:{inp.min}:{inp.max}"
    if key not in rules:
        rules[key] = _new_rule(inp, options)
    return rules[key]


def _new_rule(inp: Input, options: Worksheet) -> DataValidation:
    cell = TYPES[inp.type].cell
    if cell == "yes_no":
        rule = DataValidation("list", formula1='"是,否"', allow_blank=True)
    elif cell == "choice":
        # The labels live on the hidden 选项 sheet: a list written into the rule is limited to 255 characters.
        labels = [label for _, label in inp.values]
        row = options.max_row + 1 if options["A1"].value is not None else 1
        for k, label in enumerate([inp.name, *labels], start=1):
            tablelook.write(options, row, k, label)
        cells = f"'{OPTIONS}'!$B${row}:${get_column_letter(len(labels) + 1)}${row}"
        rule = DataValidation("list", formula1=cells, allow_blank=True)
    else:
        low = fmt(inp.min if inp.min is not None else ZERO)
        kind: Literal["whole", "decimal"] = "whole" if cell == "whole" else "decimal"
        rule = (DataValidation(kind, operator="greaterThanOrEqual", formula1=low, allow_blank=True)
                if inp.max is None else
                DataValidation(kind, operator="between", formula1=low, formula2=fmt(inp.max), allow_blank=True))
    rule.error = "填报值不符合要求，请按“填报内容”一栏的说明填写"
    rule.errorTitle, rule.showErrorMessage = "填报值无效", True
    return rule


def _documents(ws: Worksheet) -> None:
    tablelook.table(ws, DOCUMENT_COLUMNS)
    for row in range(2, OPEN_ROWS + 2):
        for col in "ABCDEF":
            ws[f"{col}{row}"].protection = tablelook.OPEN
        ws[f"D{row}"].number_format = "@"  # a 文号 or code typed as text


def _texts(ws: Worksheet, rubric: Rubric) -> None:
    tablelook.table(ws, TEXT_COLUMNS)
    row = 2
    for _, heading, more in NARRATIVE:
        tablelook.put(ws, row, [heading, more or "自评报告的一个部分；空行分段，以“- ”开头的行为列表项", None])
        tablelook.to_fill(ws[f"C{row}"])
        row += 1
    for ind in rubric.indicators:
        tablelook.put(ws, row, [ind.id, f"工作说明：{ind.title}", None])
        tablelook.to_fill(ws[f"C{row}"])
        row += 1


# ---------------------------------------------------------------- reading a filled workbook


@dataclass
class SheetDoc:
    """A workbook as manifest data, with the cell (指标填报!E12) of every part."""

    data: dict[str, Any]
    lines: dict[Path, Line]
    name: str

    def line(self, path: Path) -> Line | None:
        return line_at(self.lines, path)


@dataclass(frozen=True)
class _Cell:
    value: Any
    at: str  # 指标填报!E12


def read(raw: bytes, name: str, need_hash: bool = True) -> SheetDoc:
    """The manifest a filled workbook gives, or ScoringErrors naming each bad cell. `scoring docs`
    reads it without needing every document's hash: filling those in is its job."""
    values = _open(raw, name, True)
    doc = SheetDoc({}, {(): f"{INFO}!A1"}, name)
    problems: list[ScoringError] = []
    rows = {title: list(_rows(values, title, width, name, problems))
            for title, width in ((INFO, 2), (INPUTS, 9), (DOCUMENTS, 7), (TEXTS, 3))}
    _read_info(doc, rows[INFO], problems)
    _read_inputs(doc, rows[INPUTS], problems)
    _read_documents(doc, rows[DOCUMENTS], problems, need_hash)
    _read_texts(doc, rows[TEXTS])
    if problems:
        raise ScoringErrors(problems)
    return doc


def _open(raw: bytes, name: str, data_only: bool) -> Any:
    if len(raw) > limits.WORKBOOK_BYTES:
        raise ScoringError(f"填报表过大（{len(raw)} 字节，上限 {limits.WORKBOOK_BYTES} 字节）", name,
                           hint="填报表只记录数据，佐证材料请作为单独文件放在 documents 文件夹中")
    try:
        unzip.check_workbook(raw, name)  # every part unpacked within its declared size before openpyxl does
        return load_workbook(io.BytesIO(raw), read_only=True, data_only=data_only, keep_links=False,
                             keep_vba=False)
    except ScoringError:
        raise
    except Exception as exc:  # an untrusted file can break a parser in many ways; none is a traceback
        raise ScoringError("无法读取填报表：不是有效的 .xlsx 文件", name,
                           hint="请在 Excel 或 WPS 中另存为 Excel 工作簿（.xlsx）") from exc


def _rows(values: Any, title: str, width: int, name: str, problems: list[ScoringError]) -> Iterator[list[_Cell]]:
    """Each filled row after the header, as cells A…, the header checked against ours. The sheet is
    streamed and bounded by `sheetxml.py`: rows and cells past the budgets are refused, never built."""
    if title not in values.sheetnames:
        raise ScoringError(f"找不到工作表 “{title}”", name, hint="请用 scoring init --xlsx 生成的填报表填写，不要改工作表名称")
    try:
        first = True
        for found in sheetxml.rows(values[title], width, name):
            if first and found.number > 1:  # the file has no row 1: an empty header
                _check_header(title, [_Cell(None, f"{title}!{chr(64 + k)}1") for k in range(1, width + 1)], name)
            first = False
            row = [_value(c, f, f"{title}!{chr(64 + k)}{found.number}", name, problems)
                   for k, (c, f) in enumerate(zip(found.cells, found.formulas, strict=True), start=1)]
            if found.number == 1:
                _check_header(title, row, name)
            elif any(c.value is not None for c in row):
                yield row
    except ScoringError:
        raise
    except Exception as exc:
        raise ScoringError(f"无法读取工作表 “{title}”", name, hint="文件可能已损坏，请在 Excel 或 WPS 中重新保存") from exc


def _check_header(title: str, row: list[_Cell], name: str) -> None:
    expected = {INFO: INFO_COLUMNS, INPUTS: INPUT_COLUMNS, DOCUMENTS: DOCUMENT_COLUMNS, TEXTS: TEXT_COLUMNS}[title]
    for cell, (head, _) in zip(row, expected, strict=False):
        if cell.value != head:
            raise ScoringError(f"表头应为 “{head}”，实际为 “{cell.value or ''}”", name, cell.at,
                               hint="请不要插入、删除或移动列")


def _value(cell: Any, formula: bool, at: str, name: str, problems: list[ScoringError]) -> _Cell:
    """A cell's saved value as manifest data: text trimmed, numbers exact, dates as YYYY-MM-DD."""
    value = cell.value
    if value is None and formula:
        problems.append(ScoringError("该单元格是公式，但文件中没有保存计算结果", name, at,
                                     hint="请在 Excel 或 WPS 中打开后保存，或直接填写数值"))
    if isinstance(value, str):
        value = value.strip() or None
    elif isinstance(value, float):
        value = Decimal(format(value, ".15g"))  # the 15 digits a spreadsheet shows: 85.7, never 85.70000000000000284
        if "%" in str(getattr(cell, "number_format", "")):
            value *= 100  # 85.7% is stored as 0.857; the rubric's rates are in percent
    elif isinstance(value, int) and not isinstance(value, bool) and "%" in str(getattr(cell, "number_format", "")):
        value *= 100
    elif isinstance(value, datetime | date):
        value = value.strftime("%Y-%m-%d")
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        try:
            accepted(value, str(value), name, at)  # bundle.yaml's rule for numbers, in the same words
        except ScoringError as exc:
            problems.append(exc)
            value = None
    return _Cell(value, at)


def _text(value: Any) -> Any:
    """A header value as text: a code or a phone number typed as a number is still text."""
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return fmt(Decimal(value))
    return value


def _place(doc: SheetDoc, path: Path, value: Any, at: str) -> None:
    target = doc.data
    for key in path[:-1]:
        target = target.setdefault(str(key), {})
    target[str(path[-1])] = value
    doc.lines[path] = at


def _read_info(doc: SheetDoc, rows: Sequence[list[_Cell]], problems: list[ScoringError]) -> None:
    places = {label: (path, how) for label, path, how in HEADER}
    for label, given in (cells[:2] for cells in rows):
        if label.value == "说明":
            continue
        path, how = places.get(str(label.value), ((), ""))
        if not path:
            problems.append(ScoringError(f"不认识的项目 “{label.value}”", doc.name, label.at,
                                         hint="可填的项目：" + "、".join(places)))
        elif path == ("rubric",) and given.value is not None and not RUBRIC_ID.fullmatch(str(given.value)):
            problems.append(ScoringError(f"“评分细则”一格应为评分细则的编号，现为 “{given.value}”", doc.name, given.at,
                                         hint="此格请勿修改：改回生成时的编号（如 gaoqing_2022），"
                                              "或用 scoring init --xlsx 重新生成填报表"))
        elif given.value is not None:
            _place(doc, path, given.value if path in DATES else _text(given.value), given.at)
        elif path in MUST:
            problems.append(ScoringError(f"“{label.value}” 未填写", doc.name, given.at, hint=how))
    for part in ("assessee", "period"):
        doc.lines.setdefault((part,), f"{INFO}!B2")


def _read_inputs(doc: SheetDoc, rows: Sequence[list[_Cell]], problems: list[ScoringError]) -> None:
    seen: dict[Path, str] = {}
    for cells in rows:
        ident, code = cells[0], cells[8]
        if code.value is None:
            continue  # a category's heading row
        path: Path = ("facts", str(code.value)) if ident.value == FACT else ("inputs", _text(ident.value), str(code.value))
        if ident.value is None:
            problems.append(ScoringError("缺少指标编号", doc.name, ident.at, hint="请不要删改 A 列和 I 列"))
            continue
        if path in seen:
            problems.append(ScoringError(f"同一输入填写了两行（另一行在 {seen[path]}）", doc.name, code.at,
                                         hint="每个输入只填一行，请删除多余的一行"))
            continue
        seen[path] = code.at
        answer = {"value": cells[4].value}
        if cells[5].value is not None:
            answer["documents"] = [d for d in SPLIT_IDS.split(str(_text(cells[5].value))) if d]
        for key, cell in zip(("reason", "note"), cells[6:8], strict=True):
            if cell.value is not None:
                answer[key] = str(_text(cell.value))
        _place(doc, path, answer, cells[4].at)
        doc.lines[path[:2]] = ident.at
        for key, cell in zip(ANSWER, cells[4:8], strict=True):
            doc.lines[(*path, key)] = cell.at
    # An unknown code is refused where it is written (指标填报!I12), not at the answer beside it.
    doc.lines.update({(*path, "code"): at for path, at in seen.items()})


def _read_documents(doc: SheetDoc, rows: Sequence[list[_Cell]], problems: list[ScoringError],
                    need_hash: bool) -> None:
    listed: list[dict[str, Any]] = []
    for cells in rows:
        i = len(listed)
        entry = {key: cell.value if key == "date" else str(_text(cell.value))
                 for key, cell in zip(DOCUMENT, cells, strict=True) if cell.value is not None}
        for key, cell in zip(DOCUMENT, cells, strict=True):
            doc.lines[("documents", i, key)] = cell.at
            if key in REQUIRED and cell.value is None and (need_hash or key != "sha256"):
                problems.append(ScoringError(f"“{DOCUMENT_COLUMNS[DOCUMENT.index(key)][0]}” 未填写", doc.name,
                                             cell.at, hint=REQUIRED[key]))
        doc.lines[("documents", i)] = cells[0].at
        listed.append(entry)
    doc.data["documents"] = listed
    doc.lines[("documents",)] = f"{DOCUMENTS}!A1"


def _read_texts(doc: SheetDoc, rows: Sequence[list[_Cell]]) -> None:
    sections = {heading: key for key, heading, _ in NARRATIVE}
    for part, _, text in rows:
        if text.value is None or part.value is None:
            continue
        key = sections.get(str(part.value))
        path: Path = ("narrative", key) if key else ("statements", str(_text(part.value)))
        _place(doc, path, str(_text(text.value)), text.at)


# ---------------------------------------------------------------- registering documents (scoring docs)


def register(raw: bytes, doc: SheetDoc, new: Sequence[tuple[str, str, str]], hashes: dict[int, str]) -> bytes:
    """The workbook with a row on 佐证文件 for each new (id, file, SHA-256) and the given documents'
    hashes updated; everything else as it was loaded. Every sheet is loaded whole here, so each is first
    streamed within the budgets, the ones `read` does not read (选项, a clerk's own) included."""
    for sheet in _open(raw, doc.name, True).worksheets:
        for _ in sheetxml.rows(sheet, 0, doc.name, shown=False):
            pass
    wb = load_workbook(io.BytesIO(raw), keep_links=False, keep_vba=False)
    ws = wb[DOCUMENTS]
    for i, digest in hashes.items():
        ws[_coordinate(doc.lines[("documents", i, "sha256")])] = digest
    rows = [int(_coordinate(doc.lines[("documents", i)])[1:]) for i in range(len(doc.data["documents"]))]
    for row, (ident, file, digest) in enumerate(new, start=max(rows, default=1) + 1):
        tablelook.put(ws, row, [ident, file, PurePosixPath(file).stem, None, None, None, digest])
        for col in "DEF":
            tablelook.to_fill(ws[f"{col}{row}"])  # 文号, 发文单位, 日期: for the county to complete
        ws[f"F{row}"].number_format = "yyyy-mm-dd"
    return tablelook.save(wb, wb.properties.modified or tablelook.moment("2022-12-31"))


def _coordinate(at: Line) -> str:
    return str(at).split("!", 1)[1]  # 佐证文件!G3 -> G3
