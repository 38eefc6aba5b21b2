"""`scoring verify`: is a PDF we wrote still what its inputs produce?

Every PDF carries the JSON its figures come from and prints that JSON's SHA-256 (and the bundle's). The
attachment is checked against the printed digest; given the bundle (and its review files), the PDF is made
again and compared byte for byte (outputs are deterministic), and the first difference is named.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from scoring.base.errors import ScoringError
from scoring.domain.results import Result

_PRINTED = re.compile(r"结果JSONSHA-256：([0-9a-f]{64})")
_KINDS = {"result.json": "自评报告", "changes.json": "评审意见表", "summary.json": "汇总表", "rating.json": "评定结果",
          "center.json": "评定结果单"}
_AROUND = 12  # characters shown either side of a difference
T = TypeVar("T")


@dataclass(frozen=True)
class Sealed:
    """What a PDF says of itself: the JSON it carries, the digest it prints, its pages' text (each page's
    read when first asked for: the digest is on the cover, and pages are compared only when bytes differ)."""

    name: str  # result.json, changes.json, …
    data: bytes
    pdf: Any = field(repr=False, compare=False)  # the PDF as pypdf reads it
    where: str = ""
    texts: dict[int, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def kind(self) -> str:
        return _KINDS.get(self.name, self.name)

    @property
    def bundle(self) -> str:
        """The SHA-256 of the bundle the JSON was made from ("" for a summary of many)."""
        found = json.loads(self.data).get("bundle", {})
        return str(found.get("sha256", "")) if isinstance(found, dict) else ""

    @property
    def count(self) -> int:
        return len(self.pdf.pages)

    def page(self, k: int) -> str:
        """Page k's text (from 0), whitespace removed."""
        if k not in self.texts:
            self.texts[k] = _readable(self.where, lambda: re.sub(r"\s+", "", self.pdf.pages[k].extract_text()))
        return self.texts[k]

    @property
    def printed(self) -> str:
        """The digest printed on the first page that prints one ("" for none)."""
        return next((m[1] for k in range(self.count) for m in [_PRINTED.search(self.page(k))] if m), "")


def read(path: Path | io.BytesIO) -> Sealed:
    """The PDF's attachment and printed digest, or a Chinese refusal."""
    from pypdf import PdfReader

    reader = _readable(str(path), lambda: PdfReader(path))
    files = _readable(str(path), lambda: {name: data for name, found in reader.attachments.items()
                                          for data in found[:1]})
    named = [name for name in files if name in _KINDS]
    if not named:
        raise ScoringError("PDF 中没有附带评分结果 JSON", str(path),
                           hint="本程序生成的自评报告、意见表、汇总表、评定结果和各中心的评定结果单附带结果 JSON")
    sealed = Sealed(named[0], files[named[0]], reader, str(path))
    if not sealed.printed:
        raise ScoringError("PDF 页面上没有印结果 JSON 的 SHA-256", str(path))
    return sealed


def _readable(where: str, step: Callable[[], T]) -> T:
    from pypdf.errors import PdfReadError

    try:
        return step()
    except (OSError, PdfReadError, ValueError) as exc:
        raise ScoringError(f"无法读取 PDF：{exc}", where) from exc


def check(sealed: Sealed, path: Path) -> str:
    """The attachment against the digest printed on the page."""
    actual = hashlib.sha256(sealed.data).hexdigest()
    if actual != sealed.printed:
        raise ScoringError(f"附带的 {sealed.name} 与页面上印的摘要不符：页面上印的 SHA-256 为 {sealed.printed[:16]}…，"
                           f"附件的为 {actual[:16]}…，附件被替换或改动过", str(path))
    return f"{path}：{sealed.kind}附带的 {sealed.name} 与页面上印的 SHA-256 一致（{actual[:16]}…）。"


def reproduce(sealed: Sealed, result: Result, templates: Path | None) -> bytes:
    """The PDF the same inputs give now."""
    from scoring.papers.changes import changes
    from scoring.papers.outputs import Options, render
    from scoring.papers.report import self_evaluation

    if sealed.bundle and sealed.bundle != result.bundle.sha256:
        raise ScoringError(f"材料包与生成本 PDF 时的不同：PDF 依据的材料包 SHA-256 为 {sealed.bundle[:16]}…，"
                           f"给出的材料包为 {result.bundle.sha256[:16]}…")
    if sealed.name == "result.json":
        return self_evaluation(result, templates).pdf
    if sealed.name == "changes.json":
        return render("changes", "pdf", changes(result), Options(templates))
    raise ScoringError(f"{sealed.kind}不按一个材料包重新生成", hint="只给出 PDF，核验附件与页面上印的摘要")


def compare(sealed: Sealed, given: bytes, made: bytes) -> None:
    """Nothing when the bytes are the same; else the first difference, in Chinese."""
    if given == made:
        return
    again = read_bytes(made)
    for k in range(min(sealed.count, again.count)):
        old, new = sealed.page(k), again.page(k)
        if old != new:
            at = next((i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b), min(len(old), len(new)))
            raise ScoringError(f"PDF 与按材料包重新生成的不同：第 {k + 1} 页第一处不同，PDF 中为 “{_near(old, at)}”，"
                               f"重新生成的为 “{_near(new, at)}”")
    if again.count != sealed.count:
        raise ScoringError(f"PDF 与按材料包重新生成的不同：PDF 有 {sealed.count} 页，重新生成的有 {again.count} 页")
    if again.data != sealed.data:
        raise ScoringError("PDF 与按材料包重新生成的不同：页面文字相同，附带的结果 JSON 不同")
    at = next(i for i, (a, b) in enumerate(zip(given, made, strict=False)) if a != b) if len(given) == len(made) \
        else min(len(given), len(made))
    raise ScoringError(f"PDF 与按材料包重新生成的不同：页面文字和附件相同，文件自第 {at} 字节起不同（版式、字体或元数据有改动）")


def read_bytes(data: bytes) -> Sealed:
    return read(io.BytesIO(data))


def _near(text: str, at: int) -> str:
    return text[max(0, at - _AROUND):at + _AROUND]
