"""Rubric test cases: `<rubric stem>.tests/<case>/{bundle.yaml, expected.yaml}` beside the rubric."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scoring.base.errors import ScoringError
from scoring.base.numbers import dec, fmt
from scoring.domain.model import Rubric
from scoring.domain.results import Result
from scoring.loading import validate
from scoring.pipeline.folder import score_files


@dataclass(frozen=True)
class CaseResult:
    name: str
    description: str
    problems: tuple[str, ...]
    result: Result | None = None  # what the case scored (None when it could not be scored)


def cases_dir(rubric_path: Path) -> Path:
    return rubric_path.with_name(rubric_path.stem + ".tests")


def case_folders(rubric_path: Path) -> list[Path]:
    """The rubric's case folders in name order; an error when the rubric has no `.tests` folder."""
    folder = cases_dir(rubric_path)
    if not folder.is_dir():
        raise ScoringError("没有找到测试用例目录", str(folder), hint="用例放在与评分细则同名的 .tests 目录中")
    return sorted(p for p in folder.iterdir() if p.is_dir())


def run_cases(rubric: Rubric, rubric_path: Path) -> Iterator[CaseResult]:
    for case in case_folders(rubric_path):
        yield run_case(rubric, case)


def run_case(rubric: Rubric, case: Path) -> CaseResult:
    """One case's problems, none when it passes; a broken case fails alone, the others still run."""
    try:
        return _compare(rubric, case)
    except ScoringError as exc:
        return CaseResult(case.name, "", (str(exc),))


def _expected(case: Path) -> dict[str, Any]:
    _, doc = validate.load_checked(case / "expected.yaml", "expected", "预期结果", "测试用例缺少 expected.yaml",
                                   "每个用例目录需要 bundle.yaml 和 expected.yaml")
    return doc.data or {}


def _compare(rubric: Rubric, case: Path) -> CaseResult:
    expected = _expected(case)
    result = score_files(case, rubric)
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
    problems += _categories(result, expected.get("categories") or {})
    if "total" in expected and dec(expected["total"]) != result.total:
        problems.append(f"总分：应为 {fmt(dec(expected['total']))}，实际为 {fmt(result.total)}")
    if "verdict" in expected:
        problems += _verdict(result, expected["verdict"])
    problems += _band(result, expected)
    return CaseResult(case.name, str(expected.get("description", "")), tuple(problems), result)


def _categories(result: Result, expected: dict[str, Any]) -> list[str]:
    """Category sums of the self-assessment; a mismatch lists the category's indicator scores."""
    problems: list[str] = []
    by_id = {c.id: c for c in result.own.categories}
    for ident, want in expected.items():
        cat = by_id.get(ident)
        if cat is None:
            problems.append(f"一级指标 {ident} 不存在")
        elif dec(want) != cat.score:
            parts = "、".join(f"{i.id} 得 {fmt(i.score)} 分" for i in result.in_category(ident))
            problems.append(f"一级指标 {ident} 得分：应为 {fmt(dec(want))}，实际为 {fmt(cat.score)}\n"
                            f"    各二级指标：{parts}")
    return problems


def _verdict(result: Result, expected: dict[str, Any]) -> list[str]:
    """The self-assessment's verdict: passed or not, and its reasons word for word when given."""
    problems: list[str] = []
    got, words = result.own.verdict, result.rubric.verdict
    if expected["passed"] != got.passed:
        problems.append(f"结论：应为“{words.passed if expected['passed'] else words.failed}”，实际为“{got.text}”")
    if "reasons" in expected and tuple(expected["reasons"]) != got.reasons:
        problems.append(f"结论理由：应为 {_quoted(expected['reasons'])}，实际为 {_quoted(got.reasons)}")
    return problems


def _band(result: Result, expected: dict[str, Any]) -> list[str]:
    """The band reached (null for none), and what held it back: each expected phrase in one of the reasons."""
    problems: list[str] = []
    got = result.own.verdict
    if "band" in expected and expected["band"] != got.band:
        problems.append(f"星级：应为 {expected['band'] or '无'}，实际为 {got.band or '无'}")
    for phrase in expected.get("held", ()):
        if not any(phrase in reason for reason in got.held):
            problems.append(f"未达到{got.next or '上一级'}的原因中应有“{phrase}”，实际为 {_quoted(got.held)}")
    if "held" in expected and not expected["held"] and got.held:
        problems.append(f"不应有未达到的原因，实际为 {_quoted(got.held)}")
    above = {b.band: b.held for b in got.above}
    for band, phrases in (expected.get("above") or {}).items():
        for phrase in phrases:
            if not any(phrase in reason for reason in above.get(band, ())):
                problems.append(f"未达到{band}的原因中应有“{phrase}”，实际为 {_quoted(above.get(band, ()))}")
    if "by_total" in expected and expected["by_total"] != got.by_total:
        problems.append(f"仅按总分的星级：应为 {expected['by_total'] or '无'}，实际为 {got.by_total or '无'}")
    return problems


def _quoted(reasons: Iterable[str]) -> str:
    return "；".join(f"“{r}”" for r in reasons) or "无"
