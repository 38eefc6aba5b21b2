"""The capped readers for files from outside: a regular file read within its budget, and a zip's end
records checked before its directory is parsed. The budgets themselves are scoring/base/limits.py."""

from __future__ import annotations

import os
import stat
import struct
from pathlib import Path
from typing import BinaryIO

from scoring.base import limits
from scoring.base.errors import OPENING, ScoringError


def read_regular(path: Path, limit: int, what: str, hint: str | None = None, unreadable: str | None = None) -> bytes:
    """A file's bytes, refusing anything but a regular file (a FIFO, a device such as /dev/zero) before
    reading, and a file over `limit` bytes after reading at most one byte more. `what` names the file in
    messages; `unreadable` replaces the message for a file that cannot be opened."""
    name = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a FIFO must not block the open
    except FileNotFoundError as exc:
        raise ScoringError(unreadable or f"{what}不存在", name, hint=hint) from exc
    except OSError as exc:
        raise ScoringError(f"{unreadable or f'{what}无法读取'}：{OPENING.get(exc.errno or 0, f'错误码 {exc.errno}')}",
                           name, hint=hint) from exc
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):  # checked before os.fdopen, which refuses a folder without its name
        os.close(fd)
        raise ScoringError(f"{what}{'是目录，不是文件' if stat.S_ISDIR(info.st_mode) else '不是普通文件'}", name, hint=hint)
    with os.fdopen(fd, "rb") as handle:
        try:
            raw = read_capped(handle, info.st_size, limit)
        except OSError as exc:
            raise ScoringError(f"{what}无法读取", name, hint=hint) from exc
    if len(raw) > limit:
        raise ScoringError(f"{what}过大（上限 {limit} 字节）", name)
    return raw


def read_capped(handle: BinaryIO, size: int, limit: int) -> bytes:
    """At most limit + 1 bytes of an open regular file that had `size` bytes when it was checked, in a
    buffer its own size (read(n) allocates n bytes first); a file grown since is read on to the limit."""
    data = handle.read(min(size, limit) + 1)
    if len(data) > size:
        data += handle.read(limit + 1 - len(data))
    return data


_EOCD = struct.Struct("<4s4H2LH")  # signature, disks, entries here, entries, directory size, offset, comment
_LOCATOR = struct.Struct("<4sLQL")  # the zip64 end record's signature and where that record is
_EOCD64 = struct.Struct("<4sQ2H2L4Q")


def check_zip_directory(handle: BinaryIO, name: str, entries: int, what: str) -> None:
    """Refuse a zip whose end records announce more than `entries` entries or a central directory over
    limits.ZIP_DIRECTORY_BYTES, before zipfile parses (and holds) the whole directory. The end record is
    found as zipfile finds it (at the very end, else the last one within a comment's reach); a zip64 end
    record, when a locator sits right before it, counts instead, as it does for zipfile. A zip without an
    end record is left to zipfile to refuse."""
    size = handle.seek(0, os.SEEK_END)
    start = max(0, size - _EOCD.size - 0xFFFF)
    handle.seek(start)
    tail = handle.read()
    at = len(tail) - _EOCD.size
    if at < 0 or tail[at:at + 4] != b"PK\x05\x06" or tail[-2:] != b"\0\0":
        at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < _EOCD.size:
        return
    *_, count, directory, _, _ = _EOCD.unpack_from(tail, at)
    zip64 = _zip64(handle, start + at, size)
    if zip64 is not None:
        count, directory = zip64
    elif count == 0xFFFF or directory == 0xFFFFFFFF:  # "see the zip64 record", and there is none
        raise ScoringError(f"{what}不完整或已损坏：找不到 zip64 目录记录", name,
                           hint="可能是下载或复制中断，请重新打包或重新复制")
    if count > entries:
        raise ScoringError(f"{what}内文件过多（{count} 个，上限 {entries} 个）", name)
    if directory > limits.ZIP_DIRECTORY_BYTES:
        raise ScoringError(f"{what}的文件目录过大（{directory} 字节，上限 {limits.ZIP_DIRECTORY_BYTES} 字节）", name)


def _zip64(handle: BinaryIO, end: int, size: int) -> tuple[int, int] | None:
    """The entry count and directory size of the zip64 end record whose locator sits right before the end
    record at `end`: the record right before the locator (where zipfile reads it) and the one the locator
    points to (where the format puts it), the larger figures when a lying locator makes them differ."""
    if end < _LOCATOR.size:
        return None
    handle.seek(end - _LOCATOR.size)
    signature, _, where, _ = _LOCATOR.unpack(handle.read(_LOCATOR.size))
    if signature != b"PK\x06\x07":
        return None
    found = []
    for at in {end - _LOCATOR.size - _EOCD64.size, where}:
        if 0 <= at < size:
            handle.seek(at)
            record = handle.read(_EOCD64.size)
            if len(record) == _EOCD64.size and record[:4] == b"PK\x06\x06":
                found.append(_EOCD64.unpack(record)[7:9])
    return (max(c for c, _ in found), max(d for _, d in found)) if found else None
