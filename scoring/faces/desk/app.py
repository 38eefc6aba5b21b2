"""The review desk's routes: a Starlette app over one folder of county bundles, behind safety.py's guards;
each handler finds the folder in the app's state.

A document is looked up by its id in the bundle's manifest and read through the bundle's own checks, so
no URL names a path; only PDF and plain text open in the browser, everything else (HTML and SVG
included) is a download, never rendered. A form is the browser's plain kind (no uploads).
"""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from scoring.base import limits
from scoring.base.errors import ScoringError
from scoring.domain.model import Override, Stage
from scoring.faces.desk.folder import REVIEWING, Case, Conflict, Folder, Unknown
from scoring.faces.desk.pages import Conflicted, counties_page, county_page, entry_lines
from scoring.faces.desk.safety import (
    LOOPBACK,
    Bounded,
    Guard,
    TooLarge,
    message,
    page,
    too_large,
)
from scoring.jobs.summary import summarize
from scoring.papers import outputs
from scoring.papers.changes import changes
from scoring.papers.report import template_dirs
from scoring.pipeline.folder import find

DOCUMENT_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox"
PDF_CSP = "default-src 'none'; object-src 'self'; frame-ancestors 'none'"  # the browser's own PDF viewer
INLINE = {".pdf": "application/pdf", ".txt": "text/plain"}  # what a browser may show; the rest downloads
NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
FORM_TYPE = "application/x-www-form-urlencoded"  # what the desk's own forms send


def create_app(folder: Folder, hosts: tuple[str, ...] | None = LOOPBACK, token: str | None = None) -> Starlette:
    """The desk over `folder`. `hosts`: the Host names served (None: any); `token`: required when given."""
    routes = [
        Route("/", counties),
        Route("/desk.css", stylesheet),
        Route("/summary.{ext:str}", summary),
        Route("/county/{name:str}", county),
        Route("/county/{name:str}", save, methods=["POST"]),
        Route("/county/{name:str}/doc/{doc:str}", document),
        Route("/county/{name:str}/review.yaml", review_file),
        Route("/county/{name:str}/diff.{ext:str}", diff),
        Route("/county/{name:str}/report.pdf", report),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(Guard, hosts=hosts, token=token), Middleware(Bounded)],
                    exception_handlers={Unknown: missing, 404: missing, PermissionError: forged,
                                        ScoringError: failed, TooLarge: oversized, Unsupported: unsupported,
                                        ClientDisconnect: gone})
    # per app, not per module: two desks in one process share neither their folder nor their turns to render
    app.state.folder = folder
    app.state.renders = threading.BoundedSemaphore(limits.RENDERS)  # downloads made at once; the others wait
    return app


def _folder(request: Request) -> Folder:
    folder: Folder = request.app.state.folder
    return folder


async def counties(request: Request) -> Response:
    return page("desk/counties.html", page=await run_in_threadpool(counties_page, _folder(request)))


async def county(request: Request) -> Response:
    name, stage, folder = request.path_params["name"], _stage(request), _folder(request)
    case = await run_in_threadpool(folder.case, name, stage)
    saved = request.query_params.get("saved", "")
    notice = f"已保存到 {case.file.name}，总分已按最新评审意见重新计算。" if saved else ""
    return page("desk/county.html", page=county_page(case, request.state.csrf, notice))


async def save(request: Request) -> Response:
    name, stage, folder = request.path_params["name"], _stage(request), _folder(request)
    form = await _form(request)
    what, ind = str(form.get("do", "")), str(form.get("indicator", ""))
    change, key = _change(form, what, ind)
    try:
        await run_in_threadpool(folder.save, name, stage, str(form.get("version", "")), change)
    except Conflict as exc:
        return _conflicted(request, exc, _sent(form, what), ind)
    except ScoringError as exc:
        case = await run_in_threadpool(folder.case, name, stage)
        return _refused(request, case, exc, ind, key)
    anchor = f"#i-{quote(ind)}" if ind else ""
    return RedirectResponse(f"/county/{quote(name)}?stage={quote(stage)}&saved=1{anchor}", 303)


def _conflicted(request: Request, exc: Conflict, sent: tuple[str, ...], ind: str) -> Response:
    """The 409 page: nothing is merged for the reviewer, who sees what they sent beside the file's newest."""
    conflicted = Conflicted(ind, sent, entry_lines(exc.case, ind) if ind else ())
    text = "保存未完成：这份评审意见文件在你打开页面之后已被修改（可能是另一位评审人）。下面是你提交的内容和文件中的最新内容，请核对后重新填写。"
    return page("desk/county.html", 409, page=county_page(exc.case, request.state.csrf, text, None, "", conflicted))


def _refused(request: Request, case: Case, exc: ScoringError, ind: str, key: str) -> Response:
    """The 400 page: the checks' words under the field they refuse, or at the top when no indicator was sent."""
    said = exc.message + (f"（{exc.hint}）" if exc.hint else "")
    errors = {ind: {key: said}} if ind else None
    alert = f"未保存：指标 {ind} 的评审意见没有通过检查，见该指标下的说明。" if ind else ""
    return page("desk/county.html", 400, page=county_page(case, request.state.csrf, "", errors,
                                                          "" if ind else said, None, alert, ind))


async def document(request: Request) -> Response:
    name, ident = request.path_params["name"], request.path_params["doc"]
    return await run_in_threadpool(_document, _folder(request), name, ident)


async def review_file(request: Request) -> Response:
    folder = _folder(request)
    case = await run_in_threadpool(folder.case, request.path_params["name"], _stage(request))
    if not case.version:
        return message(404, "还没有评审意见文件", f"{case.stage}还没有保存过评审意见。")
    return await _download(request, case.file.read_bytes, "application/yaml; charset=utf-8", case.file.name,
                           renders=False)


async def diff(request: Request) -> Response:
    name, stage, ext = request.path_params["name"], _stage(request), request.path_params["ext"]
    folder = _folder(request)
    case = await run_in_threadpool(folder.case, name, stage)
    if not case.result.chain:
        return message(404, "还没有评审意见", f"{stage}还没有评审意见，没有意见表可下载。")
    out = _output("changes", ext)
    return await _download(request, lambda: out.render(changes(case.result), outputs.Options()),
                           out.media_type, f"{Path(name).stem}_{stage}意见表{out.extension}")


async def report(request: Request) -> Response:
    name, stage, folder = request.path_params["name"], _stage(request), _folder(request)
    case = await run_in_threadpool(folder.case, name, stage)
    return await _download(request, lambda: outputs.render("result", "pdf", case.result), "application/pdf",
                           f"{Path(name).stem}_自评报告_{stage}.pdf")


async def summary(request: Request) -> Response:
    out, folder = _output("summary", request.path_params["ext"]), _folder(request)
    return await _download(request, lambda: out.render(summarize(find(folder.root), folder.rubric), outputs.Options()),
                           out.media_type, f"汇总表{out.extension}")


async def _download(request: Request, make: Callable[[], bytes], media_type: str, filename: str, *,
                    renders: bool = True) -> Response:
    """A file made off the event loop, as an attachment. A render takes its turn under the app's semaphore,
    so a burst of downloads cannot hold more than limits.RENDERS renders' memory and CPU at once."""
    turn: AbstractContextManager[Any] = request.app.state.renders if renders else nullcontext()

    def made() -> bytes:
        with turn:
            return make()
    return _attachment(await run_in_threadpool(made), media_type, filename)


async def stylesheet(request: Request) -> Response:
    return Response((template_dirs(None)[0] / "desk" / "desk.css").read_bytes(), media_type="text/css")


async def missing(request: Request, exc: Exception) -> Response:
    return message(404, "找不到页面", "地址有误，或所指的材料包、文件不在评审目录中。")


async def forged(request: Request, exc: Exception) -> Response:
    return message(403, "表单已失效", "表单缺少有效的校验码（CSRF），未保存。请回到评审工作台的页面，刷新后重新提交。")


async def oversized(request: Request, exc: Exception) -> Response:
    return too_large()


async def unsupported(request: Request, exc: Exception) -> Response:
    return message(415, "不接受这种提交", "评审工作台只接受其页面上的表单，不接受上传文件。")


async def gone(request: Request, exc: Exception) -> Response:
    return Response(status_code=400)  # the client left (or was closed for being slow): no one reads this


async def failed(request: Request, exc: Exception) -> Response:
    text = str(exc) if isinstance(exc, ScoringError) else "处理请求时出错。"
    return message(422, "无法处理", text)


def _stage(request: Request) -> str:
    stage = request.query_params.get("stage", "") or REVIEWING[0]
    if stage not in REVIEWING:
        raise Unknown(stage)
    return stage


class Unsupported(Exception):
    """A POST that is not the browser's plain form: the desk takes no uploads."""


async def _form(request: Request) -> FormData:
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != FORM_TYPE:
        raise Unsupported
    form = await request.form()
    sent = str(form.get("csrf", ""))
    if not sent or not secrets.compare_digest(sent, request.state.csrf):
        raise PermissionError("csrf")
    return form


def _output(subject: str, ext: str) -> outputs.Output:
    """A registered output by its name (pdf, csv, json …): the one registry the CLI uses."""
    found = outputs.OUTPUTS.get((subject, ext))
    if found is None:
        raise Unknown(ext)
    return found


def _attachment(data: bytes, media_type: str, filename: str) -> Response:
    """A download, never shown: the ascii name for old browsers, the Chinese one for the rest."""
    ascii_name = re.sub(r"[^A-Za-z0-9._-]", "_", filename)
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    return Response(data, media_type=media_type, headers={"Content-Disposition": disposition,
                                                          "Content-Security-Policy": DOCUMENT_CSP})


def _document(folder: Folder, name: str, ident: str) -> Response:
    _, bundle = folder.open(name)
    doc = bundle.documents.get(ident)
    if doc is None:
        raise Unknown(ident)
    try:
        data = bundle.files.read(doc.file)
    finally:
        bundle.files.close()
    if data is None:
        return message(404, "文件缺失", f"材料包中没有 {doc.id} 所登记的文件。")
    filename = PurePosixPath(doc.file).name
    kind = INLINE.get(PurePosixPath(doc.file).suffix.lower())
    if kind is None:
        return _attachment(data, "application/octet-stream", filename)
    if kind == "text/plain":
        kind += "; charset=" + _charset(data)
    disposition = f"inline; filename*=UTF-8''{quote(filename)}"
    csp = PDF_CSP if kind == "application/pdf" else DOCUMENT_CSP
    return Response(data, media_type=kind, headers={"Content-Disposition": disposition, "Content-Security-Policy": csp})


def _charset(data: bytes) -> str:
    """UTF-8 when the text is; else GB18030, which Chinese Windows' own text files are."""
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "gb18030"


# ---------------------------------------------------------------- what a form asks for


def _change(form: FormData, what: str, ind: str) -> tuple[Callable[[Stage], Stage], str]:
    """The change a form asks for, as a function of the stage, and the form's key for its message."""
    reason = str(form.get("reason", "")).strip()
    if what == "header":
        head = {k: str(form.get(k, "")).strip() for k in ("reviewer", "unit", "date")}
        return (lambda s: replace(s, author=head["reviewer"], unit=head["unit"], date=head["date"])), "header"
    if what == "delete" or what == "confirm":
        raw = str(form.get("index", ""))
        index = int(raw) if raw.isdigit() else -1
        return (lambda s: _edit(s, ind, index, what)), "entry"
    target = str(form.get("target", ""))
    if what == "score":
        value: Any = _number(str(form.get("value", "")))
        key = "score"
    elif what == "input":
        value, key = _value(form), f"input:{target}"
    elif what == "reject":
        value, key = None, "reject"
    else:
        raise ScoringError("不认识的操作")

    def add(s: Stage) -> Stage:
        made = Override(ind, what, "" if what == "score" else target, value, reason, s.author)
        return replace(s, overrides=(*s.overrides, made))
    return add, key


def _edit(s: Stage, ind: str, index: int, what: str) -> Stage:
    from scoring.loading import review

    mine = review.entries(s).get(ind, [])
    if not 0 <= index < len(mine):
        raise ScoringError("这条评审意见已不存在", hint="请刷新页面")
    o, waiting = mine[index]
    overrides = tuple(x for x in s.overrides if x is not o)
    pending = tuple(x for x in s.pending if x is not o)
    if what == "confirm" and waiting:
        overrides = (*overrides, o)
    return replace(s, overrides=overrides, pending=pending)


def _number(text: str) -> Any:
    """A number typed in a form as an exact Decimal; anything else as typed, for the checks to refuse."""
    text = text.strip()
    return Decimal(text) if NUMBER.match(text) else text


def _value(form: FormData) -> Any:
    widget = str(form.get("widget", ""))
    if widget == "checks":
        return [str(v) for v in form.getlist("value")]
    raw = str(form.get("value", ""))
    if widget == "lines":
        return [line.strip() for line in raw.splitlines() if line.strip()]
    if widget == "bool":
        return {"true": True, "false": False}.get(raw, raw)
    if widget == "number":
        return _number(raw)
    return raw


def _sent(form: FormData, what: str) -> tuple[str, ...]:
    words = {"score": "定分", "input": "更正输入", "reject": "不采信文件", "delete": "删除一条意见",
             "confirm": "确认一条待复核意见", "header": "修改评审人信息"}
    value = form.getlist("value")
    shown = "、".join(str(v) for v in value)
    target = str(form.get("target", ""))
    head = " ".join(x for x in (words.get(what, what), target) if x)
    return (head + (f"：{shown}" if shown else ""),
            f"理由：{form.get('reason', '')}" if form.get("reason") else "")
