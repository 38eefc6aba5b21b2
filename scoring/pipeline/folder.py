"""From a folder, or one bundle, to scored results: the one path `score`, `report`, `diff`, `review`,
`review summary`, `rate` and the desk all take.

A folder holds bundles (folders or .zip files) and review files (*.yaml, *.yml) side by side; an entry whose
name starts with a dot is not read. An entry that is a symbolic link counts as what it points to when that
lies inside the folder; one leading out of the folder is not read, by any command or the desk, and is
listed as a problem (a folder filled from the counties' uploads must not reach the rest of the disk; copy
the bundle into the folder instead). Review files are matched to a
bundle by the SHA-256 they name and put in stage order; a stage filed twice for one bundle is refused,
naming both files, and the chain applied passes the order check (a 验收 comes after its 初评).

The rubric is resolved the same way for every command: the one named (the id of a shipped rubric, or a
file), else the shipped rubric each bundle names. A rubric file is loaded once per process and version.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache, partial
from pathlib import Path
from typing import TypeVar

from scoring.base import limits
from scoring.base.errors import ScoringError
from scoring.domain.model import STAGES, Bundle, Rubric
from scoring.domain.results import Result
from scoring.loading import readers, review
from scoring.loading.bundle import open_bundle
from scoring.loading.rubric import load, resolve, shipped
from scoring.pipeline import batch
from scoring.pipeline.reviews import score

T = TypeVar("T")
REVIEW_SUFFIXES = (".yaml", ".yml")


# ---------------------------------------------------------------- the rubric


@dataclass(frozen=True)
class RubricChoice:
    """The rubric a run scores against: the one named, or (`named` None) the one each bundle names."""

    named: Path | None = None

    @classmethod
    def of(cls, given: str | Path | None) -> RubricChoice:
        """An id of a shipped rubric or a file, as a user gives it to any command; None for each bundle's own."""
        return cls(resolve(str(given)) if given else None)

    def path(self, bundle: Bundle) -> Path:
        return self.named or shipped(bundle.rubric)

    def rubric(self, bundle: Bundle) -> Rubric:
        return loaded(self.path(bundle))


def loaded(path: Path) -> Rubric:
    """A rubric file, loaded once per process for as long as the file stays the same."""
    try:
        s = os.stat(path)
        signature = (s.st_ino, s.st_size, s.st_mtime_ns)
    except OSError:
        signature = (0, 0, 0)  # load() says what is wrong with the path
    return _loaded(str(path), signature)


@lru_cache(maxsize=16)
def _loaded(path: str, signature: tuple[int, int, int]) -> Rubric:
    return load(Path(path))


# ---------------------------------------------------------------- one bundle


def score_files(path: Path, rubric: RubricChoice | Rubric, reviews: Sequence[Path] = ()) -> Result:
    """One bundle with the review files given, in the order given (初评, then 验收)."""
    bundle = open_bundle(path)
    built = rubric.rubric(bundle) if isinstance(rubric, RubricChoice) else rubric
    return score(built, bundle, [review.read(p) for p in reviews])


# ---------------------------------------------------------------- a folder


@dataclass(frozen=True)
class Filed:
    """A review file found in a folder, read."""

    path: Path
    review: review.Review
    version: str  # SHA-256 of the bytes read
    stat: tuple[int, ...] = ()  # how the desk signed the file before reading it; empty elsewhere


@dataclass(frozen=True)
class Found:
    """What a folder holds: its bundles and its review files, by the rule above."""

    folder: Path
    bundles: tuple[Path, ...]
    review_files: tuple[Path, ...]
    outside: tuple[str, ...] = ()  # the links leading out of the folder, as problems to list


@dataclass(frozen=True)
class Scored:
    """A bundle of a folder scored, with the review files applied to it."""

    path: Path
    result: Result
    reviews: tuple[Filed, ...]


def find(folder: Path, empty: bool = False) -> Found:
    """The folder's bundles and review files; a folder without a bundle is refused unless `empty`."""
    if not folder.is_dir():
        raise ScoringError("目录不存在或不是文件夹", str(folder), hint="请给出存放材料包和评审意见的文件夹")
    root = folder.resolve()
    entries, outside = [], []
    for p in sorted(p for p in folder.iterdir() if not p.name.startswith(".")):
        if p.is_symlink() and not p.resolve().is_relative_to(root):
            outside.append(f"{p.name} 是指向目录之外（{os.readlink(p)}）的链接，未读取：请把材料包或评审意见复制到目录中")
        else:
            entries.append(p)
    bundles = tuple(p for p in entries if p.is_dir() or p.suffix.lower() == ".zip")
    if not bundles and not empty:
        raise ScoringError("目录中没有材料包（文件夹或 .zip）", str(folder))
    reviews = tuple(p for p in entries if p.is_file() and p.suffix.lower() in REVIEW_SUFFIXES)
    return Found(folder, bundles, reviews, tuple(outside))


def read_review(path: Path) -> Filed:
    """A review file as review.read reads it, with the SHA-256 of the same bytes."""
    raw = readers.read_regular(path, limits.MANIFEST_BYTES, "评审意见文件")
    return Filed(path, review.parse(raw, str(path)), hashlib.sha256(raw).hexdigest())


def read_reviews(paths: Sequence[Path], read: Callable[[Path], Filed] = read_review) -> tuple[list[Filed], list[str]]:
    """Every readable review file, and a problem line for each one that is not."""
    filed, problems = [], []
    for p in paths:
        try:
            filed.append(read(p))
        except ScoringError as exc:
            problems.append(str(exc))
    return filed, problems


def matched(filed: Sequence[Filed], bundle: Bundle, rubric: Rubric) -> dict[str, Filed]:
    """The review files made for this bundle, by stage in stage order (a stage the rubric names otherwise,
    such as 第三方评估, known by its place: 初评); a stage filed twice, or one the rubric does not know, is
    refused."""
    mine: dict[str, Filed] = {}
    ours = [replace(f, review=review.canonical(f.review, rubric)) for f in filed if f.review.bundle_sha256 == bundle.sha256]
    for f in sorted(ours,
                    key=lambda f: (STAGES.index(f.review.stage.name), f.path.name)):
        stage = f.review.stage.name
        if stage in mine:
            raise ScoringError(f"{stage}有两份评审意见文件：{mine[stage].path.name} 和 {f.path.name}", str(f.path),
                               f.review.stage_line, hint="每个评审阶段只能有一份评审意见：请合并两份文件，或移走其中一份")
        mine[stage] = f
    return mine


def unmatched(filed: Sequence[Filed], scored: set[str]) -> list[str]:
    """The review files whose bundle is not in the folder, as problems to list."""
    return [f"评审意见 {f.path.name} 对应的材料包（SHA-256 {f.review.bundle_sha256[:12]}…）不在目录中"
            for f in filed if f.review.bundle_sha256 not in scored]


def score_found(path: Path, filed: Sequence[Filed], rubric: RubricChoice) -> Scored:
    """A bundle of a folder with every stage filed for it applied."""
    bundle = open_bundle(path)
    built = rubric.rubric(bundle)
    mine = tuple(matched(filed, bundle, built).values())
    return Scored(path, score(built, bundle, [f.review for f in mine]), mine)


# A bundle scores in about 10 ms once the rubric is loaded; two workers take about a second of start-up
# (interpreter, package, rubric) before their first bundle: below this many bundles one process is faster.
SERIAL_BELOW = 128


def score_folder(found: Found, filed: Sequence[Filed], rubric: RubricChoice,
                 make: Callable[[Path, Scored | ScoringError], T], what: str) -> list[T]:
    """Every bundle of a folder scored on every core, each made into a row by `make` (a module-level
    function, or a partial of one): from its result, or from the error that stopped it."""
    job = partial(_one, filed=tuple(filed), rubric=rubric, make=make)
    return batch.run(job, [str(p) for p in found.bundles], what, SERIAL_BELOW)


def _one(path: str, filed: tuple[Filed, ...], rubric: RubricChoice,
         make: Callable[[Path, Scored | ScoringError], T]) -> T:
    try:
        made: Scored | ScoringError = score_found(Path(path), filed, rubric)
    except ScoringError as exc:
        made = exc
    return make(Path(path), made)
