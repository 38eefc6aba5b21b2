"""The folder the review desk serves: the counties' bundles and the review files beside them, found,
matched (by the bundle's SHA-256 and the stage) and scored by the pipeline (pipeline/folder.py), the same
path every command takes; what is the desk's own is the cache below and saving.

A county is known by its entry's name in the folder, and only an entry listed here can be opened: no
name from a URL becomes a path. Saving rewrites one review file (never a bundle) through review.write,
after the new text passed the checks `scoring score --review` makes, and only over the version the
reviewer's page was made from.

What is loaded and scored is kept between requests, each value beside the stat signature of every file
it was made from (taken before they were read). A request signs the files again, which costs a stat per
file, and makes the value anew when any signature differs: an edit made in a text editor or by the CLI,
a bundle replaced, a save through the desk, a file its manifest names added or removed. A bundle is
signed by the files it was read from (its manifest, the documents and texts it names), never by a walk
of its folder: other files in it change nothing it shows, and thousands of them cost nothing.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, TypeVar, cast

from scoring.base import files
from scoring.base.errors import ScoringError
from scoring.base.files import write_atomic
from scoring.domain.model import Bundle, Rubric, Stage
from scoring.domain.results import Result
from scoring.faces.desk import reviewers
from scoring.faces.desk.reviewers import Reviewer
from scoring.loading import review
from scoring.loading.bundle import open_bundle
from scoring.loading.rubric import load
from scoring.pipeline.folder import Filed, RubricChoice, find, matched, read_review, read_reviews
from scoring.pipeline.reviews import score

REVIEWING = review.REVIEWING
KEPT = 1024  # values kept between requests: a bundle, a rubric, a review file, a county's result or page
SETTLED_NS = 2_000_000_000  # a file written less than 2 s ago is not kept: a second write within the
# same tick of the file system's clock could leave its signature unchanged

T = TypeVar("T")
Stat = tuple[int, int, int, int]  # inode, size, mtime and ctime in nanoseconds; zeros for no file


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
    before: tuple[review.Review, ...] = ()  # the earlier stages' files, applied before this one

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
    """The review file changed after the reviewer's page was made: the file now (`case`) and, when this
    desk made a page from it, the stage the reviewer's page showed (`shown`)."""

    def __init__(self, case: Case, shown: Stage | None) -> None:
        super().__init__("review file changed")
        self.case, self.shown = case, shown


class Folder:
    def __init__(self, root: Path, rubric: str | Path | None = None) -> None:
        if not root.is_dir():
            raise ScoringError("评审目录不存在或不是文件夹", str(root), hint="请给出存放各县材料包和评审意见的文件夹")
        self.root = root.resolve()
        self.rubric = RubricChoice.of(rubric)
        self.lock = threading.Lock()  # one save at a time in this process; the file lock is for all of them
        self.kept = _Kept()
        self.read_from: dict[str, tuple[str, ...]] = {}  # the files each county's bundle was last read from
        self.shown: OrderedDict[str, Stage] = OrderedDict()  # stages by version, as pages showed them
        files.sweep(self.root)  # what saves killed mid-write left (ours, their process gone)

    def local(self, text: str) -> str:
        """A message without the machine's paths: files named as they are in the folder."""
        return local(text, self.root)

    def names(self) -> list[str]:
        return [p.name for p in find(self.root, empty=True).bundles]

    def reviews(self) -> tuple[list[Filed], list[str]]:
        """Every readable review file, and a problem line for each one that is not (and each link that
        leads out of the folder)."""
        found = find(self.root, empty=True)
        filed, problems = read_reviews(found.review_files, self._read)
        return filed, [*found.outside, *problems]

    def _read(self, path: Path) -> Filed:
        signed = _stat(path)
        found = self.kept.get(("review", path.name), signed, _settled([signed]), partial(_read_review, path, signed))
        if isinstance(found, ScoringError):
            raise found
        return found

    def bundle_path(self, name: str) -> Path:
        if name not in self.names():
            raise Unknown(name)
        return self.root / name

    def open(self, name: str) -> tuple[Rubric, Bundle]:
        rubric, bundle, _, _ = self._opened(name)
        return rubric, bundle

    def _opened(self, name: str) -> tuple[Rubric, Bundle, Hashable, bool]:
        """The county's rubric and bundle, the signature of their files and whether those have settled."""
        path = self.bundle_path(name)
        bundle, tree, settled = self._bundle(name, path)
        rubric_path = self.rubric.path(bundle)
        signed = _stat(rubric_path)
        rubric = self.kept.get(("rubric", str(rubric_path)), signed, _settled([signed]), partial(load, rubric_path))
        return rubric, bundle, (tree, str(rubric_path), signed), settled and _settled([signed])

    def _bundle(self, name: str, path: Path) -> tuple[Bundle, Hashable, bool]:
        """The county's bundle, the signature of the files it was read from and whether those have settled.
        Only the files the bundle was read from are signed (the last read's list, stat taken by the reader
        before it read each), so files of the folder that the manifest does not name cost nothing."""
        read_from = self.read_from.get(name)
        if read_from is not None:
            signed = _signed(path, read_from)
            found = self.kept.find(("bundle", name), signed)
            if found is not None:
                return cast(Bundle, found), signed, _settled(s for _, s in signed)
        taken: dict[str, Stat] = {}
        whole = _stat(path)  # a zip is one file, signed before it is read
        bundle = open_bundle(path, taken)
        signed = tuple(sorted(taken.items())) if path.is_dir() else (("", whole),)
        self.read_from[name] = tuple(rel for rel, _ in signed)
        settled = _settled(s for _, s in signed)
        if settled:
            self.kept.put(("bundle", name), signed, bundle)
        return bundle, signed, settled

    def _mine(self, name: str, filed: Sequence[Filed] | None = None) -> tuple[Rubric, Bundle, list[Filed], Hashable, bool]:
        """The county's rubric, bundle and review files, with their signature and whether they settled."""
        rubric, bundle, inputs, settled = self._opened(name)
        mine = [f for f in (self.reviews()[0] if filed is None else filed) if f.review.bundle_sha256 == bundle.sha256]
        signature = (inputs, tuple((f.path, f.stat) for f in mine))
        return rubric, bundle, mine, signature, settled and _settled(cast(Stat, f.stat) for f in mine)

    def case(self, name: str, stage: str) -> Case:
        """The county at `stage`: the earlier stages' files applied, then this stage's file if it loads."""
        if stage not in REVIEWING:
            raise Unknown(stage)
        rubric, bundle, mine, signature, settled = self._mine(name)
        new = self._new_file(name, stage)
        made = self.kept.get(("case", name, stage), (signature, new), settled,
                             partial(_case, name, stage, rubric, bundle, mine, new))
        if made.current is not None:
            with self.kept.lock:
                self.shown[made.version] = made.current.stage
                while len(self.shown) > KEPT:
                    self.shown.popitem(last=False)
        return made

    def _new_file(self, name: str, stage: str) -> Path:
        """A name for a county's first review file at a stage that no other file has."""
        path, n = self.root / f"{Path(name).stem}_{stage}.yaml", 1
        while path.exists() or path.is_symlink():
            n += 1
            path = self.root / f"{Path(name).stem}_{stage}_{n}.yaml"
        return path

    def scored(self, name: str, filed: list[Filed]) -> Result:
        """A county with every stage filed for it applied, as `scoring review summary` scores it."""
        rubric, bundle, mine, signature, settled = self._mine(name, filed)

        def made() -> Result:
            return score(rubric, bundle, [f.review for f in matched(mine, bundle, rubric).values()])
        return self.kept.get(("scored", name), signature, settled, made)

    def save(self, name: str, stage: str, version: str, change: Callable[[Stage], Stage],
             by: Reviewer | None = None) -> Case:
        """Apply `change` to the stage and write the file, if it is still the version the page showed and
        the new file passes every check of `scoring score --review`; else Conflict or ScoringError. Desks
        on the folder save a county's stage in turn, under an OS lock (`.高青县_初评.lock`); the write itself
        is made under the review file's own lock (`files.locked`), which `scoring review` commands take too,
        and only over the version checked. Each save is appended to the file's audit log, by `by` (the
        signed-in reviewer) or, when the desk knows no reviewers, by the typed name."""
        with self.lock, files.locked(self.root / f"{Path(name).stem}_{stage}"):
            case = self.case(name, stage)
            if case.version != version:
                with self.kept.lock:
                    raise Conflict(case, self.shown.get(version))
            if case.problem:
                raise ScoringError(case.problem)
            made = change(case.stage_made)
            text = review.write(made, case.result)
            written = review.parse(text.encode(), str(case.file))
            score(case.rubric, case.bundle, [*case.before, written])  # the checks of `score --review`
            with files.locked(case.file):
                stale = files.digest(case.file) != case.version  # a command wrote it since the case was read
                if not stale:
                    write_atomic(case.file, text.encode())
                    who = by or Reviewer(made.author, made.unit)
                    reviewers.record(case.file, who.name, who.unit, by is not None,
                                     reviewers.changes(case.stage_made, made), case.version,
                                     hashlib.sha256(text.encode()).hexdigest(), reviewers.now())
            if stale:
                with self.kept.lock:
                    shown = self.shown.get(version)
                raise Conflict(self.case(name, stage), shown)
            return self.case(name, stage)


def _case(name: str, stage: str, rubric: Rubric, bundle: Bundle, mine: list[Filed], new: Path) -> Case:
    try:
        by_stage = matched(mine, bundle, rubric)
    except ScoringError as exc:
        return Case(name, stage, rubric, bundle, score(rubric, bundle), new, "", None, local(str(exc), new.parent))
    earlier = REVIEWING[: REVIEWING.index(stage)]
    before = tuple(by_stage[s].review for s in earlier if s in by_stage)
    missing = next((s for s in earlier if s not in by_stage), None)
    if missing:
        return Case(name, stage, rubric, bundle, score(rubric, bundle, before), new, "", None,
                    f"还没有{missing}意见：{stage}在{missing}之后")
    filed = by_stage.get(stage)
    path, version = (filed.path, filed.version) if filed else (new, "")
    try:
        result = score(rubric, bundle, [*before, *([filed.review] if filed else [])])
    except ScoringError as exc:
        return Case(name, stage, rubric, bundle, score(rubric, bundle, before), path, version, None,
                    local(f"评审意见文件 {path.name} 无法使用：{exc}。请先在文件中改正，或移走该文件", new.parent), before)
    return Case(name, stage, rubric, bundle, result, path, version, filed.review if filed else None, "", before)


def local(text: str, root: Path) -> str:
    """`text` with the served folder's path left out of every file it names (the folder itself by its name)."""
    return text.replace(f"{root}{os.sep}", "").replace(str(root), root.name)


class _Kept:
    """Values made from files, each kept under what it is (a county's bundle, a county at a stage …) beside
    the signature of the files it was made from; a value is given again only for the same signature. At
    most KEPT values, the least recently used dropped first. Two threads may make the same value at once;
    both are right, and the last is kept."""

    def __init__(self) -> None:
        self.values: OrderedDict[Hashable, tuple[Hashable, Any]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, what: Hashable, signature: Hashable, settled: bool, make: Callable[[], T]) -> T:
        found = self.find(what, signature)
        if found is not None:
            return cast(T, found)
        value = make()
        if settled:
            self.put(what, signature, value)
        return value

    def find(self, what: Hashable, signature: Hashable) -> Any:
        """The value kept under `what` for this signature, else None."""
        with self.lock:
            found = self.values.get(what)
            if found is not None and found[0] == signature:
                self.values.move_to_end(what)
                return found[1]
        return None

    def put(self, what: Hashable, signature: Hashable, value: Any) -> None:
        with self.lock:
            self.values[what] = (signature, value)
            self.values.move_to_end(what)
            while len(self.values) > KEPT:
                self.values.popitem(last=False)


def _stat(path: Path) -> Stat:
    """What changes when a file is written, replaced or touched (through symlinks): ctime changes even
    when a tool keeps the mtime."""
    try:
        s = os.stat(path)
    except OSError:
        return (0, 0, 0, 0)
    return (s.st_ino, s.st_size, s.st_mtime_ns, s.st_ctime_ns)


def _signed(path: Path, read_from: Sequence[str]) -> tuple[tuple[str, Stat], ...]:
    """A bundle's signature now: the stat of each file it was last read from (a zip is one file)."""
    if not read_from or read_from == ("",):
        return (("", _stat(path)),)
    return tuple((rel, _stat(path / rel)) for rel in read_from)


def _settled(stats: Iterable[Stat]) -> bool:
    now = time.time_ns()
    return all(now - s[2] > SETTLED_NS for s in stats)


def _read_review(path: Path, signed: Stat) -> Filed | ScoringError:
    """A review file as the pipeline reads it, signed with the stat taken before; or why it cannot be."""
    try:
        return replace(read_review(path), stat=signed)
    except ScoringError as exc:
        return exc
