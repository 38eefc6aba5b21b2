"""`scoring docs`: the files under a bundle's documents/ folder registered in its manifest.

Files not yet listed are added with their SHA-256 and a title from the file name, for the county to
complete; a listed file whose bytes changed is reported, and its hash updated only when asked; a listed
file that is missing is reported. Nothing else in the manifest changes: bundle.yaml is edited as text,
so its comments and order stay byte for byte outside the documents list; a workbook gets rows on its
佐证文件 sheet.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any

from scoring.base import limits
from scoring.base.errors import ScoringError
from scoring.base.files import write_atomic
from scoring.loading import readers, validate, workbook
from scoring.loading.bundle import open_file
from scoring.loading.yamlio import YamlDoc, load_yaml

FOLDER = "documents"
MANIFEST = "bundle.yaml"
STEP = 1024 * 1024  # bytes hashed at a time
SHA = re.compile(r"(sha256:\s*)[\"']?[0-9A-Fa-f]*[\"']?")


@dataclass
class Registration:
    manifest: Path
    added: list[tuple[str, str]] = field(default_factory=list)  # (id, file)
    changed: list[tuple[str, str]] = field(default_factory=list)  # (id, file), hash differs from the file's
    missing: list[tuple[str, str]] = field(default_factory=list)  # (id, file)
    rehashed: bool = False


def register(bundle: Path, rehash: bool = False) -> Registration:
    if not bundle.is_dir():
        raise ScoringError("只能为材料包文件夹登记文件", str(bundle), hint="请先解压，对文件夹运行 scoring docs")
    yaml_file, book = bundle / MANIFEST, bundle / workbook.FILE
    if yaml_file.exists() == book.exists():
        raise ScoringError(f"材料包中应有且只有一份清单（{MANIFEST} 或 {workbook.FILE}）", str(bundle),
                           hint="请先用 scoring init 生成")
    manifest = yaml_file if yaml_file.exists() else book
    limit = limits.MANIFEST_BYTES if manifest == yaml_file else limits.WORKBOOK_BYTES
    raw = readers.read_regular(manifest, limit, "清单文件")
    doc = load_yaml(raw, str(manifest)) if manifest == yaml_file else workbook.read(raw, str(manifest), need_hash=False)
    if isinstance(doc, YamlDoc):
        validate.check(doc, "bundle", "材料包")
    listed = doc.data.get("documents") or []
    found = _files(bundle)
    out = Registration(manifest, rehashed=rehash)
    known = {PurePosixPath(d["file"]).as_posix(): i for i, d in enumerate(listed)}
    updates: dict[int, str] = {}
    for i, d in enumerate(listed):
        actual = found.get(PurePosixPath(d["file"]).as_posix())
        if actual is None:
            out.missing.append((d["id"], d["file"]))
        elif not d.get("sha256"):
            updates[i] = actual  # a row the county typed without its hash
        elif actual != d["sha256"].lower():
            out.changed.append((d["id"], d["file"]))
            if rehash:
                updates[i] = actual
    new = [(ident, file, found[file]) for ident, file in zip(_ids(listed), sorted(set(found) - set(known)),
                                                             strict=False)]
    out.added = [(ident, file) for ident, file, _ in new]
    if new or updates:
        edited = (_edit_yaml(raw.decode("utf-8-sig"), doc, new, updates) if isinstance(doc, YamlDoc)
                  else workbook.register(raw, doc, new, updates))
        write_atomic(manifest, edited)
    return out


def _files(bundle: Path) -> dict[str, str]:
    """Every regular file under documents/ (hidden files and office lock files aside) -> its SHA-256."""
    found: dict[str, str] = {}
    real = os.path.realpath(bundle)
    for root, dirs, names in os.walk(bundle / FOLDER):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            path = Path(root) / name
            if name.startswith((".", "~$")) or path.is_symlink() or not path.is_file():
                continue
            rel = path.relative_to(bundle).as_posix()
            digest = _sha256(real, rel, str(bundle))
            if digest is not None:
                found[rel] = digest
    return found


def _sha256(root: str, rel: str, name: str) -> str | None:
    """A listed file's hash, read through the bundle's own opener: one swapped for a link since it was
    listed is not followed out of the bundle. None for one gone since."""
    opened = open_file(root, rel, name, None)
    if opened is None:
        return None
    digest = hashlib.sha256()
    with opened as handle:
        for chunk in iter(partial(handle.read, STEP), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _ids(listed: list[dict[str, Any]]) -> Any:
    """Fresh ids after the highest D-number in use: D01, D02, …"""
    used = {d.get("id") for d in listed}
    numbers = [int(m.group(1)) for d in listed if (m := re.fullmatch(r"D(\d+)", str(d.get("id", ""))))]
    n = max(numbers, default=0)
    while True:
        n += 1
        if f"D{n:02d}" not in used:
            yield f"D{n:02d}"


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _edit_yaml(text: str, doc: YamlDoc, new: list[tuple[str, str, str]], updates: dict[int, str]) -> bytes:
    """The manifest with new entries after the last document and updated hashes, every other byte kept."""
    lines = text.splitlines(keepends=True)
    for i, digest in updates.items():
        k = doc.lines[("documents", i, "sha256")] - 1
        lines[k] = SHA.sub(rf'\g<1>"{digest}"', lines[k], count=1)
    if new:
        lines = _append(lines, doc, new)
    edited = "".join(lines)
    after = load_yaml(edited, doc.name)
    same = {k: v for k, v in after.data.items() if k != "documents"} == \
        {k: v for k, v in doc.data.items() if k != "documents"}
    if not same or len(after.data.get("documents") or []) != len(doc.data.get("documents") or []) + len(new):
        raise ScoringError("无法在保持原格式的前提下登记文件", doc.name,
                           hint="documents 请写成逐项列出的列表（- id: …），不要写在一行方括号中")
    return edited.encode()


def _append(lines: list[str], doc: YamlDoc, new: list[tuple[str, str, str]]) -> list[str]:
    listed = doc.data.get("documents") or []
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    if listed:
        first = lines[doc.lines[("documents", 0)] - 1]
        indent = first[: len(first) - len(first.lstrip(" "))]
        at = _end_of_list(lines, doc.lines[("documents", len(listed) - 1)] - 1)
    elif ("documents",) in doc.lines:
        k = doc.lines[("documents",)] - 1
        lines[k] = re.sub(r"documents:\s*\[\s*\]", "documents:", lines[k], count=1)
        indent, at = "  ", k + 1
    else:
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += newline
        lines.append(f"documents:{newline}")
        indent, at = "  ", len(lines)
    entries = [f"{indent}- id: {ident}{newline}"
               f"{indent}  file: {_q(file)}{newline}"
               f"{indent}  title: {_q(PurePosixPath(file).stem)}  # 请核对标题，补充 number（文号）、issuer（发文单位）、date（日期）{newline}"
               f"{indent}  sha256: \"{digest}\"{newline}" for ident, file, digest in new]
    return [*lines[:at], *entries, *lines[at:]]


def _end_of_list(lines: list[str], k: int) -> int:
    """The index after the last line of the list item starting at line k: before the next top-level key,
    and before the blank lines and comments that precede it."""
    end = k + 1
    while end < len(lines) and (not lines[end].strip() or lines[end][0] in " \t-#"):
        end += 1
    while end > k + 1 and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")):
        end -= 1
    return end
