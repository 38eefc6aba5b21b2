"""The papers as spreadsheets: a score result (the 自评打分表), the changes of a chain (the 意见表) and a
committee's run, in the one table look of scoring/base/tablelook.py."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from scoring.base.numbers import ZERO, fmt
from scoring.base.tablelook import BAND, LINE_HEIGHT, OPEN, moment, protect, put, save, table
from scoring.domain.records import Rating
from scoring.domain.results import IndicatorResult, Result
from scoring.papers.changes import Changes
from scoring.papers.formats import CHANGES_HEAD, changes_rows, rating_head, rating_rows

# ---------------------------------------------------------------- a score result as a workbook (--format xlsx)


def _number(value: Decimal) -> Decimal:
    return Decimal(fmt(value))  # shortest exact form: 1.7, not 1.70


def _indicator_row(result: Result, i: IndicatorResult, category: str) -> list[Any]:
    """One indicator's row of the 自评打分表: its wording, points at every stage and the documents it cites."""
    r, b = result.rubric, result.bundle
    cites = dict.fromkeys(d for _, ans in i.answers if ans for d in ans.documents)
    return [i.id, category, i.indicator.title, i.indicator.criteria or i.indicator.text,
            *([r.natures.short(i.indicator.mandatory)] if r.natures.mandatory else []),
            *(_number(v) for v in (i.indicator.max, i.score, i.supported_score,
                                   *(x for s in i.scores[1:] for x in (s.points, s.supported)))),
            "\n".join(f"{d} {b.documents[d].title}" for d in cites)]


def result_workbook(result: Result) -> bytes:
    """The 自评打分表: every indicator with its points, supported points (and each reviewing stage's), the
    documents it cites; category subtotals and the total as SUM formulas whose saved values are the
    engine's exact figures, so the sheet opens showing them and stays live when a county edits it."""
    r, b = result.rubric, result.bundle
    stages = [s.stage for s in result.stages[1:]]
    wb = Workbook()
    ws = wb.worksheets[0]
    ws.title = "自评打分表"
    wb.properties.title = f"{b.assessee['name']}{ws.title}"
    figures = ["分值", "自评得分", "有据得分", *(f"{s}{what}" for s in stages for what in ("得分", "有据得分"))]
    head = table(ws, [("序号", 6), ("一级指标", 14), ("二级指标", 20), ("评分标准", 50),
                      *([("指标性质", 8)] if r.natures.mandatory else []),
                      *((name, 8) for name in figures), ("佐证材料", 36)],
                 title=f"{b.assessee['name']}{ws.title}（{r.title}（{r.version}））")
    first = len(ws[head]) - len(figures)  # the column of 分值
    cached: dict[str, Decimal] = {}
    row, subtotals = head + 1, []
    for k, cat in enumerate(r.categories):
        start = row
        for i in result.in_category(cat.id):
            put(ws, row, _indicator_row(result, i, f"{cat.id}、{cat.title}"))
            row += 1
        sums = [cat.max, result.own.categories[k].score,
                sum((i.supported_score for i in result.in_category(cat.id)), ZERO),
                *(x for n, s in enumerate(result.stages[1:], start=1)
                  for x in (s.categories[k].score, sum((i.scores[n].supported for i in result.in_category(cat.id)),
                                                       ZERO)))]
        _sum_row(ws, row, f"小计：{cat.id}、{cat.title}", first, [f"{{c}}{start}:{{c}}{row - 1}"] * len(sums),
                 sums, cached)
        subtotals.append(row)
        row += 1
    totals = [r.total, result.own.total, result.own.supported_total,
              *(x for s in result.stages[1:] for x in (s.total, s.supported_total))]
    _sum_row(ws, row, "合计", first, [",".join(f"{{c}}{s}" for s in subtotals)] * len(totals), totals, cached)
    _open_scores(ws, head + 1, row, first + 1, first + len(figures) - 1, subtotals)
    day = b.signoff.date or b.period["end"]
    return save(wb, moment(day), {0: cached})


def _open_scores(ws: Worksheet, top: int, bottom: int, left: int, right: int, sums: list[int]) -> None:
    """The sheet protected (no password) but for the indicators' scores: a county may try other figures and
    the subtotals follow; the formulas cannot be overwritten by accident."""
    for row in range(top, bottom):
        if row not in sums:
            for col in range(left, right + 1):
                ws.cell(row=row, column=col).protection = OPEN
    protect(ws)


def _sum_row(ws: Worksheet, row: int, label: str, first: int, ranges: list[str], values: list[Decimal],
             cached: dict[str, Decimal]) -> None:
    put(ws, row, [label, *[None] * (first - 2), *[None] * len(values), None], BAND, bold=True)
    for k, (cells, value) in enumerate(zip(ranges, values, strict=True)):
        col = get_column_letter(first + k)
        ws[f"{col}{row}"] = f"=SUM({cells.format(c=col)})"
        cached[f"{col}{row}"] = _number(value)
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=first - 1)
    ws.row_dimensions[row].height = LINE_HEIGHT  # the label spans the merged columns on one line


def changes_workbook(ch: Changes) -> bytes:
    """The 意见表 as a sheet: the CSV's rows, with its figures as numbers."""
    wb = Workbook()
    ws = wb.worksheets[0]
    ws.title = "评审意见"
    widths = (6, 8, 6, 20, 8, 8, 8, 8, 40, 40)
    table(ws, list(zip(CHANGES_HEAD, widths, strict=True)))
    for row, cells in enumerate(changes_rows(ch), start=2):
        put(ws, row, [_number(v) if isinstance(v, Decimal) else v for v in cells],
            BAND if cells[2] == "合计" else None)
    last = ch.stages[-1].stage if ch.stages else None
    return save(wb, moment(last.date if last and last.date else ch.result.bundle.period["end"]))


def rating_workbook(r: Rating) -> bytes:
    """A committee's run as a sheet: the CSV's rows, with its figures as numbers."""
    wb = Workbook()
    ws = wb.worksheets[0]
    ws.title = f"{r.noun}评定"
    widths = (6, 10, 26, 10, 7, 7, 7, 40, 10, 10, 10, 5, 8, 8, 40, 30, 20, 8, 8)
    table(ws, list(zip(rating_head(r), widths, strict=True)))
    for row, cells in enumerate(rating_rows(r), start=2):
        put(ws, row, [_number(v) if isinstance(v, Decimal) else v for v in cells],
            BAND if str(cells[2]).endswith("合计") else None)
    ends = [c.period_end for c in r.centers if c.period_end]
    return save(wb, moment(max(ends) if ends else f"{r.year}-12-31" if r.year else "2000-01-01"))
