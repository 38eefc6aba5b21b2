"""Hostile containers and files: zip members that expand past what their headers declare (bundle and
workbook), headers zipfile cannot read, a document swapped for a symlink between a check and the open, and
text that is not UTF-8. Each is refused in Chinese naming the file (the zip and the entry, or the line and
byte), fast and without unpacking what it declares not to hold."""

from __future__ import annotations

import bz2
import io
import lzma
import os
import struct
import tracemalloc
import zipfile
import zlib
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from openpyxl import Workbook

from scoring.base.errors import ScoringError
from scoring.jobs import rating
from scoring.loading import bundle as bundle_mod
from scoring.loading import readers, register, review, workbook
from scoring.loading import rubric as rubric_mod

from .conftest import make_bundle, sha256
from .test_bad_input import HEAD, refused

DECLARED = 1000  # what the hostile entries' headers say they hold
EXPANDS = 4 * 1024 * 1024  # what their streams really unpack to: 4,194 times as much
_LOCAL = struct.Struct("<4s5H3L2H")  # signature, version needed, flags, method, time, date, CRC, sizes, name, extra
_CENTRAL = struct.Struct("<4s6H3L5H2L")  # signature, made by, needed, flags, method, time, date, CRC, sizes, ...
_END = struct.Struct("<4s4H2LH")


def pack(entries: list[tuple[bytes, int, bytes, int, int, int]]) -> bytes:
    """A zip written field by field: each entry is (name, method, stored bytes, CRC, declared size, version
    needed), so a header can say anything."""
    out, central = b"", b""
    for name, method, payload, crc, size, needed in entries:
        fields = (needed, 0x800, method, 0, 0x21, crc, len(payload), size, len(name))
        central += _CENTRAL.pack(b"PK\x01\x02", 20, *fields, 0, 0, 0, 0, 0o100644 << 16, len(out)) + name
        out += _LOCAL.pack(b"PK\x03\x04", *fields, 0) + name + payload
    count = len(entries)
    return out + central + _END.pack(b"PK\x05\x06", 0, 0, count, count, len(central), len(out), 0)


def stored(name: str, data: bytes) -> tuple[bytes, int, bytes, int, int, int]:
    return name.encode(), zipfile.ZIP_STORED, data, zlib.crc32(data), len(data), 20


@cache
def expanding(method: int) -> bytes:
    """A stream of EXPANDS zero bytes as a zip stores it with `method` (LZMA: its 4-byte header, then the
    5 bytes of properties lc=3, lp=0, pb=2 -> (2 * 5 + 0) * 9 + 3 = 93 and a 1 MiB dictionary)."""
    zeros = bytes(EXPANDS)
    if method == zipfile.ZIP_BZIP2:
        return bz2.compress(zeros, 1)
    if method == zipfile.ZIP_LZMA:
        lzma1 = {"id": lzma.FILTER_LZMA1, "preset": 0, "dict_size": 1 << 20, "lc": 3, "lp": 0, "pb": 2}
        return b"\x09\x04\x05\x00" + bytes([93]) + (1 << 20).to_bytes(4, "little") + \
            lzma.compress(zeros, lzma.FORMAT_RAW, filters=[lzma1])
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return packer.compress(zeros) + packer.flush()


def lying(name: str, method: int) -> tuple[bytes, int, bytes, int, int, int]:
    """An entry declaring DECLARED bytes, with the CRC of its first DECLARED bytes (as if it held only those), whose stream unpacks to EXPANDS."""
    return name.encode(), method, expanding(method), zlib.crc32(bytes(DECLARED)), DECLARED, 20


def manifest(content: bytes) -> bytes:
    return (HEAD + f"documents:\n  - {{id: D01, file: documents/a.txt, title: 通知, sha256: {sha256(content)}}}\n"
            ).encode()


METHODS = [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA, zipfile.ZIP_DEFLATED]


@pytest.mark.parametrize("method", METHODS)
def test_an_entry_expanding_past_its_declared_size_is_refused(runner: CliRunner, tmp_path: Path,
                                                              method: int) -> None:
    # Before: zipfile inflated the whole BZIP2/LZMA chunk, kept the first 1,000 bytes and scored (exit 0).
    z = tmp_path / "bundle.zip"
    z.write_bytes(pack([stored("bundle.yaml", manifest(bytes(DECLARED))), lying("documents/a.txt", method)]))
    refused(runner, z, tmp_path, f"压缩包 {z} 内的 “documents/a.txt” 解压后超过了它登记的大小（1000 字节）")


@pytest.mark.parametrize("method", METHODS)
def test_it_is_refused_before_it_unpacks(tmp_path: Path, method: int) -> None:
    z = tmp_path / "bundle.zip"
    z.write_bytes(pack([stored("bundle.yaml", manifest(bytes(DECLARED))), lying("documents/a.txt", method)]))
    tracemalloc.start()
    try:
        with pytest.raises(ScoringError, match="超过了它登记的大小"):
            bundle_mod.open_bundle(z)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < EXPANDS // 4, peak  # a step of 64 KiB at a time, not the 4 MiB the stream holds


def test_a_workbook_part_expanding_past_its_declared_size_is_refused() -> None:
    # Before: the declared sizes were summed, and openpyxl unpacked whatever the parts really held.
    saved = io.BytesIO()
    Workbook().save(saved)
    with zipfile.ZipFile(saved) as archive:
        parts = [stored(info.filename, archive.read(info)) for info in archive.infolist()]
    raw = pack([*parts, lying("xl/media/image1.bin", zipfile.ZIP_BZIP2)])
    with pytest.raises(ScoringError, match="填报表内的 “xl/media/image1.bin” 解压后超过了它登记的大小"):
        workbook.read(raw, "填报表.xlsx")
    with pytest.raises(ScoringError, match="找不到工作表 “基本信息”"):  # the same parts, honest: opened and read
        workbook.read(pack(parts), "填报表.xlsx")


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, *METHODS])
def test_honest_entries_of_every_method_are_read(tmp_path: Path, method: int) -> None:
    # Our own unpacking, over several steps: the document's hash must come out as registered.
    content = "".join(f"第 {i} 行：通知正文。\n" for i in range(3000)).encode()  # over one step of 64 KiB
    z = tmp_path / "bundle.zip"
    with zipfile.ZipFile(z, "w", compression=method, compresslevel=1) as archive:
        archive.writestr("bundle.yaml", manifest(content))
        archive.writestr("documents/a.txt", content)
    assert bundle_mod.open_bundle(z).documents["D01"].status == "ok"


@pytest.mark.parametrize(("method", "named"), [(9, "Deflate64"), (93, "Zstandard"), (98, "PPMd"), (99, "AES 加密"),
                                               (77, "未知")])
def test_other_methods_are_refused_by_name(runner: CliRunner, tmp_path: Path, method: int, named: str) -> None:
    z = tmp_path / "bundle.zip"
    body = manifest(b"x")
    z.write_bytes(pack([stored("bundle.yaml", body), (b"documents/a.txt", method, b"x", zlib.crc32(b"x"), 1, 20)]))
    refused(runner, z, tmp_path, f"压缩包 {z} 内的 “documents/a.txt” 使用了不支持的压缩方式 {named}（编号 {method}）")


def test_an_entry_needing_version_9_9_is_named(runner: CliRunner, tmp_path: Path) -> None:
    # Before: zipfile's NotImplementedError("zip file version 9.9") came out as a traceback.
    z = tmp_path / "bundle.zip"
    entry = (b"documents/a.txt", zipfile.ZIP_STORED, b"x", zlib.crc32(b"x"), 1, 99)
    z.write_bytes(pack([stored("bundle.yaml", manifest(b"x")), entry]))
    refused(runner, z, tmp_path, str(z), "压缩包内的 “documents/a.txt” 要求 9.9 版的解压程序，本程序只支持到 6.3 版")


def test_an_entry_without_a_name_is_named_by_its_place(runner: CliRunner, tmp_path: Path) -> None:
    # Before: ZipInfo.is_dir() read the name's last character: an IndexError traceback.
    z = tmp_path / "bundle.zip"
    z.write_bytes(pack([stored("bundle.yaml", manifest(b"x")), stored("", b"x")]))
    refused(runner, z, tmp_path, str(z), "压缩包内第 2 个文件没有文件名")


# ---------------------------------------------------------------- a document swapped for a symlink


def swapped_after_check(monkeypatch: pytest.MonkeyPatch, target: Path, secret: Path) -> list[str]:
    """Replace `target` by a symlink to `secret` at the last moment: right after the first lstat of it (a
    check) or right before the first os.open of it, whichever comes first. Returns what fired."""
    fired: list[str] = []
    real_lstat, real_open = os.lstat, os.open

    def swap(how: str) -> None:
        if not fired:
            fired.append(how)
            target.unlink()
            target.symlink_to(secret)

    def lstat(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        info = real_lstat(path, *args, **kwargs)
        if os.fspath(path).endswith(target.name) and not fired:
            swap("lstat")
        return info

    def open_(path: Any, *args: Any, **kwargs: Any) -> int:
        if os.fspath(path).endswith(target.name):
            swap("open")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "lstat", lstat)
    monkeypatch.setattr(os, "open", open_)
    return fired


def secret_and_bundle(tmp_path: Path) -> tuple[Path, Path]:
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"outside the bundle")
    b = make_bundle(tmp_path / "b", documents={"D01": ("documents/a.txt", b"inside", "2022-03-01")})
    return secret, b


def test_the_desk_reader_never_serves_a_file_swapped_for_a_link(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # Before: the reader checked the path, then opened it by path, and served the link's target.
    secret, b = secret_and_bundle(tmp_path)
    loaded = bundle_mod.open_bundle(b)  # what the desk keeps between requests
    fired = swapped_after_check(monkeypatch, b / "documents" / "a.txt", secret)
    try:
        with pytest.raises(ScoringError, match="路径 “documents/a.txt” 经符号链接指向材料包之外"):
            loaded.files.read("documents/a.txt")
    finally:
        loaded.files.close()
    assert fired


def test_docs_never_hashes_a_file_swapped_for_a_link(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret, b = secret_and_bundle(tmp_path)
    (b / "documents" / "new.txt").write_bytes(b"new")
    fired = swapped_after_check(monkeypatch, b / "documents" / "new.txt", secret)
    with pytest.raises(ScoringError, match="路径 “documents/new.txt” 经符号链接指向材料包之外"):
        register.register(b)
    assert fired and sha256(secret.read_bytes()) not in (b / "bundle.yaml").read_text("utf-8")


def test_links_inside_the_bundle_are_followed_and_links_out_are_not(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    root = tmp_path / "b"
    (root / "documents" / "sub").mkdir(parents=True)
    (root / "documents" / "sub" / "a.txt").write_bytes(b"a")
    links = {"same.txt": "sub/a.txt", "abs.txt": str(root / "documents" / "sub" / "a.txt"), "up": "../documents",
             "out.txt": "../../out/x", "far.txt": str(tmp_path / "out" / "x"), "dir": str(tmp_path / "out"),
             "loop.txt": "loop.txt"}
    for name, target in links.items():
        (root / "documents" / name).symlink_to(target)
    real = os.path.realpath(root)

    def read(rel: str) -> bytes:
        with os.fdopen(readers.open_inside(real, rel), "rb") as handle:
            return handle.read()

    assert read("documents/same.txt") == read("documents/abs.txt") == read("documents/up/sub/a.txt") == b"a"
    for rel in ("documents/out.txt", "documents/far.txt", "documents/dir/x"):
        with pytest.raises(readers.LinkOut):
            readers.open_inside(real, rel)
    with pytest.raises(OSError, match="Too many levels"):
        readers.open_inside(real, "documents/loop.txt")


# ---------------------------------------------------------------- text that is not UTF-8

# HEAD is 86 bytes: "rubric: mini\n" 13, "assessee: {name: 测试县}\n" 17 + 9 + 2 = 28,
# "period: {start: 2022-01-01, end: 2022-12-31}\n" 45. "# " follows, so the GBK byte 0xB8 sits on line 4,
# its 3rd byte, at offset 88 of the file.
NOT_UTF8 = HEAD.encode() + "# 高".encode("gbk") + b"\n"
WHERE = "第 4 行第 3 个字节（全文字节偏移 88）是无法识别的 0xB8"


def test_a_manifest_not_in_utf8_names_the_line_and_byte(runner: CliRunner, tmp_path: Path) -> None:
    b = tmp_path / "b"
    b.mkdir()
    (b / "bundle.yaml").write_bytes(NOT_UTF8)
    refused(runner, b, tmp_path, f"文件 {b}/bundle.yaml，第 4 行：文件不是 UTF-8 编码：{WHERE}")


def test_a_text_file_not_in_utf8_names_the_line_and_byte(runner: CliRunner, tmp_path: Path) -> None:
    b = make_bundle(tmp_path / "b", narrative={"overview": {"file": "o.txt"}})
    (b / "o.txt").write_bytes(NOT_UTF8)
    refused(runner, b, tmp_path, f"文件 {b}/o.txt，第 4 行：文件不是 UTF-8 编码：{WHERE}")


@pytest.mark.parametrize("reader", [review.read, rubric_mod.load, rating.read_registry])
def test_every_reader_names_the_line_and_byte(tmp_path: Path, reader: Callable[[Path], Any]) -> None:
    path = tmp_path / "input"
    path.write_bytes(NOT_UTF8)
    with pytest.raises(ScoringError) as caught:
        reader(path)
    assert WHERE in str(caught.value) and caught.value.file == str(path) and caught.value.line == 4


def test_the_byte_order_mark_counts_in_the_offset() -> None:
    # BOM (3 bytes) + "ab" + 0xFF: line 1, byte 6, offset 5.
    with pytest.raises(ScoringError, match=r"第 1 行第 6 个字节（全文字节偏移 5）是无法识别的 0xFF"):
        readers.decode_utf8(b"\xef\xbb\xbfab\xff", "x")
