"""The reviewers a desk knows (`scoring serve --reviewer 李明@淄博市民政局`, or a small file of such lines),
each with a personal sign-in key made at start; and the audit log kept beside each review file: one line
per save (who, when, what changed, the review file's SHA-256 before and after), checked by
`scoring review audit`.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from scoring.base.errors import ScoringError
from scoring.base.text import excerpt
from scoring.domain.model import Override, Stage
from scoring.loading import readers

ROSTER_BYTES = 64 * 1024  # a reviewers file: a few hundred names at most
LOG_BYTES = 64 * 1024 * 1024  # an audit log read back for a page or a check
SHOWN = 50  # records the county page shows, newest first
ACTION_WORDS = {"score": "定分", "input": "更正", "reject": "不采信"}


@dataclass(frozen=True)
class Reviewer:
    name: str
    unit: str

    @property
    def label(self) -> str:
        return f"{self.name}（{self.unit}）" if self.unit else self.name


def parse(text: str, where: str) -> Reviewer:
    """`姓名@单位` (the unit may be left out) as a reviewer; else a ScoringError saying what is allowed."""
    name, _, unit = text.strip().partition("@")
    name, unit = name.strip(), unit.strip()
    bad = next((c for c in text if c < " " or c == "\x7f"), None)
    if not name or len(name) > 50 or len(unit) > 100 or bad is not None:
        raise ScoringError(f"评审人 “{excerpt(text)}” 写法不对", where or None,
                           hint="应为 姓名@单位，如 李明@淄博市民政局；姓名不超过 50 字，单位不超过 100 字")
    return Reviewer(name, unit)


def roster(given: Sequence[str], file: Path | None) -> tuple[Reviewer, ...]:
    """The reviewers named by options and by a file (one `姓名@单位` a line, # for comments), each once."""
    found = [parse(text, "--reviewer") for text in given]
    if file is not None:
        raw = readers.read_regular(file, ROSTER_BYTES, "评审人名单", "每行一位评审人：姓名@单位")
        try:
            lines = raw.decode("utf-8-sig").splitlines()
        except UnicodeDecodeError:
            raise ScoringError("评审人名单不是 UTF-8 文本", file.name, hint="请用 UTF-8 编码保存") from None
        found += [parse(line, f"{file.name} 第 {n} 行") for n, line in enumerate(lines, 1)
                  if line.strip() and not line.lstrip().startswith("#")]
    names = [r.name for r in found]
    twice = next((n for n in names if names.count(n) > 1), None)
    if twice:
        raise ScoringError(f"评审人 “{twice}” 写了两次", hint="每位评审人写一次；同名的请加以区分，如 李明（市局）")
    return tuple(found)


def keys(reviewers: Iterable[Reviewer]) -> dict[str, Reviewer]:
    """A secret sign-in key for each reviewer, new at each start."""
    return {secrets.token_urlsafe(18): r for r in reviewers}


# ---------------------------------------------------------------- the audit log


def log_path(review_file: Path) -> Path:
    """The audit log of a review file: beside it, 高青县_初评.yaml → 高青县_初评.log."""
    return review_file.with_name(review_file.stem + ".log")


def sha256(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return ""


def record(review_file: Path, who: str, unit: str, signed_in: bool, what: Sequence[str], before: str,
           after: str, at: str) -> None:
    """Append one save to the review file's audit log, on disk before the save is answered."""
    line = json.dumps({"at": at, "reviewer": who, "unit": unit, "signed_in": signed_in,
                       "file": review_file.name, "changes": list(what), "before": before, "after": after},
                      ensure_ascii=False) + "\n"
    fd = os.open(log_path(review_file), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def read_log(review_file: Path) -> list[dict[str, Any]]:
    """The audit log's records, oldest first; [] when there is none. A line that is not a record is refused."""
    path = log_path(review_file)
    if not path.exists():
        return []
    raw = readers.read_regular(path, LOG_BYTES, "修改记录")
    out = []
    for n, line in enumerate(raw.decode("utf-8", "replace").splitlines(), 1):
        try:
            item = json.loads(line)
        except ValueError:
            item = None
        if not isinstance(item, dict) or not {"at", "reviewer", "changes", "before", "after"} <= item.keys():
            raise ScoringError("修改记录中有一行无法读取", path.name, n, hint="修改记录只能由评审工作台追加，请勿编辑")
        out.append(item)
    return out


def check(review_file: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """The log's records and what is wrong with the chain: each save starts from the file the one before
    left, and the file now is the one the last save wrote."""
    records, problems = read_log(review_file), []
    for n, (a, b) in enumerate(zip(records, records[1:], strict=False), 2):
        if b["before"] != a["after"]:
            problems.append(f"第 {n} 次保存（{b['at']}，{b['reviewer']}）之前，文件已在评审工作台之外被修改")
    now = sha256(review_file)
    if records and records[-1]["after"] != now:
        problems.append("评审意见文件在最后一次保存之后被修改过（不是经评审工作台），或已被删除" if now
                        else "评审意见文件已被删除")
    return records, problems


def changes(before: Stage, after: Stage) -> list[str]:
    """What a save changed, in words: entries added and removed, the header."""
    def said(o: Override) -> str:
        target = f" {o.target}" if o.target else ""
        value = f"为 {o.value}" if o.action != "reject" else ""
        return f"指标 {o.indicator} {ACTION_WORDS.get(o.action, o.action)}{target}{value}（理由：{excerpt(o.reason)}）"

    lines = entry_changes(before, after, said)
    lines += [f"确认 {said(o)}" for o in after.overrides if any(o is p for p in before.pending)]
    if head := header_change(before, after):
        lines.append(f"评审人信息：{head}")
    if after.completed and not before.completed:
        lines.append(f"标记{after.name}完成")
    if before.completed and not after.completed:
        lines.append(f"重新打开{after.name}（撤销完成标记）")
    return lines


def entry_changes(before: Stage, after: Stage, said: Callable[[Override], str]) -> list[str]:
    """The entries added and removed between two versions of a stage, each worded by `said`."""
    def keyed(s: Stage) -> dict[tuple[Any, ...], Override]:
        return {(o.indicator, o.action, o.target, str(o.value), o.reason): o for o in (*s.overrides, *s.pending)}
    old, new = keyed(before), keyed(after)
    return [*(f"新增 {said(o)}" for k, o in new.items() if k not in old),
            *(f"删除 {said(o)}" for k, o in old.items() if k not in new)]


def header_change(before: Stage, after: Stage) -> str:
    """The reviewer, unit and date as they now read, when they changed; else ""."""
    if (before.author, before.unit, before.date) == (after.author, after.unit, after.date):
        return ""
    return " ".join(x for x in (after.unit, after.author, after.date) if x)


def now() -> str:
    """This moment, to the second, with the machine's UTC offset."""
    return datetime.now().astimezone().isoformat(timespec="seconds")
