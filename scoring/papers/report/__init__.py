"""The self-evaluation report (自评报告): a context built from a score result, rendered to HTML and PDF.

The templates are the package data `scoring.templates` (kept in `reports/templates/` of the repository);
`--templates DIR` puts a folder of same-named templates in front of them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import scoring.base.resources
from scoring.domain.results import Result
from scoring.papers.report import render
from scoring.papers.report.context import build

TEMPLATES = scoring.base.resources.templates_dir()
SELF_EVALUATION = "self_evaluation.html"


@dataclass(frozen=True)
class Rendered:
    html: str
    pdf: bytes
    pages: int


def template_dirs(user: Path | None) -> tuple[Path, ...]:
    return (user, TEMPLATES) if user is not None else (TEMPLATES,)


def result_archive(result: Result) -> render.Archive:
    """What the report carries: the JSON `scoring score --format json` gives for the same inputs, dated by
    the sign-off (else the end of the period)."""
    from scoring.papers.formats import render_json

    bundle = result.bundle
    return render.Archive("result.json", render_json(result).encode(), bundle.signoff.date or bundle.period["end"])


def digest(archive: render.Archive) -> str:
    return hashlib.sha256(archive.data).hexdigest()


def self_evaluation_html(result: Result, templates: Path | None = None) -> str:
    return render.render_html(SELF_EVALUATION, template_dirs(templates),
                              report=build(result, digest(result_archive(result))))


def self_evaluation(result: Result, templates: Path | None = None) -> Rendered:
    """The 自评报告 for a scored bundle, as HTML and PDF/A bytes carrying its JSON (nothing is written here).
    Files the templates cite as bundle:path are read through the bundle's own checks, nothing else of it."""
    dirs = template_dirs(templates)
    render.require_cjk_font()
    archive = result_archive(result)
    html = render.render_html(SELF_EVALUATION, dirs, report=build(result, digest(archive)))
    try:
        pdf, pages = render.render_pdf(html, dirs, result.bundle.files.read, archive)
    finally:
        result.bundle.files.close()
    return Rendered(html, pdf, pages)
