"""Grades read, not scored: each unit's grade is the result of an external grading already done
(养老机构等级评定), taken from a column of the registry, with the counts or the kind the programme pays by;
jobs.rating then applies the same quota, payers, exit rule and target as to a scored run."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

from scoring.base.errors import ScoringError
from scoring.domain.records import CenterRating, Grade, Programme


def read_units(p: Programme, file: str, head: Sequence[str], rows: Sequence[tuple[int, Sequence[str]]],
               centers: Sequence[tuple[str, str, str]]) -> list[CenterRating]:
    """Every registry row (its line and cells; its id, name and district) a unit, graded and counted by its
    cells; a cell the programme cannot read (a grade it does not declare, a count that is not a whole
    number, a kind without an amount) is refused with its line and column."""
    grade = p.grade
    assert grade is not None, "a programme graded from the registry"
    columns = _columns(p, file, head)
    return [_unit(p, grade, file, columns, row, line, cells) for row, (line, cells) in zip(centers, rows, strict=True)]


def _columns(p: Programme, file: str, head: Sequence[str]) -> dict[str, int]:
    """Where each column the programme reads is; a missing one is refused, naming the file's first line."""
    grade = p.grade
    wanted = [grade.column] if grade else []
    wanted += [name for name, _ in p.base_per_column] + ([p.base_column] if p.base_column else [])
    out = {}
    for name in wanted:
        if name not in head:
            raise ScoringError(f"名册缺少奖补方案 {file_name(p.path)} 要读取的“{name}”列", file, 1,
                               hint=f"第一行的列名应包括：{'、'.join(dict.fromkeys(wanted))}")
        out[name] = list(head).index(name)
    return out


def _unit(p: Programme, grade: Grade, file: str, columns: dict[str, int], row: tuple[str, str, str], line: int,
          cells: Sequence[str]) -> CenterRating:
    """One registry row as a graded unit, with the counts and the kind the programme pays by."""
    def cell(name: str) -> str:
        k = columns[name]
        return cells[k].strip() if k < len(cells) else ""

    def refuse(name: str, message: str, hint: str) -> ScoringError:
        return ScoringError(f"名册“{name}”列：{message}", file, line, hint=hint)

    ident, label, district = row
    given = cell(grade.column)
    if given and given != grade.none and given not in grade.levels:
        raise refuse(grade.column, f"{label}（{ident}）的“{given}”不是奖补方案的{grade.noun}",
                     f"应为 {'、'.join(grade.levels)} 之一，未评定的留空或写“{grade.none}”")
    band = given if given in grade.levels else None
    counted = []
    for name, _ in p.base_per_column:
        try:
            value = Decimal(cell(name) or "0")
        except InvalidOperation:
            value = Decimal(-1)
        if not value.is_finite() or value < 0 or value != value.to_integral_value():
            raise refuse(name, f"{label}（{ident}）的“{cell(name)}”不是人数", "请填写不小于 0 的整数，没有的填 0")
        counted.append((name, value))
    kind = cell(p.base_column) if p.base_column else ""
    if p.base_column and kind not in dict(p.base_by_column):
        raise refuse(p.base_column, f"{label}（{ident}）的“{kind}”没有对应的{p.money}标准",
                     f"应为 {'、'.join(k for k, _ in p.base_by_column)} 之一")
    return CenterRating("", ident, label, district, None, None, band, None, (), "", (), counted=tuple(counted),
                        kind=kind)


def file_name(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]
