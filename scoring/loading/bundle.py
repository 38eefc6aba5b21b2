"""Evidence bundles: a folder or a .zip holding bundle.yaml and the documents it cites.

A bundle is untrusted. Every path is checked to stay inside it (symlinks and zip entries included),
sizes are bounded, and nothing is ever written into it.
"""

from __future__ import annotations

import errno
import hashlib
import os
import posixpath
import stat
import threading
import zipfile
from collections import Counter
from collections.abc import Mapping
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

from scoring.base import limits
from scoring.base.errors import OPENING, ScoringError
from scoring.domain.model import MANIFEST, WORKBOOK, Answer, Bundle, Document, Line, SignOff
from scoring.loading import budgets, readers, unzip, validate
from scoring.loading.yamlio import load_yaml

OS_ERRORS = {errno.EACCES: "没有读取权限", errno.EISDIR: "是目录而不是文件", errno.ENOENT: "不存在",
             errno.ELOOP: "符号链接层数过多",
             errno.ENOTDIR: "所在的路径中有一段不是文件夹"}


def _os_error(rel: str, exc: OSError, name: str, line: Line | None) -> ScoringError:
    reason = OS_ERRORS.get(exc.errno or 0, f"读取失败（错误码 {exc.errno}）")
    return ScoringError(f"文件 “{rel}” {reason}", name, line, hint="请检查文件是否完整、可读")


def _safe_relpath(rel: str, name: str, line: Line | None) -> str:
    """A normalised path inside the bundle, or an error for one that would leave it."""
    if "\\" in rel or "\0" in rel:
        rel = rel.replace("\\", "/").replace("\0", "")
    if rel.startswith("/") or (len(rel) > 1 and rel[1] == ":"):
        raise ScoringError(f"路径 “{rel}” 是绝对路径", name, line, hint="材料路径必须是材料包内的相对路径")
    norm = posixpath.normpath(rel)
    if norm == ".." or norm.startswith("../") or ".." in rel.split("/"):
        raise ScoringError(f"路径 “{rel}” 指向材料包之外", name, line, hint="材料路径不能包含 “..”")
    return norm


Signed = dict[str, tuple[int, int, int, int]]  # a bundle's file -> inode, size, mtime, ctime (ns) before reading


class _Folder:
    def __init__(self, root: Path, signed: Signed | None = None) -> None:
        self.root = os.path.realpath(root)
        self.label = str(root)
        self.signed = signed

    def read(self, rel: str, name: str, line: Line | None, limit: int) -> bytes | None:
        rel = _safe_relpath(rel, name, line)
        opened = open_file(self.root, rel, name, line)
        if opened is None:
            if self.signed is not None:
                self.signed.setdefault(rel, (0, 0, 0, 0))
            return None
        with opened as handle:
            info = os.fstat(handle.fileno())
            if self.signed is not None:
                self.signed.setdefault(rel, (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns))
            size = info.st_size
            if size > limit:
                raise ScoringError(f"文件 “{rel}” 过大（{size} 字节，上限 {limit} 字节）", name, line)
            try:
                return readers.read_capped(handle, size, limit)
            except OSError as exc:
                raise _os_error(rel, exc, name, line) from exc


def open_file(root: str, rel: str, name: str, line: Line | None) -> BinaryIO | None:
    """A regular file of a folder bundle (`root`, a real path), opened without following a link out of it
    and checked as opened, not by its path: what the path named a moment before does not matter. None for
    a file that is not there. Every reader of a folder bundle's files opens them here."""
    try:
        fd = readers.open_inside(root, rel)
    except FileNotFoundError:
        return None
    except readers.LinkOut as exc:
        raise ScoringError(f"路径 “{rel}” 经符号链接指向材料包之外", name, line,
                           hint="请把文件本身复制进材料包，而不是放链接") from exc
    except OSError as exc:
        raise _os_error(rel, exc, name, line) from exc
    handle = os.fdopen(fd, "rb", buffering=0)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        handle.close()
        raise ScoringError(f"“{rel}” 不是普通文件", name, line)
    return handle


class _Zip:
    def __init__(self, path: Path) -> None:
        self.label = str(path)
        try:
            self.handle = path.open("rb")
        except OSError as exc:
            raise ScoringError(unzip.BUNDLE.broken, self.label, hint=unzip.BUNDLE.hint) from exc
        try:
            if os.fstat(self.handle.fileno()).st_size > limits.ZIP_BYTES:
                raise ScoringError(f"压缩包过大（上限 {limits.ZIP_BYTES} 字节）", self.label)
            self.zip = unzip.open_zip(self.handle, self.label, unzip.BUNDLE, limits.ZIP_ENTRIES)
            self.entries = self._entries(self.zip.infolist())
            self.prefix = self._root()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if hasattr(self, "zip"):
            self.zip.close()
        self.handle.close()

    def _entries(self, infos: list[zipfile.ZipInfo]) -> dict[str, zipfile.ZipInfo]:
        entries: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            rel = _safe_relpath(unzip.entry_name(info), self.label, None)
            if stat.S_ISLNK(info.external_attr >> 16):
                raise ScoringError(f"压缩包内 “{info.filename}” 是符号链接", self.label,
                                   hint="请把文件本身打包，而不是链接")
            # macOS archivers add resource forks under __MACOSX/; they are not part of the bundle.
            if info.is_dir() or rel.startswith("__MACOSX/"):
                continue
            if rel in entries:
                raise ScoringError(f"压缩包内 “{rel}” 出现了两次", self.label, hint="请重新打包材料文件夹")
            entries[rel] = info
        return entries

    def _root(self) -> str:
        if MANIFEST in self.entries or WORKBOOK in self.entries:
            return ""
        tops = {name.split("/", 1)[0] for name in self.entries}
        top = next(iter(tops)) if len(tops) == 1 else ""
        if top and (f"{top}/{MANIFEST}" in self.entries or f"{top}/{WORKBOOK}" in self.entries):
            return top + "/"
        raise ScoringError(f"压缩包中找不到 {MANIFEST} 或 {WORKBOOK}", self.label,
                           hint="清单应在压缩包根目录或唯一的顶层文件夹中")

    def read(self, rel: str, name: str, line: Line | None, limit: int) -> bytes | None:
        """An entry, unpacked a step at a time and stopped at its declared size, which is within `limit`."""
        info = self.entries.get(self.prefix + _safe_relpath(rel, name, line))
        if info is None:
            return None
        if info.file_size > limit:
            raise ScoringError(f"文件 “{rel}” 过大（{info.file_size} 字节，上限 {limit} 字节）", name, line)
        return unzip.read(self.handle, info, unzip.Place(f"压缩包 {self.label} 内的 “{rel}” ", name, line))


class _Files:
    """A bundle's files for whoever renders it, through the loader's own checks. The folder or zip
    is opened on the first read and stays open until close(). Threads may share it (the review desk
    keeps a bundle between requests): a read and a close are each one step."""

    def __init__(self, path: Path, name: str) -> None:
        self.path, self.name = path, name
        self.source: _Folder | _Zip | None = None
        self.lock = threading.Lock()

    def read(self, rel: str) -> bytes | None:
        with self.lock:
            if self.source is None:
                self.source = _Folder(self.path) if self.path.is_dir() else _Zip(self.path)
            return self.source.read(rel, self.name, None, limits.FILE_BYTES)

    def close(self) -> None:
        with self.lock:
            if isinstance(self.source, _Zip):
                self.source.close()
            self.source = None


def open_bundle(path: Path, signed: Signed | None = None) -> Bundle:
    """Read and check a bundle; raise ScoringError naming the file and line for anything wrong. Given
    `signed`, a folder's reader fills it with every file it looked for (found or not) and its stat taken
    once opened, before reading it: all a caller that keeps the bundle (the desk) must watch to know when to
    read it again, however many other files lie in the folder."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError as exc:
        raise ScoringError("材料包不存在", str(path), hint="请检查路径，或先用 scoring init 生成空白材料包") from exc
    except OSError as exc:  # too long a name, a loop of links, no permission: said as what it is
        raise ScoringError(f"材料包无法打开：{OPENING.get(exc.errno or 0, f'错误码 {exc.errno}')}", str(path),
                           hint="请检查路径") from exc
    if stat.S_ISDIR(mode):
        source: _Folder | _Zip = _Folder(path, signed)
    elif stat.S_ISREG(mode) and path.suffix.lower() == ".zip":
        source = _Zip(path)
    else:
        raise ScoringError("材料包应为文件夹或 .zip 压缩包", str(path))
    try:
        return _load(path, source)
    finally:
        if isinstance(source, _Zip):
            source.close()


def _name(source: _Folder | _Zip, file: str) -> str:
    return f"{source.label}/{file}" if isinstance(source, _Folder) else f"{source.label}:{file}"


def _manifest(source: _Folder | _Zip) -> tuple[bytes, validate.Manifest]:
    """The bundle's manifest, bundle.yaml or the fill-in workbook, as data with a place for each part."""
    raw = source.read(MANIFEST, _name(source, MANIFEST), None, limits.MANIFEST_BYTES)
    sheet = source.read(WORKBOOK, _name(source, WORKBOOK), None, limits.WORKBOOK_BYTES)
    if raw is not None and sheet is not None:
        raise ScoringError(f"材料包中同时有 {MANIFEST} 和 {WORKBOOK}", source.label,
                           hint="一个材料包只能有一份清单，请删去不用的那一份")
    if raw is not None:
        lines = raw.count(b"\n") + 1
        if lines > limits.MANIFEST_LINES:
            raise ScoringError(f"清单行数过多（{lines} 行，上限 {limits.MANIFEST_LINES} 行）", _name(source, MANIFEST),
                               hint="清单只记录数据，大段文字请写在文本文件中")
        return raw, load_yaml(raw, _name(source, MANIFEST))
    if sheet is not None:
        from scoring.loading import workbook  # openpyxl, only for a bundle that has the workbook

        return sheet, workbook.read(sheet, _name(source, WORKBOOK))
    raise ScoringError(f"材料包中没有 {MANIFEST} 或 {WORKBOOK}", source.label,
                       hint="请先用 scoring init 生成（加 --xlsx 生成填报表）")


def _load(path: Path, source: _Folder | _Zip) -> Bundle:
    raw, doc = _manifest(source)
    name = doc.name
    validate.check(doc, "bundle", "材料包")
    data = validate.clean(doc.data, doc)
    _check_dates(doc)
    digest = hashlib.sha256(raw)
    documents: dict[str, Document] = {}
    files = _Reader(source, name)
    listed = data.get("documents", [])
    if len(listed) > limits.DOCUMENTS:
        raise ScoringError(f"登记的佐证文件过多（{len(listed)} 份，上限 {limits.DOCUMENTS} 份）", name,
                           doc.line(("documents",)))
    for i, d in enumerate(listed):
        line = doc.line(("documents", i))
        if d["id"] in documents:
            raise ScoringError(f"文件编号 “{d['id']}” 重复", name, line, hint="每份文件的 id 应唯一")
        actual = files.sha256(d["file"], line)
        digest.update(f"\n{d['file']}\n{actual}".encode())
        status = "file_missing" if actual is None else (
            "ok" if actual == d["sha256"].lower() else "hash_mismatch")
        documents[d["id"]] = Document(d["id"], d["file"], d["title"], d.get("number", ""),
                                      d.get("issuer", ""), d.get("date", ""), d["sha256"].lower(), status)
    answers = {ind: {inp: _answer(v, doc.line(("inputs", ind, inp))) for inp, v in given.items()}
               for ind, given in (data.get("inputs") or {}).items()}
    facts = {fact: _answer(v, doc.line(("facts", fact))) for fact, v in (data.get("facts") or {}).items()}
    cited = [(f"指标 {ind} 输入 {inp}", ans) for ind, given in answers.items() for inp, ans in given.items()]
    _check_citations([*cited, *((f"共用事实 {fact}", ans) for fact, ans in facts.items())], documents, name)
    narrative = _texts(data, "narrative", files, doc, digest)
    statements = _texts(data, "statements", files, doc, digest)
    budgets.check_texts([*budgets.parts(narrative, "narrative"), *budgets.parts(statements, "statements"),
                         *budgets.answer_texts(answers, facts, name)], name)
    signoff = {k: str(v).strip() for k, v in (data.get("signoff") or {}).items()}
    return Bundle(name=name, rubric=data["rubric"], assessee=data["assessee"], period=data["period"],
                  documents=documents, answers=answers, narrative=narrative, statements=statements,
                  signoff=SignOff(**signoff), sha256=digest.hexdigest(), lines=doc.lines,
                  files=_Files(path, name), facts=facts)


def _answer(raw: Any, line: Line | None) -> Answer:
    if isinstance(raw, dict):
        return Answer(raw.get("value"), tuple(raw.get("documents", ())), raw.get("reason", "").strip(),
                      raw.get("note", ""), line)
    return Answer(raw, (), "", "", line)


class _Reader:
    """A bundle's files as the loader reads them: each path once, however often it is listed or cited,
    and all of them together (documents and text files) within TOTAL_BYTES."""

    def __init__(self, source: _Folder | _Zip, name: str) -> None:
        self.source, self.name, self.total = source, name, 0
        self.hashes: dict[str, str | None] = {}
        self.texts: dict[str, bytes | None] = {}

    def _read(self, rel: str, line: Line | None) -> bytes | None:
        content = self.source.read(rel, self.name, line, limits.FILE_BYTES)
        self.total += len(content or b"")
        if self.total > limits.TOTAL_BYTES:
            raise ScoringError(f"佐证文件和文本文件合计过大（上限 {limits.TOTAL_BYTES} 字节）", self.name, line,
                               hint="请只放入清单引用的文件，大文件可压缩后再放入")
        return content

    def sha256(self, rel: str, line: Line | None) -> str | None:
        key = _safe_relpath(rel, self.name, line)
        if key not in self.hashes:
            content = self.texts[key] if key in self.texts else self._read(rel, line)
            self.hashes[key] = hashlib.sha256(content).hexdigest() if content is not None else None
        return self.hashes[key]

    def text(self, rel: str, line: Line | None) -> bytes | None:
        key = _safe_relpath(rel, self.name, line)
        if key not in self.texts:
            self.texts[key] = self._read(rel, line)  # a document read again as text is counted again
        return self.texts[key]


def _check_citations(cited: list[tuple[str, Answer]], documents: Mapping[str, Document], name: str) -> None:
    """Every cited document is listed, and each citation (a flag and a report line) is within budget."""
    counts: Counter[str] = Counter()
    total = 0
    for where, ans in cited:
        for ref in ans.documents:
            if ref not in documents:
                raise ScoringError(f"引用了清单中没有的文件编号 “{ref}”", name, ans.line, where,
                                   hint="请在 documents 中登记该文件")
            counts[ref] += 1
            total += 1
            if counts[ref] > limits.CITATIONS_PER_DOCUMENT:
                raise ScoringError(f"文件编号 “{ref}” 被引用过多（上限 {limits.CITATIONS_PER_DOCUMENT} 次）",
                                   name, ans.line, where)
            if total > limits.CITATIONS:
                raise ScoringError(f"引用佐证文件的次数过多（上限 {limits.CITATIONS} 次）", name, ans.line, where)


def _texts(data: Mapping[str, Any], part: str, files: _Reader, doc: validate.Manifest,
           digest: Any) -> dict[str, str]:
    """Narrative texts and statements, those given as files read (as UTF-8 text) and folded into the
    bundle's hash; blank ones left out."""
    out: dict[str, str] = {}
    for key, value in (data.get(part) or {}).items():
        line = doc.line((part, key))
        if not isinstance(value, dict):
            if value and value.strip():
                out[key] = budgets.within(value, part, key, doc.name, line)
            continue
        content = files.text(value["file"], line)
        if content is None:
            raise ScoringError(f"找不到文本文件 “{value['file']}”", doc.name, line)
        given = readers.decode_utf8(content, _name(files.source, value["file"]))
        budgets.within(given, part, key, doc.name, line)  # as written, before any work per character
        cleaned = validate.clean_text(given, _name(files.source, value["file"]), partial(_line_of, given), None)
        out[key] = budgets.within(cleaned, part, key, doc.name, line)
        digest.update(f"\n{value['file']}\n".encode() + hashlib.sha256(content).digest())
    return out


def _line_of(given: str, at: int) -> int:
    return given.count("\n", 0, at) + 1


def _check_dates(doc: validate.Manifest) -> None:
    data = doc.data
    places: list[tuple[tuple[str | int, ...], Any]]
    places = [(("period", k), data["period"].get(k)) for k in ("start", "end")]
    places += [(("documents", i, "date"), d.get("date")) for i, d in enumerate(data.get("documents", []))]
    places += [(("signoff", "date"), (data.get("signoff") or {}).get("date"))]
    for path, value in places:
        if value is None:
            continue
        try:
            date.fromisoformat(value)
        except ValueError as exc:
            raise ScoringError(f"日期 “{value}” 不存在", doc.name, doc.line(path),
                               hint="日期格式为 YYYY-MM-DD，如 2022-08-26") from exc
    if data["period"]["start"] > data["period"]["end"]:
        raise ScoringError("评估期的开始日期晚于结束日期", doc.name, doc.line(("period",)))
