"""The folder the review desk serves: the counties' bundles (folders or .zip files) and the review files
beside them, matched by the bundle's SHA-256 and the stage, as `scoring review summary` matches them.

A county is known by its entry's name in the folder, and only an entry listed here can be opened: no
name from a URL becomes a path. Saving rewrites one review file (never a bundle) through review.write,
after the new text passed the checks `scoring score --review` makes, and only over the version the
reviewer's page was made from.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date as Date
from pathlib import Path

from .. import engine, review
from ..bundle import open_bundle
from ..errors import ScoringError
from ..files import write_atomic
from ..model import STAGES, Bundle, Result, Rubric, Stage
from ..rubric import load, shipped
from ..summary import REVIEW_SUFFIXES

REVIEWING = review.REVIEWING


@dataclass(frozen=True)
class Filed:
    """A review file found in the folder."""

    path: Path
    review: review.Review


@dataclass(frozen=True)
class Case:
    """One county at one reviewing stage, as the desk shows and edits it."""

    name: str  # the bundle's entry in the folder
    stage: str
    rubric: Rubric
    bundle: Bundle
    result: Result  # the earlier stages and this one (when its file loads) applied
    file: Path  # this stage's review file, written or to be written
    version: str  # SHA-256 of the file's bytes; "" while there is none
    current: review.Review | None  # the file as read; None when there is none or it is refused
    problem: str  # why the stage cannot be edited ("" when it can)

    @property
    def editable(self) -> bool:
        return not self.problem

    @property
    def stage_made(self) -> Stage:
        """This stage's entries as the file holds them (none before the first save)."""
        return self.current.stage if self.current else Stage(self.stage)


class Unknown(LookupError):
    """A county, stage or document the folder does not have."""


class Conflict(Exception):
    """The review file changed after the reviewer's page was made."""

    def __init__(self, case: Case) -> None:
        super().__init__("review file changed")
        self.case = case


class Folder:
    def __init__(self, root: Path, rubric_file: Path | None = None) -> None:
        if not root.is_dir():
            raise ScoringError("评审目录不存在或不是文件夹", str(root), hint="请给出存放各县材料包和评审意见的文件夹")
        self.root = root.resolve()
        self.rubric_file = rubric_file
        self.lock = threading.Lock()  # one save at a time: the version check and the write are one step

    def _entries(self) -> list[Path]:
        """Entries inside the folder itself; a symlink leading out of it is not one."""
        found = sorted(p for p in self.root.iterdir() if not p.name.startswith("."))
        return [p for p in found if p.resolve().is_relative_to(self.root)]

    def names(self) -> list[str]:
        return [p.name for p in self._entries() if p.is_dir() or (p.is_file() and p.suffix.lower() == ".zip")]

    def reviews(self) -> tuple[list[Filed], list[str]]:
        """Every readable review file, and a problem line for each one that is not."""
        filed, problems = [], []
        for p in self._entries():
            if p.is_file() and p.suffix.lower() in REVIEW_SUFFIXES:
                try:
                    filed.append(Filed(p, review.read(p)))
                except ScoringError as exc:
                    problems.append(f"{p.name}：{exc.message}")
        return filed, problems

    def bundle_path(self, name: str) -> Path:
        if name not in self.names():
            raise Unknown(name)
        return self.root / name

    def open(self, name: str) -> tuple[Rubric, Bundle]:
        bundle = open_bundle(self.bundle_path(name))
        return load(self.rubric_file or shipped(bundle.rubric)), bundle

    def case(self, name: str, stage: str) -> Case:
        """The county at `stage`: the earlier stages' files applied, then this stage's file if it loads."""
        if stage not in REVIEWING:
            raise Unknown(stage)
        rubric, bundle = self.open(name)
        filed, _ = self.reviews()
        mine = {f.review.stage.name: f for f in filed if f.review.bundle_sha256 == bundle.sha256}
        before: list[Stage] = []
        for earlier in REVIEWING[: REVIEWING.index(stage)]:
            if earlier not in mine:
                result = engine.score(rubric, bundle, before)
                return Case(name, stage, rubric, bundle, result, self._new_file(name, stage), "", None,
                            f"还没有{earlier}意见：{stage}在{earlier}之后")
            before.append(review.check(mine[earlier].review, rubric, bundle))
        path = mine[stage].path if stage in mine else self._new_file(name, stage)
        version = _version(path)
        try:
            current = mine[stage].review if stage in mine else None
            chain = [*before, review.check(current, rubric, bundle)] if current else before
            result = engine.score(rubric, bundle, chain)
        except ScoringError as exc:
            result = engine.score(rubric, bundle, before)
            return Case(name, stage, rubric, bundle, result, path, version, None,
                        f"评审意见文件 {path.name} 无法使用：{exc}。请先在文件中改正，或移走该文件")
        return Case(name, stage, rubric, bundle, result, path, version, current, "")

    def _new_file(self, name: str, stage: str) -> Path:
        """A name for a county's first review file at a stage that no other file has."""
        path, n = self.root / f"{Path(name).stem}_{stage}.yaml", 1
        while path.exists() or path.is_symlink():
            n += 1
            path = self.root / f"{Path(name).stem}_{stage}_{n}.yaml"
        return path

    def scored(self, name: str, filed: list[Filed]) -> Result:
        """A county with every stage filed for it applied, as `scoring review summary` scores it."""
        rubric, bundle = self.open(name)
        files = [f.review for f in stages_of(filed, bundle).values()]
        return engine.score(rubric, bundle, review.checked(files, rubric, bundle))

    def save(self, name: str, stage: str, version: str, change: Callable[[Stage], Stage]) -> Case:
        """Apply `change` to the stage and write the file, if it is still the version the page showed and
        the new file passes every check of `scoring score --review`; else Conflict or ScoringError."""
        with self.lock:
            case = self.case(name, stage)
            if case.version != version:
                raise Conflict(case)
            if case.problem:
                raise ScoringError(case.problem)
            base = case.current or review.parse(review.blank(case.result, stage).encode(), str(case.file))
            made = change(base.stage)
            if (made.overrides or made.pending) and not made.date:
                made = replace(made, date=Date.today().isoformat())
            text = review.write(made, case.result)
            written = review.parse(text.encode(), str(case.file))
            chain = [*case.result.chain[: REVIEWING.index(stage)], review.check(written, case.rubric, case.bundle)]
            engine.score(case.rubric, case.bundle, chain)  # input corrections are checked when scored
            write_atomic(case.file, text.encode())
            return self.case(name, stage)


def _version(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return ""


def stages_of(filed: list[Filed], bundle: Bundle) -> dict[str, Filed]:
    """A bundle's review files by stage, in stage order."""
    mine = {f.review.stage.name: f for f in filed if f.review.bundle_sha256 == bundle.sha256}
    return {s: mine[s] for s in STAGES if s in mine}
