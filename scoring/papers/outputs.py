"""Every output format, registered once: its subject, name, media type, file extension and a function
to bytes. The CLI's --format choices come from here. Renderers are imported when used, so that
`scoring --help` does not load WeasyPrint.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scoring.base.errors import ScoringError


@dataclass(frozen=True)
class Options:
    templates: Path | None = None  # a folder of templates in front of the package's own


@dataclass(frozen=True)
class Output:
    subject: str  # what it renders: "result" (a score result), "rubric", …
    name: str
    media_type: str
    extension: str
    render: Callable[[Any, Options], bytes]


OUTPUTS: dict[tuple[str, str], Output] = {}


def register(subject: str, name: str, media_type: str,
             extension: str) -> Callable[[Callable[[Any, Options], bytes]], Callable[[Any, Options], bytes]]:
    def add(func: Callable[[Any, Options], bytes]) -> Callable[[Any, Options], bytes]:
        OUTPUTS[(subject, name)] = Output(subject, name, media_type, extension, func)
        return func
    return add


def names(subject: str) -> list[str]:
    return [name for (s, name) in OUTPUTS if s == subject]


def by_extension(subject: str, path: Path, given: str | None) -> str:
    """The format asked for, else the one the output file's extension names."""
    if given:
        return given
    found = [o.name for o in OUTPUTS.values() if o.subject == subject and o.extension == path.suffix.lower()]
    if not found:
        raise ScoringError(f"无法从文件名 “{path.name}” 判断输出格式", hint=f"请用 --format 指定：{'、'.join(names(subject))}")
    return found[0]


def render(subject: str, name: str, obj: Any, options: Options = Options()) -> bytes:
    output = OUTPUTS.get((subject, name))
    if output is None:
        raise ScoringError(f"不支持的输出格式 “{name}”", hint=f"可选：{'、'.join(names(subject))}")
    return output.render(obj, options)


@register("result", "table", "text/plain; charset=utf-8", ".txt")
def _result_table(result: Any, options: Options) -> bytes:
    from scoring.papers.formats import render_table

    return render_table(result).encode()


@register("result", "json", "application/json", ".json")
def _result_json(result: Any, options: Options) -> bytes:
    from scoring.papers.formats import render_json

    return render_json(result).encode()


@register("result", "csv", "text/csv; charset=utf-8", ".csv")
def _result_csv(result: Any, options: Options) -> bytes:
    from scoring.papers.formats import render_csv

    return render_csv(result).encode()


@register("result", "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx")
def _result_xlsx(result: Any, options: Options) -> bytes:
    from scoring.papers.sheets import result_workbook

    return result_workbook(result)


@register("result", "html", "text/html; charset=utf-8", ".html")
def _result_html(result: Any, options: Options) -> bytes:
    from scoring.papers.report import self_evaluation_html

    return self_evaluation_html(result, options.templates).encode()


@register("result", "pdf", "application/pdf", ".pdf")
def _result_pdf(result: Any, options: Options) -> bytes:
    from scoring.papers.report import self_evaluation

    return self_evaluation(result, options.templates).pdf


@register("changes", "json", "application/json", ".json")
def _changes_json(changes: Any, options: Options) -> bytes:
    from scoring.base.numbers import dumps
    from scoring.papers.formats import changes_data

    return dumps(changes_data(changes)).encode()


@register("changes", "csv", "text/csv; charset=utf-8", ".csv")
def _changes_csv(changes: Any, options: Options) -> bytes:
    from scoring.papers.formats import render_changes_csv

    return render_changes_csv(changes).encode()


@register("changes", "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx")
def _changes_xlsx(changes: Any, options: Options) -> bytes:
    from scoring.papers.sheets import changes_workbook

    return changes_workbook(changes)


@register("summary", "json", "application/json", ".json")
def _summary_json(summary: Any, options: Options) -> bytes:
    from scoring.base.numbers import dumps
    from scoring.papers.formats import summary_data

    return dumps(summary_data(summary)).encode()


@register("summary", "csv", "text/csv; charset=utf-8", ".csv")
def _summary_csv(summary: Any, options: Options) -> bytes:
    from scoring.papers.formats import render_summary_csv

    return render_summary_csv(summary).encode()


@register("rating", "json", "application/json", ".json")
def _rating_json(rating: Any, options: Options) -> bytes:
    from scoring.base.numbers import dumps
    from scoring.papers.formats import rating_data

    return dumps(rating_data(rating)).encode()


@register("rating", "csv", "text/csv; charset=utf-8", ".csv")
def _rating_csv(rating: Any, options: Options) -> bytes:
    from scoring.papers.formats import render_rating_csv

    return render_rating_csv(rating).encode()


@register("rating", "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx")
def _rating_xlsx(rating: Any, options: Options) -> bytes:
    from scoring.papers.sheets import rating_workbook

    return rating_workbook(rating)


def _paper(subject: str) -> None:
    """A reviewer's or committee's paper as PDF and HTML (scoring/papers/report/papers.py, committee.py)."""
    @register(subject, "pdf", "application/pdf", ".pdf")
    def _pdf(obj: Any, options: Options) -> bytes:
        from scoring.papers.report import papers

        return papers.pdf(subject, obj, options.templates, archive(subject, obj))

    @register(subject, "html", "text/html; charset=utf-8", ".html")
    def _html(obj: Any, options: Options) -> bytes:
        from scoring.papers.report import papers

        return papers.html(subject, obj, options.templates, archive(subject, obj)).encode()


def archive(subject: str, obj: Any) -> Any:
    """What a paper's PDF carries: the JSON of the same object (`-o x.json`), dated from the inputs."""
    from scoring.papers.report.render import Archive

    data = render(subject, "json", obj)
    return Archive(f"{subject}.json", data, paper_date(subject, obj))


def center_archives(rating: Any) -> list[Any]:
    """What each rated center's 评定结果单 carries, in the sheets' order: its entry of ratings.json."""
    from scoring.base.numbers import dumps
    from scoring.papers.formats import center_data
    from scoring.papers.report.render import Archive

    when = paper_date("rating", rating)
    return [Archive("center.json", dumps(center_data(rating, c)).encode(), when) for c in rating.centers if not c.error]


def paper_date(subject: str, obj: Any) -> str:
    """The latest date the inputs state: the last review of a chain, the reviews and sign-offs of a summary,
    a programme's run; 2000-01-01 when they state none (never the clock)."""
    if subject == "changes":
        dates = [s.stage.date for s in obj.stages] + [obj.result.bundle.signoff.date]
    elif subject == "summary":
        dates = [f.date for c in obj.counties for f in c.stages]
    else:
        dates = []
    return max((d for d in dates if d), default="2000-01-01")


for _subject in ("changes", "summary", "rating"):
    _paper(_subject)


@register("rubric", "table", "text/plain; charset=utf-8", ".txt")
def _rubric_table(rubric: Any, options: Options) -> bytes:
    from scoring.papers.show import rubric_table

    return rubric_table(rubric).encode()


@register("rubric", "json", "application/json", ".json")
def _rubric_json(rubric: Any, options: Options) -> bytes:
    from scoring.base.numbers import dumps
    from scoring.papers.show import rubric_json

    return dumps(rubric_json(rubric)).encode()
