"""The city's summary of all its counties: every bundle in a folder scored with the reviews filed beside
it (each matched to its bundle by the bundle's SHA-256), one row per county.

A folder holds the bundles (folders or .zip files) and the review files (*.yaml) next to them. A broken
bundle or review is a row with its error and changes no other row; a review that matches no bundle is
listed as a problem.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from functools import partial
from pathlib import Path

from scoring.base.errors import ScoringError
from scoring.domain.model import SELF, STAGES, Result
from scoring.domain.records import County, Figures, Summary
from scoring.pipeline import batch

REVIEW_SUFFIXES = (".yaml", ".yml")


def summarize(folder: Path, rubric_file: Path | None = None) -> Summary:
    bundles, review_files = find(folder)
    reviews, problems = matched_reviews(review_files)
    job = partial(_county, reviews=reviews, rubric_file=str(rubric_file) if rubric_file else None)
    counties = tuple(batch.run(job, [str(p) for p in bundles], "汇总评分"))
    problems += unmatched(reviews, {c.bundle_sha256 for c in counties})
    rubrics = sorted({c.rubric for c in counties} - {""})
    units = Counter(f.unit for c in counties for f in c.stages if f.stage == STAGES[1] and f.unit)
    return Summary(str(folder), "、".join(rubrics), counties, tuple(problems),
                   units.most_common(1)[0][0] if units else "")


def find(folder: Path) -> tuple[list[Path], list[Path]]:
    """The bundles (folders and .zip files) in a folder, and the review files (*.yaml) beside them."""
    if not folder.is_dir():
        raise ScoringError("目录不存在或不是文件夹", str(folder), hint="请给出存放材料包和评审意见的文件夹")
    entries = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    bundles = [p for p in entries if p.is_dir() or p.suffix.lower() == ".zip"]
    if not bundles:
        raise ScoringError("目录中没有材料包（文件夹或 .zip）", str(folder))
    return bundles, [p for p in entries if p.is_file() and p.suffix.lower() in REVIEW_SUFFIXES]


def unmatched(reviews: dict[str, list[str]], scored: set[str]) -> list[str]:
    """The review files whose bundle is not in the folder, as problems to list."""
    return [f"评审意见 {Path(f).name} 对应的材料包（SHA-256 {sha[:12]}…）不在目录中"
            for sha, files in reviews.items() if sha not in scored for f in files]


def matched_reviews(paths: list[Path]) -> tuple[dict[str, list[str]], list[str]]:
    """Review files by the bundle SHA-256 they name; the unreadable ones as problems."""
    from scoring.loading.review import read

    by_sha: dict[str, list[str]] = {}
    problems = []
    for p in paths:
        try:
            by_sha.setdefault(read(p).bundle_sha256, []).append(str(p))
        except ScoringError as exc:
            problems.append(str(exc))
    return by_sha, problems


def _county(path: str, reviews: dict[str, list[str]], rubric_file: str | None) -> County:
    try:
        return _score(Path(path), reviews, rubric_file)
    except ScoringError as exc:
        return County(Path(path).name, "", "", "", "", Decimal(0), (), (), str(exc))


def _score(path: Path, reviews: dict[str, list[str]], rubric_file: str | None) -> County:
    from scoring.domain import engine
    from scoring.loading.bundle import open_bundle
    from scoring.loading.review import found_chain
    from scoring.loading.rubric import load, shipped

    bundle = open_bundle(path)
    rubric = load(Path(rubric_file) if rubric_file else shipped(bundle.rubric))
    chain, files = found_chain(reviews.get(bundle.sha256, []), rubric, bundle)
    result = engine.score(rubric, bundle, chain)
    return County(path.name, bundle.assessee.get("name", "").strip(), bundle.sha256,
                  f"{rubric.title}（{rubric.version}）", rubric.natures.must, rubric.total,
                  _figures(result), tuple(Path(r.file).name for r in files))


def _figures(result: Result) -> tuple[Figures, ...]:
    own = result.own
    out = [Figures(SELF, own.total, own.supported_total, own.mandatory.met, own.mandatory.total,
                   own.verdict.passed, own.verdict.text)]
    for s, stage in zip(result.stages[1:], result.chain, strict=True):
        out.append(Figures(s.stage, s.total, s.supported_total, s.mandatory.met, s.mandatory.total,
                           s.verdict.passed, s.verdict.text, stage.unit, stage.author, stage.date, len(stage.pending)))
    return tuple(out)
