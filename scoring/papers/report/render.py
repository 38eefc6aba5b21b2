"""Templates to HTML (Jinja2), HTML to PDF (WeasyPrint). Knows nothing of scoring: it renders a context.

WeasyPrint is imported inside the functions that use it, so importing the package (or `scoring --help`)
stays fast.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import logging
import mimetypes
import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import jinja2
import markupsafe

from scoring.base.errors import ScoringError

FONT_HINT = "请安装中文字体：sudo apt-get install fonts-noto-cjk"
_DIGITS = "零一二三四五六七八九"
HEADER_CHARS = 40  # a running header string's longest; a longer one ends in …

ReadExtra = Callable[[str], bytes | None]
T = TypeVar("T")
VARIANT = "pdf/a-3b"  # every PDF we write: archivable, with its machine-readable result embedded


@dataclass(frozen=True)
class Archive:
    """The file a PDF carries (the JSON its figures come from) and the date its metadata states: an ISO
    date taken from the inputs, never the clock, so the same inputs give the same bytes."""

    name: str  # ASCII: result.json
    data: bytes
    date: str  # 2022-11-20


def _write(document: Any, archive: Archive | None) -> bytes:
    """PDF/A-3b; with an archive, the file attached as the document's data (AFRelationship /Data)."""
    from weasyprint import Attachment

    made = []
    if archive is not None:
        when = datetime.fromisoformat(archive.date)
        made.append(Attachment(string=archive.data.decode(), name=archive.name, description="评分结果（JSON）",
                               created=when, modified=when, relationship="Data"))
    with warnings.catch_warnings():
        # WeasyPrint reads its sRGB output intent from a file it leaves for the collector to close.
        warnings.filterwarnings("ignore", r"unclosed file .*sRGB2014\.icc", ResourceWarning)
        return bytes(document.write_pdf(pdf_variant=VARIANT, attachments=made))


def chinese_number(n: int) -> str:
    """一 … 九十九; other numbers as digits."""
    if not 0 < n < 100:
        return str(n)
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else _DIGITS[tens] + "十")
    return head + (_DIGITS[ones] if ones else "")


_DOCNO = re.compile(r"(〔\d+〕\d+号|\d+号)")


def docno(text: str) -> markupsafe.Markup:
    """Text holding a 文号, escaped, that never breaks inside 〔2022〕18号 (a line may break before it)."""
    return markupsafe.Markup(_DOCNO.sub(lambda m: f'<span class="nobr">{m[1]}</span>', str(markupsafe.escape(text))))


def header(text: str) -> str:
    """A running header's string: one line, at most HEADER_CHARS characters."""
    text = " ".join(text.split())
    return text if len(text) <= HEADER_CHARS else text[:HEADER_CHARS - 1] + "…"


# Characters that give Pango no break opportunity between them, roughly: anything but white space and the
# scripts that break between any two characters (CJK ideographs, kana, hangul, fullwidth forms).
_RUN_CHAR = "[^\\s\u200b\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\U00020000-\U0003ffff]"
RUN = 64  # characters of such a run (a URL, a token) before it is given a break opportunity; a SHA-256 is 64
_RUNS = re.compile(f"{_RUN_CHAR}{{{RUN}}}(?={_RUN_CHAR})")
ZWSP = "\u200b"  # a break opportunity that shows nothing and is not in the PDF's text


def breakable(value: Any) -> Any:
    """Text a paper prints with a break opportunity after every RUN characters of a longer unbroken run.
    WeasyPrint lays out the rest of a text box for each line it cannot break early: without one, a run of
    n characters costs n²/line time (225 KB took a minute); with one every RUN characters, a line's work is
    bounded. Markup (already HTML) and ordinary text are left as they are."""
    if isinstance(value, str) and not isinstance(value, markupsafe.Markup) and len(value) > RUN:
        return _RUNS.sub(lambda m: m[0] + ZWSP, value)
    return value


def environment(dirs: Sequence[Path], printed: bool = True) -> jinja2.Environment:
    """User template folders first, so a template of the same name overrides the package's own.
    One environment per set of folders, kept: its compiled templates are reused by every render.
    A printed paper's text gets break opportunities in long runs (`breakable`); a page the desk
    serves keeps its text exactly, for a reviewer to copy or edit."""
    return _environment(tuple(dirs), printed)


@functools.cache
def _environment(dirs: tuple[Path, ...], printed: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(d)) for d in dirs]),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        finalize=breakable if printed else None)
    env.filters["cn"] = chinese_number
    env.filters["header"] = header
    env.filters["docno"] = docno
    return env


def render_html(name: str, dirs: Sequence[Path], printed: bool = True, **context: Any) -> str:
    try:
        return environment(dirs, printed).get_template(name).render(**context)
    except jinja2.TemplateSyntaxError as exc:
        raise ScoringError(f"报告模板有语法错误：{exc.message}", exc.filename or exc.name, exc.lineno) from exc
    except jinja2.TemplateError as exc:
        raise ScoringError(f"报告模板出错：{exc.message}", name, hint="请检查 --templates 中的自定义模板") from exc


def require_cjk_font() -> None:
    """Stop before rendering when fontconfig sees no Chinese font: the PDF would show boxes."""
    if chinese_font_count() == 0:
        raise ScoringError("没有找到可用的中文字体（如 Noto Sans CJK SC），无法生成报告", hint=FONT_HINT)


class _FcFontSet(ctypes.Structure):
    _fields_ = [("nfont", ctypes.c_int), ("sfont", ctypes.c_int), ("fonts", ctypes.c_void_p)]


def chinese_font_count() -> int | None:
    """How many fonts fontconfig, the library Pango and so WeasyPrint use, has for Chinese (as
    `fc-list :lang=zh` lists them, without needing that program); None when fontconfig is absent."""
    try:
        fc = ctypes.CDLL(ctypes.util.find_library("fontconfig") or "libfontconfig.so.1")
    except OSError:
        return None
    fc.FcNameParse.restype = fc.FcObjectSetCreate.restype = ctypes.c_void_p
    fc.FcNameParse.argtypes = [ctypes.c_char_p]
    fc.FcObjectSetAdd.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    fc.FcFontList.restype = ctypes.POINTER(_FcFontSet)
    fc.FcFontList.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    fc.FcPatternDestroy.argtypes = fc.FcObjectSetDestroy.argtypes = [ctypes.c_void_p]
    fc.FcFontSetDestroy.argtypes = [ctypes.POINTER(_FcFontSet)]
    pattern, objects = fc.FcNameParse(b":lang=zh"), fc.FcObjectSetCreate()
    fc.FcObjectSetAdd(objects, b"family")
    fonts = fc.FcFontList(None, pattern, objects)
    count = int(fonts.contents.nfont) if fonts else 0
    if fonts:
        fc.FcFontSetDestroy(fonts)
    fc.FcObjectSetDestroy(objects)
    fc.FcPatternDestroy(pattern)
    return count


def render_pdf(html: str, dirs: Sequence[Path], read_extra: ReadExtra | None = None,
               archive: Archive | None = None) -> tuple[bytes, int]:
    """The PDF's bytes (PDF/A-3b, carrying `archive`) and its page count. Resources come only through
    `_fetcher`; a character no font can show, or a resource WeasyPrint could not use, fails the render."""
    return _render(html, dirs, read_extra, lambda document: (_write(document, archive), len(document.pages)))


def render_parts(html: str, dirs: Sequence[Path], starts: Sequence[str],
                 archives: Sequence[Archive | None] = ()) -> list[bytes]:
    """One layout of many short documents, written once as PDF/A-3b and split into a PDF each, PDF/A-3b
    again (`pdfparts`): part k runs from the page holding the element with id starts[k] to the page before
    the next part's and carries archives[k] when given. Laying out and writing once (the fonts subset
    once) is several times faster than a render or a write per document."""
    from scoring.papers.report.pdfparts import split

    def whole(document: Any) -> tuple[bytes, list[int]]:
        first: dict[str, int] = {}
        for k, page in enumerate(document.pages):
            for name in page.anchors:  # a part running over two pages has its id on both: the first counts
                first.setdefault(name, k)
        return _write(document, None), [first[name] for name in starts] + [len(document.pages)]

    pdf, bounds = _render(html, dirs, None, whole)
    return split(pdf, bounds, list(archives) or [None] * len(starts))


def _render(html: str, dirs: Sequence[Path], read_extra: ReadExtra | None, write: Callable[[Any], T]) -> T:
    from weasyprint import HTML
    from weasyprint.urls import FatalURLFetchingError, path2url

    # What is alive before the render (modules, the scored result) outlives it: keeping it out of the
    # cycle collector's scans during WeasyPrint's millions of allocations saves measurable time.
    gc.freeze()
    with _watch_log() as records:
        try:
            document = HTML(string=html, base_url=path2url(str(dirs[0])),
                            url_fetcher=_fetcher(dirs, read_extra)).render()
            made = write(document)
        except FatalURLFetchingError as exc:
            cause = exc.__cause__
            if isinstance(cause, ScoringError):
                raise cause from None
            raise ScoringError(f"报告引用的资源无法读取：{exc}") from exc
        finally:
            gc.unfreeze()
    _check_log(records)
    return made


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def _watch_log() -> Iterator[list[logging.LogRecord]]:
    logger = logging.getLogger("weasyprint")
    handler, level = _Records(), logger.level
    logger.addHandler(handler)
    if logger.getEffectiveLevel() > logging.WARNING:
        logger.setLevel(logging.WARNING)
    try:
        yield handler.records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _check_log(records: list[logging.LogRecord]) -> None:
    # WeasyPrint draws a box (.notdef) and only logs a warning for a character no font has.
    missing = sorted({str(r.args[0]) for r in records
                      if r.getMessage().startswith(".notdef glyph") and isinstance(r.args, tuple) and r.args})
    if missing:
        shown = "、".join(f"“{ch}”（U+{ord(ch[0]):04X}）" for ch in missing[:10])
        raise ScoringError(f"报告中有字体无法显示的字符：{shown}",
                           hint=f"如缺少中文字体，{FONT_HINT}；其他生僻字符或表情符号请在材料包中改写")
    errors = [r.getMessage() for r in records if r.levelno >= logging.ERROR]
    if errors:
        raise ScoringError(f"生成 PDF 时出错：{errors[0]}")


def _fetcher(dirs: Sequence[Path], read_extra: ReadExtra | None) -> Any:
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class OnlyOurFiles(URLFetcher):  # type: ignore[misc]
        """Serves template files and (as bundle:path) the bundle's own files; refuses the rest,
        fatally, so a refused resource stops the render instead of silently going missing."""

        def fetch(self, url: str, headers: Any = None) -> Any:
            data = _read(url, dirs, read_extra)
            kind = mimetypes.guess_type(urlsplit(url).path)[0] or "application/octet-stream"
            return URLFetcherResponse(url, data, {"Content-Type": kind})

    return OnlyOurFiles(fail_on_errors=True)


def _read(url: str, dirs: Sequence[Path], read_extra: ReadExtra | None) -> bytes:
    scheme = url.partition(":")[0].lower()
    data: bytes | None = None
    if scheme == "bundle" and read_extra is not None:
        data = read_extra(unquote(url.partition(":")[2]))
    elif scheme == "file":
        data = _template_file(Path(url2pathname(urlsplit(url).path)), dirs)
    else:
        raise ScoringError(f"报告不能读取 “{url}”", hint="渲染时只读取模板目录和材料包内的文件，不访问网络")
    if data is None:
        raise ScoringError(f"报告引用的文件不存在：{url}")
    return data


def _template_file(path: Path, dirs: Sequence[Path]) -> bytes | None:
    """A file under a template folder, looked up by its name in every folder, user folders first."""
    roots = [d.resolve() for d in dirs]
    target = path.resolve()
    rel = next((target.relative_to(r) for r in roots if target.is_relative_to(r)), None)
    if rel is None:
        raise ScoringError(f"报告不能读取模板目录之外的文件 “{path}”",
                           hint="渲染时只读取模板目录和材料包内的文件")
    for root in roots:
        real = (root / rel).resolve()
        if real.is_relative_to(root) and real.is_file():
            return real.read_bytes()
    return None
