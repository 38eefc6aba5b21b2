"""The self-evaluation report (自评报告): a context built from a score result, rendered to HTML and PDF.

The templates live in `reports/templates/` at the project root (the project is installed editable);
`--templates DIR` puts a folder of same-named templates in front of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import scoring.resources

from ..engine import Result
from . import render
from .context import build

TEMPLATES = scoring.resources.templates_dir()
SELF_EVALUATION = "self_evaluation.html"


@dataclass(frozen=True)
class Rendered:
    html: str
    pdf: bytes
    pages: int


def template_dirs(user: Path | None) -> tuple[Path, ...]:
    return (user, TEMPLATES) if user is not None else (TEMPLATES,)


def self_evaluation(result: Result, bundle_path: Path, templates: Path | None = None) -> Rendered:
    """The 自评报告 for a scored bundle, as HTML and PDF bytes (nothing is written here)."""
    dirs = template_dirs(templates)
    render.require_cjk_font()
    html = render.render_html(SELF_EVALUATION, dirs, report=build(result))
    pdf, pages = render.render_pdf(html, dirs, _bundle_reader(bundle_path, result.bundle.name))
    return Rendered(html, pdf, pages)


def _bundle_reader(path: Path, name: str) -> render.ReadExtra:
    """Reads a bundle file for the renderer through the bundle loader's own path checks
    (nothing leaves the bundle, symlinks and zip entries included); opened only when asked."""
    from ..bundle import reader

    return reader(path, name)
