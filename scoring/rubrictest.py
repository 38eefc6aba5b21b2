"""Rubric test cases: `<rubric stem>.tests/<case>/{bundle.yaml, expected.yaml}` beside the rubric."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import engine, validate
from .bundle import open_bundle
from .errors import ScoringError
from .model import Rubric
from .numbers import dec, fmt


@dataclass(frozen=True)
class CaseResult:
    name: str
    description: str
    problems: tuple[str, ...]


def cases_dir(rubric_path: Path) -> Path:
    return rubric_path.with_name(rubric_path.stem + ".tests")


def run_cases(rubric: Rubric, rubric_path: Path) -> Iterator[CaseResult]:
    folder = cases_dir(rubric_path)
    if not folder.is_dir():
        raise ScoringError("没有找到测试用例目录", str(folder), hint="用例放在与评分细则同名的 .tests 目录中")
    for case in sorted(p for p in folder.iterdir() if p.is_dir()):
        yield _run_case(rubric, case)


def _run_case(rubric: Rubric, case: Path) -> CaseResult:
    try:
        return _compare(rubric, case)
    except ScoringError as exc:  # a broken case fails alone; the others still run
        return CaseResult(case.name, "", (str(exc),))


def _expected(case: Path) -> dict[str, Any]:
    _, doc = validate.load_checked(case / "expected.yaml", "expected", "预期结果", "测试用例缺少 expected.yaml",
                                   "每个用例目录需要 bundle.yaml 和 expected.yaml")
    return doc.data or {}


def _compare(rubric: Rubric, case: Path) -> CaseResult:
    expected = _expected(case)
    result = engine.score(rubric, open_bundle(case))
    by_id = {i.id: i for i in result.indicators}
    problems: list[str] = []

    def compare(label: str, ident: str, want: object, attr: str) -> None:
        ind = by_id.get(ident)
        if ind is None:
            problems.append(f"指标 {ident} 不存在")
            return
        got = getattr(ind, attr)
        if dec(want) != got:
            trace = "\n".join(f"      - {s.text}" for s in ind.trace)
            problems.append(f"指标 {ident} {label}：应为 {fmt(dec(want))}，实际为 {fmt(got)}\n"
                            f"    计分过程：\n{trace}")

    for ident, want in (expected.get("scores") or {}).items():
        compare("得分", ident, want, "score")
    for ident, want in (expected.get("supported") or {}).items():
        compare("有据得分", ident, want, "supported_score")
    for ident, codes in (expected.get("flags") or {}).items():
        raised = {f.code for f in by_id[ident].flags} if ident in by_id else set()
        for code in sorted(set(codes) - raised):
            problems.append(f"指标 {ident} 应有标记 {code}，实际标记：{'、'.join(sorted(raised)) or '无'}")
    if "total" in expected and dec(expected["total"]) != result.total:
        problems.append(f"总分：应为 {fmt(dec(expected['total']))}，实际为 {fmt(result.total)}")
    return CaseResult(case.name, str(expected.get("description", "")), tuple(problems))
