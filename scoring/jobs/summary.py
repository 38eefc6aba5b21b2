"""The city's summary of all its counties: every bundle in a folder scored with the reviews filed beside
it (each matched to its bundle by the bundle's SHA-256), one row per county.

The folder is read, matched and scored by the pipeline (pipeline/folder.py), as every command reads one.
A broken bundle or review is a row with its error and changes no other row; a review that matches no
bundle is listed as a problem.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from pathlib import Path

from scoring.base.errors import ScoringError
from scoring.domain.model import SELF, STAGES
from scoring.domain.records import County, Figures, Summary
from scoring.domain.results import Result
from scoring.pipeline.folder import Found, RubricChoice, Scored, read_reviews, score_folder, unmatched


def summarize(found: Found, rubric: RubricChoice | None = None) -> Summary:
    """The city's summary of the counties `found` (pipeline.folder.find)."""
    made, folder = found, found.folder
    filed, problems = read_reviews(made.review_files)
    problems = [*made.outside, *problems]
    counties = tuple(score_folder(made, filed, rubric or RubricChoice(), _county, "汇总评分"))
    problems += unmatched(filed, {c.bundle_sha256 for c in counties})
    rubrics = sorted({c.rubric for c in counties} - {""})
    units = Counter(f.unit for c in counties for f in c.stages if f.stage == STAGES[1] and f.unit)
    return Summary(str(folder), "、".join(rubrics), counties, tuple(problems),
                   units.most_common(1)[0][0] if units else "")


def _county(path: Path, scored: Scored | ScoringError) -> County:
    """One row: the county's figures at every stage filed for it, or the error that stopped it."""
    if isinstance(scored, ScoringError):
        return County(path.name, "", "", "", "", Decimal(0), (), (), str(scored))
    result = scored.result
    rubric, bundle = result.rubric, result.bundle
    return County(path.name, bundle.assessee.get("name", "").strip(), bundle.sha256,
                  f"{rubric.title}（{rubric.version}）", rubric.natures.must, rubric.total,
                  _figures(result), tuple(f.path.name for f in scored.reviews))


def _figures(result: Result) -> tuple[Figures, ...]:
    own = result.own
    out = [Figures(SELF, own.total, own.supported_total, own.mandatory.met, own.mandatory.total,
                   own.verdict.passed, own.verdict.text)]
    for s, stage in zip(result.stages[1:], result.chain, strict=True):
        out.append(Figures(s.stage, s.total, s.supported_total, s.mandatory.met, s.mandatory.total,
                           s.verdict.passed, s.verdict.text, stage.unit, stage.author, stage.date, len(stage.pending)))
    return tuple(out)
