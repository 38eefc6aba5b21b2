"""Zip containers from outside (a .zip bundle, a 填报表.xlsx): the directory bounded before `zipfile` parses
it, and every member unpacked by us, a step at a time, refused as soon as it passes the size its header
declares, whatever its compression method. `zipfile` only parses the directory: its own BZIP2 and LZMA
readers inflate each chunk whole, however far it expands (785 bytes declaring 1,000 can become 1 GiB).
"""

from __future__ import annotations

import bz2
import io
import lzma
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

from scoring.base import limits
from scoring.base.errors import ScoringError
from scoring.domain.model import Line
from scoring.loading import readers

STEP = 64 * 1024  # bytes read from the zip, and bytes unpacked, at a time
METHODS = {zipfile.ZIP_STORED: "不压缩", zipfile.ZIP_DEFLATED: "Deflate", zipfile.ZIP_BZIP2: "BZIP2",
           zipfile.ZIP_LZMA: "LZMA"}
OTHER_METHODS = {1: "Shrink", 2: "Reduce", 3: "Reduce", 4: "Reduce", 5: "Reduce", 6: "Implode", 9: "Deflate64",
                 10: "PKWARE DCL Implode", 16: "IBM z/OS CMPSC", 18: "IBM TERSE", 19: "IBM LZ77", 20: "Zstandard",
                 93: "Zstandard", 94: "MP3", 95: "XZ", 96: "JPEG", 97: "WavPack", 98: "PPMd", 99: "AES 加密"}
NEWEST = zipfile.MAX_EXTRACT_VERSION  # the highest "version needed to extract" zipfile reads (6.3)
_LOCAL = struct.Struct("<4s22xHH")  # a local header: signature, then (after 22 bytes) name and extra lengths
_CENTRAL = struct.Struct("<4s2xH20xHHH12x")  # a directory record: version needed, name, extra, comment lengths


@dataclass(frozen=True)
class Container:
    """How messages name one kind of zip, and what they tell a user to do about a broken one."""

    what: str  # 压缩包, 填报表
    broken: str  # the message for a file zipfile cannot parse
    hint: str


BUNDLE = Container("压缩包", "不是有效的 zip 压缩包，或文件不完整", "可能是下载或复制中断，请重新打包或重新复制")
WORKBOOK = Container("填报表", "无法读取填报表：不是有效的 .xlsx 文件", "请在 Excel 或 WPS 中另存为 Excel 工作簿（.xlsx）")


def open_zip(handle: BinaryIO, name: str, kind: Container, entries: int) -> zipfile.ZipFile:
    """The zip's directory, parsed once its end records are within `entries` and the directory budget; every
    way zipfile refuses it, and an entry without a name, a Chinese message naming the zip (and the entry)."""
    readers.check_zip_directory(handle, name, entries, kind.what)
    try:
        archive = zipfile.ZipFile(handle)
    except UnicodeDecodeError as exc:  # flagged as UTF-8, but is not
        raise ScoringError(f"{kind.what}内有文件名的编码无法识别", name,
                           hint="请用系统自带的压缩工具或 7-Zip 重新打包") from exc
    except NotImplementedError as exc:  # "zip file version 9.9": a directory record beyond zipfile
        raise _too_new(handle, name, kind) from exc
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise ScoringError(kind.broken, name, hint=kind.hint) from exc
    infos = archive.infolist()
    if len(infos) > entries:  # the end record may understate them
        archive.close()
        raise ScoringError(f"{kind.what}内文件过多（上限 {entries} 个）", name)
    for number, info in enumerate(infos, start=1):
        if not info.filename:
            archive.close()
            raise ScoringError(f"{kind.what}内第 {number} 个文件没有文件名", name, hint=kind.hint)
    return archive


def _too_new(handle: BinaryIO, name: str, kind: Container) -> ScoringError:
    """The refusal of a zip whose directory has an entry needing a newer unzipper than zipfile, naming it."""
    start, size = readers.zip_directory_span(handle)
    handle.seek(start)
    entry, needed = _newer(handle.read(size)) or ("", 0)
    version = f" {needed // 10}.{needed % 10} 版" if needed else "更高版本"
    return ScoringError(f"{kind.what}内的 “{entry}” 要求{version}的解压程序，本程序只支持到 "
                        f"{NEWEST // 10}.{NEWEST % 10} 版", name,
                        hint="请用系统自带的压缩工具或 7-Zip 以普通 zip 格式重新打包")


def _newer(data: bytes) -> tuple[str, int] | None:
    """The name and version of the first directory record that needs more than zipfile reads."""
    at = 0
    while at + _CENTRAL.size <= len(data):
        signature, needed, named, extra, comment = _CENTRAL.unpack_from(data, at)
        if signature != b"PK\x01\x02":
            return None
        if needed > NEWEST:
            flags = int.from_bytes(data[at + 8:at + 10], "little")
            return decode_name(data[at + _CENTRAL.size:at + _CENTRAL.size + named], flags), needed
        at += _CENTRAL.size + named + extra + comment
    return None


def entry_name(info: zipfile.ZipInfo) -> str:
    """An entry's name as written: zipfile reads names without the UTF-8 flag as CP437."""
    if info.flag_bits & 0x800:
        return info.filename
    return decode_name(info.filename.encode("cp437"), info.flag_bits)


def decode_name(raw: bytes, flags: int) -> str:
    """A name's bytes as text. Without the UTF-8 flag, Chinese names come from Info-ZIP (UTF-8 without the
    flag) or Windows (GBK), so try those before CP437."""
    if flags & 0x800:
        return raw.decode("utf-8", "replace")
    try:
        name = raw.decode("utf-8")
        # GBK bytes can happen to be valid UTF-8 too, but then hardly ever spell Chinese.
        if name.isascii() or any("\u3000" <= ch <= "\u9fff" for ch in name):
            return name
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("gbk")
    except UnicodeDecodeError:
        return raw.decode("cp437")


def check_workbook(raw: bytes, name: str) -> None:
    """Every part of a workbook unpacked (and dropped) a step at a time before openpyxl unpacks it again: the
    declared sizes within WORKBOOK_UNPACKED, each part stopped as soon as it passes its own, so what openpyxl
    then reads (with zipfile) cannot expand past what was counted here."""
    handle = io.BytesIO(raw)
    with open_zip(handle, name, WORKBOOK, limits.WORKBOOK_PARTS) as archive:
        parts = archive.infolist()
    if sum(part.file_size for part in parts) > limits.WORKBOOK_UNPACKED:
        raise ScoringError(f"填报表解压后过大（上限 {limits.WORKBOOK_UNPACKED} 字节）", name,
                           hint="请用 scoring init --xlsx 生成的填报表填写")
    for part in parts:
        for _ in stream(handle, part, Place(f"填报表内的 “{entry_name(part)}” ", name)):
            pass


@dataclass(frozen=True)
class Place:
    """Where a member's problems are reported: the words naming it, the file and line of the message."""

    about: str  # 压缩包 X 内的 “documents/a.pdf”
    file: str
    line: Line | None = None

    def refuse(self, problem: str, hint: str | None = None) -> ScoringError:
        return ScoringError(f"{self.about}{problem}", self.file, self.line, hint=hint)


def read(handle: BinaryIO, info: zipfile.ZipInfo, place: Place) -> bytes:
    """A member's bytes, unpacked within its declared size (which the caller has checked against its budget)."""
    return b"".join(stream(handle, info, place))


def stream(handle: BinaryIO, info: zipfile.ZipInfo, place: Place) -> Iterator[bytes]:
    """A member unpacked a step at a time, refused as soon as it passes its declared size; its CRC and its
    length checked at the end."""
    _check_entry(info, place)
    size, crc = 0, 0
    try:
        for piece in _unpacked(handle, info, _decompressor(info)):
            size += len(piece)
            if size > info.file_size:
                raise place.refuse(f"解压后超过了它登记的大小（{info.file_size} 字节），已停止解压",
                                   "压缩包可能被篡改或已损坏，请重新打包")
            crc = zlib.crc32(piece, crc)
            yield piece
    except (zipfile.BadZipFile, zlib.error, lzma.LZMAError, OSError, EOFError, ValueError) as exc:
        raise _damaged(place) from exc
    if size != info.file_size or crc != info.CRC:
        raise _damaged(place)


def _damaged(place: Place) -> ScoringError:
    return place.refuse("已损坏，无法解压", "可能是下载或复制中断，请重新打包或重新复制")


def _check_entry(info: zipfile.ZipInfo, place: Place) -> None:
    if info.flag_bits & 0x41:  # traditional or strong encryption
        raise place.refuse("已加密", "请不设密码重新打包")
    method = info.compress_type
    if method not in METHODS or info.flag_bits & 0x20:  # 0x20: "compressed patched data"
        what = "压缩补丁" if method in METHODS else OTHER_METHODS.get(method, "未知")
        raise place.refuse(f"使用了不支持的压缩方式 {what}（编号 {method}）",
                           "只支持不压缩、Deflate、BZIP2 和 LZMA，请用普通 zip（Deflate）重新打包")


class _Decompressor(Protocol):
    @property
    def eof(self) -> bool: ...

    @property
    def needs_input(self) -> bool: ...

    def decompress(self, data: bytes, max_length: int = ..., /) -> bytes: ...


def _unpacked(handle: BinaryIO, info: zipfile.ZipInfo, unpack: _Decompressor | None) -> Iterator[bytes]:
    """The member's data as it unpacks, at most STEP bytes at a time: whatever the method, nothing unpacks
    more than a step ahead of the caller, who stops at the declared size."""
    for chunk in _packed(handle, info):
        if unpack is None:
            yield chunk
            continue
        yield unpack.decompress(chunk, STEP)
        while not unpack.eof and not unpack.needs_input:
            yield unpack.decompress(b"", STEP)
        if unpack.eof:
            return
    while unpack is not None and not unpack.eof and (piece := unpack.decompress(b"", STEP)):
        yield piece


def _packed(handle: BinaryIO, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """The member's stored bytes, after its local header, as the directory sizes them."""
    handle.seek(info.header_offset)
    head = handle.read(_LOCAL.size)
    if len(head) < _LOCAL.size or head[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile("no local header")  # reported as damaged
    _, named, extra = _LOCAL.unpack(head)
    handle.seek(info.header_offset + _LOCAL.size + named + extra)
    left = info.compress_size
    while left > 0:
        chunk = handle.read(min(STEP, left))
        if not chunk:
            raise EOFError("the member's data runs past the end of the zip")
        left -= len(chunk)
        yield chunk


def _decompressor(info: zipfile.ZipInfo) -> _Decompressor | None:
    if info.compress_type == zipfile.ZIP_DEFLATED:
        return _Inflate()
    if info.compress_type == zipfile.ZIP_BZIP2:
        return bz2.BZ2Decompressor()
    if info.compress_type == zipfile.ZIP_LZMA:
        return _Lzma(info.file_size)
    return None


class _Inflate:
    """zlib's raw deflate with the interface of bz2's and lzma's decompressors."""

    def __init__(self) -> None:
        self.z = zlib.decompressobj(-zlib.MAX_WBITS)

    @property
    def eof(self) -> bool:
        return self.z.eof

    @property
    def needs_input(self) -> bool:
        return not self.z.unconsumed_tail

    def decompress(self, data: bytes, max_length: int = -1, /) -> bytes:
        return self.z.decompress(self.z.unconsumed_tail + data, max(max_length, 0))


class _Lzma:
    """A zip's LZMA member: a 4-byte header (version, length of the properties), 5 bytes of properties, then
    a raw LZMA1 stream. The dictionary is sized to the declared size at most: a stream that stays within it
    never reaches further back, and a hostile header cannot make us reserve gigabytes."""

    def __init__(self, declared: int) -> None:
        self.declared, self.head = declared, b""
        self.d: Any = None

    @property
    def eof(self) -> bool:
        return bool(self.d is not None and self.d.eof)

    @property
    def needs_input(self) -> bool:
        return bool(self.d is None or self.d.needs_input)

    def decompress(self, data: bytes, max_length: int = -1, /) -> bytes:
        if self.d is None:
            self.head += data
            if len(self.head) < 4 or len(self.head) < 4 + int.from_bytes(self.head[2:4], "little"):
                return b""
            data, self.d = self.head[9:], lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[self._filter()])
        return bytes(self.d.decompress(data, max_length))

    def _filter(self) -> dict[str, int]:
        if int.from_bytes(self.head[2:4], "little") != 5 or self.head[4] >= 9 * 5 * 5:
            raise lzma.LZMAError("not LZMA properties")
        packed, dictionary = self.head[4], int.from_bytes(self.head[5:9], "little")
        return {"id": lzma.FILTER_LZMA1, "dict_size": max(4096, min(dictionary, self.declared)),
                "lc": packed % 9, "lp": packed // 9 % 5, "pb": packed // 45}
