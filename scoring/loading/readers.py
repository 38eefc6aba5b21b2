"""The capped readers for files from outside: a regular file read within its budget, and a zip's end
records checked before its directory is parsed. The budgets themselves are scoring/base/limits.py."""

from __future__ import annotations

import errno
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


def decode_utf8(raw: bytes, name: str, hint: str = "请用 UTF-8 编码保存") -> str:
    """Text from outside, decoded from UTF-8 (a byte-order mark allowed), or a refusal naming the line and the
    byte offset of the first byte that is not UTF-8."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        at = len(raw) - len(exc.object) + exc.start  # counted in the file's bytes, a byte-order mark included
    line = raw.count(b"\n", 0, at) + 1
    column = at - (raw.rfind(b"\n", 0, at) + 1) + 1
    raise ScoringError(f"文件不是 UTF-8 编码：第 {line} 行第 {column} 个字节（全文字节偏移 {at}）是无法识别的 "
                       f"0x{raw[at]:02X}", name, line, hint=hint)


class LinkOut(Exception):
    """A path whose symlink leads out of the folder it was opened in."""


_FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_FILE = os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
_HOPS = 40  # symlinks followed in one path, as the kernel allows


def open_inside(root: str, rel: str) -> int:
    """A descriptor of the file at `rel` inside the real folder `root`, opened one component at a time
    relative to its folder's descriptor with O_NOFOLLOW: the kernel never follows a link. A symlink met on
    the way is followed by its text, and only while it stays inside `root` (LinkOut otherwise), so swapping
    a file for a link after any check cannot serve what lies outside. The caller checks what it got (fstat)."""
    folders, parts, hops = [os.open(root, _FOLDER)], [p for p in rel.split("/") if p not in ("", ".")], _HOPS
    try:
        while parts:
            part = parts.pop(0)
            if part == "..":
                if len(folders) == 1:
                    raise LinkOut(rel)
                os.close(folders.pop())
                continue
            try:
                fd = os.open(part, _FILE if not parts else _FOLDER, dir_fd=folders[-1])
            except OSError as exc:
                if exc.errno not in (errno.ELOOP, errno.ENOTDIR) or hops == 0:
                    raise
                hops -= 1
                parts = _link(part, folders, root, rel, exc) + parts
                continue
            if not parts:
                return fd
            folders.append(fd)
        raise IsADirectoryError(errno.EISDIR, "a folder", rel)
    finally:
        for fd in folders:
            os.close(fd)


def _link(part: str, folders: list[int], root: str, rel: str, failed: OSError) -> list[str]:
    """The components a symlink stands for, from the folder it is in (or from `root`, for an absolute link
    into it); `failed` again when `part` is no link (a file where a folder was wanted)."""
    try:
        target = os.readlink(part, dir_fd=folders[-1])
    except OSError:
        raise failed from None
    if target.startswith("/"):
        inside = root.rstrip("/") + "/"
        if target != root and not target.startswith(inside):
            raise LinkOut(rel)
        while len(folders) > 1:
            os.close(folders.pop())
        target = target[len(inside):]
    return [p for p in target.split("/") if p not in ("", ".")]


_EOCD = struct.Struct("<4s4H2LH")  # signature, disks, entries here, entries, directory size, offset, comment
_LOCATOR = struct.Struct("<4sLQL")  # the zip64 end record's signature and where that record is
_EOCD64 = struct.Struct("<4sQ2H2L4Q")


def check_zip_directory(handle: BinaryIO, name: str, entries: int, what: str) -> None:
    """Refuse a zip whose end records announce more than `entries` entries or a central directory over
    limits.ZIP_DIRECTORY_BYTES, before zipfile parses (and holds) the whole directory. The end record is
    found as zipfile finds it (at the very end, else the last one within a comment's reach); a zip64 end
    record, when a locator sits right before it, counts instead, as it does for zipfile. A zip without an
    end record is left to zipfile to refuse."""
    found = _end(handle)
    if found is None:
        return
    _, count, directory, zip64 = found
    if not zip64 and (count == 0xFFFF or directory == 0xFFFFFFFF):  # "see the zip64 record", and there is none
        raise ScoringError(f"{what}不完整或已损坏：找不到 zip64 目录记录", name,
                           hint="可能是下载或复制中断，请重新打包或重新复制")
    if count > entries:
        raise ScoringError(f"{what}内文件过多（{count} 个，上限 {entries} 个）", name)
    if directory > limits.ZIP_DIRECTORY_BYTES:
        raise ScoringError(f"{what}的文件目录过大（{directory} 字节，上限 {limits.ZIP_DIRECTORY_BYTES} 字节）", name)


def zip_directory_span(handle: BinaryIO) -> tuple[int, int]:
    """Where a checked zip's central directory starts and its size, as zipfile finds it: right before the
    end records, whatever offset they claim (data may precede the zip)."""
    found = _end(handle)
    if found is None:
        return 0, 0
    end, _, directory, zip64 = found
    return max(0, end - directory - (_LOCATOR.size + _EOCD64.size if zip64 else 0)), directory


def _end(handle: BinaryIO) -> tuple[int, int, int, bool] | None:
    """Where the end record is, the entry count and directory size it (or its zip64 record) announces, and
    whether a zip64 record does."""
    size = handle.seek(0, os.SEEK_END)
    start = max(0, size - _EOCD.size - 0xFFFF)
    handle.seek(start)
    tail = handle.read()
    at = len(tail) - _EOCD.size
    if at < 0 or tail[at:at + 4] != b"PK\x05\x06" or tail[-2:] != b"\0\0":
        at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < _EOCD.size:
        return None
    *_, count, directory, _, _ = _EOCD.unpack_from(tail, at)
    zip64 = _zip64(handle, start + at, size)
    if zip64 is not None:
        return start + at, *zip64, True
    return start + at, count, directory, False


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
