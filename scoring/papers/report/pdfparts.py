"""One PDF/A-3b document cut into several, each PDF/A-3b again: its pages, the whole's XMP metadata,
output intent and document information, and its own JSON attached as the data it was made from
(AFRelationship /Data). Writing the whole once subsets the fonts once; writing each part through
WeasyPrint subsets them again for every part, which made a thousand center sheets four times slower."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol


class Archive(Protocol):
    """What a part carries: a file's name, bytes and date (render.Archive is one)."""

    @property
    def name(self) -> str: ...
    @property
    def data(self) -> bytes: ...
    @property
    def date(self) -> str: ...


def split(pdf: bytes, bounds: Sequence[int], archives: Sequence[Archive | None]) -> list[bytes]:
    """Part k holds pages bounds[k] to bounds[k + 1] - 1 of `pdf` and carries archives[k] when given."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    spans = zip(bounds, bounds[1:], strict=False)
    return [_part(reader, range(a, b), archive) for (a, b), archive in zip(spans, archives, strict=True)]


def _part(reader: Any, pages: range, archive: Archive | None) -> bytes:
    from pypdf import PdfWriter
    from pypdf.generic import ArrayObject, ByteStringObject, NameObject

    writer = PdfWriter()
    for k in pages:
        writer.add_page(reader.pages[k])
    root, whole = writer._root_object, reader.trailer["/Root"]
    for key in ("/Metadata", "/OutputIntents", "/Lang", "/MarkInfo"):
        if key in whole:
            root[NameObject(key)] = whole[key].clone(writer)
    writer.add_metadata({k: v for k, v in reader.metadata.items()} if reader.metadata else {})
    if archive is not None:
        _attach(writer, archive)
    out = io.BytesIO()
    # A file identifier (PDF/A asks for one) from what the part holds, so the same inputs give the same bytes.
    seed = hashlib.md5(b"".join(reader.pages[k].get_contents().get_data() for k in pages)
                       + (archive.data if archive else b""), usedforsecurity=False).digest()
    writer._ID = ArrayObject([ByteStringObject(seed), ByteStringObject(seed)])
    writer.write(out)
    return out.getvalue()


def _attach(writer: Any, archive: Archive) -> None:
    """The archive as an associated file of the document (/AF), also listed among its embedded files."""
    from pypdf.generic import (
        ArrayObject,
        DecodedStreamObject,
        DictionaryObject,
        NameObject,
        NumberObject,
        TextStringObject,
    )

    when = datetime.fromisoformat(archive.date).strftime("D:%Y%m%d%H%M%SZ")
    stream = DecodedStreamObject()
    stream.set_data(archive.data)
    stream.update({NameObject("/Type"): NameObject("/EmbeddedFile"),
                   NameObject("/Subtype"): NameObject("/application/json"),
                   NameObject("/Params"): DictionaryObject({NameObject("/ModDate"): TextStringObject(when),
                                                            NameObject("/CreationDate"): TextStringObject(when),
                                                            NameObject("/Size"): NumberObject(len(archive.data))})})
    spec = writer._add_object(DictionaryObject({
        NameObject("/Type"): NameObject("/Filespec"), NameObject("/F"): TextStringObject(archive.name),
        NameObject("/UF"): TextStringObject(archive.name), NameObject("/Desc"): TextStringObject("评分结果（JSON）"),
        NameObject("/AFRelationship"): NameObject("/Data"),
        NameObject("/EF"): DictionaryObject({NameObject("/F"): writer._add_object(stream)})}))
    root = writer._root_object
    root[NameObject("/AF")] = ArrayObject([spec])
    root[NameObject("/Names")] = DictionaryObject({NameObject("/EmbeddedFiles"): DictionaryObject(
        {NameObject("/Names"): ArrayObject([TextStringObject(archive.name), spec])})})
