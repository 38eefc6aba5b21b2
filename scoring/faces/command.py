"""What the `scoring` commands share: library errors as a Chinese message and exit code 1, output to a
file (atomically) or to standard output, the options several commands take, and one bundle scored through
the pipeline."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from scoring.base.errors import ScoringError, ScoringErrors, unopenable
from scoring.base.text import terminal
from scoring.faces.process import stdout_failed

F = TypeVar("F", bound=Callable[..., Any])


ERRORS_SHOWN = 100  # problems listed at once: a workbook of nonsense can have one per cell, 100,000 of them


def friendly(func: F) -> F:
    """Turn library errors into a Chinese message and exit code 1, never a traceback."""
    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ScoringErrors as exc:
            for err in exc.errors[:ERRORS_SHOWN]:
                say("错误", err)
            if len(exc.errors) > ERRORS_SHOWN:
                click.echo(f"……另有 {len(exc.errors) - ERRORS_SHOWN} 处问题未列出（请先改正以上各处，再运行一次）", err=True)
            sys.exit(1)
        except ScoringError as exc:
            say("错误", exc)
            sys.exit(1)
        except OSError as exc:
            os_failed(exc)
    return wrapper  # type: ignore[return-value]


def os_failed(exc: OSError) -> None:
    """An OS error no library code turned into a message: writing to standard output (no file named in
    it), or a path that cannot be opened (said as what it is, naming the path); exit 1 either way."""
    if exc.filename is None and exc.filename2 is None:
        stdout_failed(exc)
    say("错误", unopenable(exc))
    sys.exit(1)


def say(label: str, problem: object) -> None:
    """A problem on standard error. It may quote bundle or rubric text: no control character in it
    reaches the terminal as one (an escape sequence could recolour, retitle or hide what it says)."""
    click.echo(f"{label}：{terminal(str(problem))}", err=True)


def emit(data: bytes, output: Path | None) -> None:
    if output is None:
        click.echo(data, nl=False)
        return
    from scoring.base.files import write_atomic

    write_atomic(output, data)
    click.echo(f"已写入 {output}", err=True)


def load(bundle_path: Path, rubric: str | None, reviews: tuple[Path, ...] = ()) -> Any:
    from scoring.pipeline.folder import RubricChoice, score_files

    return score_files(bundle_path, RubricChoice.of(rubric), reviews)


def rubric_input(rubric: str | None) -> Path | None:
    """The rubric file a command reads, for the output checks: the one named by id or path."""
    from scoring.pipeline.folder import RubricChoice

    return RubricChoice.of(rubric).named


def inputs(bundle: Path, rubric_file: str | None, reviews: tuple[Path, ...] = (),
            templates: Path | None = None) -> list[tuple[str, Path | None]]:
    """What a command on one bundle reads, each with its name for a message."""
    return [("材料包", bundle), ("评分细则文件", rubric_input(rubric_file)), *(("评审意见文件", r) for r in reviews),
            ("模板目录", templates)]


def rubric_option(func: F) -> F:
    return click.option("--rubric", "rubric_file", type=str,
                        help="评分细则：文件，或自带细则的编号（默认按材料包中的 rubric 查找）。")(func)


def templates_option(func: F) -> F:
    return click.option("--templates", type=click.Path(path_type=Path, file_okay=False, exists=True),
                        help="自定义模板目录：其中的同名模板优先于内置模板。")(func)


def review_option(func: F) -> F:
    return click.option("--review", "reviews", multiple=True, type=click.Path(path_type=Path, dir_okay=False),
                        help="评审意见文件（初评、验收），可给多次，按 初评 → 验收 的顺序。")(func)
