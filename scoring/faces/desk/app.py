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
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath
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
from scoring.faces.desk import forms, reviewers
from scoring.faces.desk.counties import counties_page, county_url
from scoring.faces.desk.folder import REVIEWING, Case, Conflict, Folder, Unknown
from scoring.faces.desk.pages import Conflicted, Viewer, changed_lines, county_page, entry_lines
from scoring.faces.desk.reviewers import Reviewer
from scoring.faces.desk.safety import (
    LOOPBACK,
    Bounded,
    Guard,
    Sessions,
    TooLarge,
    message,
    page,
    session_cookie,
    too_large,
)
from scoring.jobs.summary import summarize
from scoring.papers import outputs
from scoring.papers.changes import changes
from scoring.papers.report import template_dirs
from scoring.pipeline.folder import find

DOCUMENT_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox"
PDF_CSP = "default-src 'none'; object-src 'self'; frame-ancestors 'none'"  # the browser's own PDF viewer
INLINE = {".pdf": "application/pdf", ".txt": "text/plain", ".png": "image/png", ".jpg": "image/jpeg",
          ".jpeg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp"}  # shown; the rest (SVG too) downloads
FORM_TYPE = "application/x-www-form-urlencoded"  # what the desk's own forms send


def create_app(folder: Folder, hosts: tuple[str, ...] | None = LOOPBACK, token: str | None = None,
               named: Mapping[str, Reviewer] | None = None) -> Starlette:
    """The desk over `folder`. `hosts`: the Host names served (None: any); `token`: required when given;
    `named`: the reviewers by their sign-in key (then only a signed-in reviewer saves)."""
    routes = [
        Route("/", counties),
        Route("/signin/{key:str}", signin),
        Route("/desk.css", stylesheet),
        Route("/summary.{ext:str}", summary),
        Route("/county/{name:str}", county),
        Route("/county/{name:str}", save, methods=["POST"]),
        Route("/county/{name:str}/doc/{doc:str}", document),
        Route("/county/{name:str}/review.yaml", review_file),
        Route("/county/{name:str}/diff.{ext:str}", diff),
        Route("/county/{name:str}/report.pdf", report),
    ]
    sessions = Sessions()
    app = Starlette(routes=routes, middleware=[Middleware(Guard, hosts=hosts, token=token, sessions=sessions),
                                               Middleware(Bounded)],
                    exception_handlers={Unknown: missing, 404: missing, PermissionError: forged,
                                        ScoringError: failed, TooLarge: oversized, Unsupported: unsupported,
                                        ClientDisconnect: gone, forms.Malformed: malformed, 500: crashed})
    # per app, not per module: two desks in one process share neither their folder nor their turns to render
    app.state.folder, app.state.sessions, app.state.named = folder, sessions, dict(named or {})
    app.state.renders = threading.BoundedSemaphore(limits.RENDERS)  # downloads made at once; the others wait
    app.state.queue = threading.Lock()  # guards each session's count of downloads asked for
    return app


def _folder(request: Request) -> Folder:
    folder: Folder = request.app.state.folder
    return folder


async def counties(request: Request) -> Response:
    return page("desk/counties.html", page=await run_in_threadpool(counties_page, _folder(request)))


async def signin(request: Request) -> Response:
    """A reviewer's personal link: a new session (never one the browser brought) signed in as them."""
    reviewer = request.app.state.named.get(request.path_params["key"])
    if reviewer is None:
        return message(403, "登录链接无效", "这不是本次启动评审工作台时生成的登录链接（重新启动后链接会变）。请使用启动时为你显示的个人登录链接。")
    sid, session = request.app.state.sessions.new()
    session.reviewer, request.state.signed_in = reviewer, True
    back = RedirectResponse("/", 303)
    back.set_cookie(session_cookie(request), sid, httponly=True, samesite="strict")
    return back


async def county(request: Request) -> Response:
    name, stage, folder = request.path_params["name"], _stage(request), _folder(request)
    case = await run_in_threadpool(folder.case, name, stage)
    saved = request.query_params.get("saved", "")
    notice = f"已保存到 {case.file.name}，总分已按最新评审意见重新计算。" if saved else ""
    return page("desk/county.html", page=county_page(case, request.state.csrf, notice, viewer=_viewer(request),
                                                      saved=saved))


def _viewer(request: Request) -> Viewer:
    by = request.state.session.reviewer
    return Viewer(bool(request.app.state.named), by.label if by else "")


async def save(request: Request) -> Response:
    name, stage, folder = request.path_params["name"], _stage(request), _folder(request)
    form = forms.FormData((await _form(request)).multi_items())
    kept, by = forms.typed(form), request.state.session.reviewer
    if request.app.state.named and by is None:
        return message(403, "请先登录", "评审意见须由登录的评审人填写。请用启动评审工作台时为你显示的个人登录链接打开工作台，再填写。")
    try:
        change = forms.change(form, by, reviewers.now())
        await run_in_threadpool(folder.save, name, stage, str(form.get("version", "")), change, by)
    except forms.Malformed:
        return message(400, "表单有误", "提交的表单内容不完整或有误，未保存。请回到评审工作台的页面，刷新后重新填写。")
    except Conflict as exc:
        return _conflicted(request, exc, forms.sent(form), kept)
    except ScoringError as exc:
        case = await run_in_threadpool(folder.case, name, stage)
        return _refused(request, case, exc, kept)
    anchor = f"#i-{quote(kept.indicator)}" if kept.indicator else ""
    return RedirectResponse(f"/county/{quote(name)}?stage={quote(stage)}&saved={quote(kept.indicator or '1')}{anchor}",
                            303)


def _conflicted(request: Request, exc: Conflict, sent: tuple[str, ...], kept: forms.Typed) -> Response:
    """The 409 page: nothing is merged for the reviewer, who sees what they sent beside the file's newest,
    and the form filled in again as they sent it, over the newest version."""
    ind = kept.indicator
    conflicted = Conflicted(ind, sent, entry_lines(exc.case, ind) if ind else (), changed_lines(exc.case, exc.shown))
    text = ("保存未完成：这份评审意见文件在你打开页面之后已被修改（可能是另一位评审人）。下面是你提交的内容和文件中的"
            "最新内容；你填写的内容已保留在表单中，核对后可再次保存。")
    return page("desk/county.html", 409, page=county_page(exc.case, request.state.csrf, text, conflict=conflicted,
                                                          typed=kept, viewer=_viewer(request)))


def _refused(request: Request, case: Case, exc: ScoringError, kept: forms.Typed) -> Response:
    """The 400 page: the message beside the form it is about (the header's at the header form), the form
    filled in again as the reviewer sent it."""
    said = _folder(request).local(exc.message if isinstance(exc, forms.Refused) else forms.worded(exc))
    key = exc.key if isinstance(exc, forms.Refused) else kept.key
    ind = kept.indicator
    if key == "complete" or case.stage_made.completed is not None:  # said at the 完成 step, near the top
        return page("desk/county.html", 400, page=county_page(
            case, request.state.csrf, "", alert="" if key == "complete" else "未保存：" + said, typed=kept,
            viewer=_viewer(request), finish_error=said if key == "complete" else ""))
    if key == "header":
        errors = {ind: {kept.key: "未保存：" + said}} if ind else None
        alert = "未保存：请先填写评审人信息，见页面上方。" if ind else ""
        return page("desk/county.html", 400, page=county_page(case, request.state.csrf, "", errors, said, None,
                                                              alert, "", kept, _viewer(request)))
    errors = {ind: {key: said}} if ind else None
    alert = f"未保存：指标 {ind} 的评审意见没有通过检查，见该指标下的说明（你填写的内容已保留）。" if ind else ""
    return page("desk/county.html", 400, page=county_page(case, request.state.csrf, "", errors,
                                                          "" if ind else said, None, alert, ind, kept, _viewer(request)))


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
    so a burst of downloads cannot hold more than limits.RENDERS renders' memory and CPU at once; it is
    made only for a session of the desk's own pages, asked from them (never from another site: a page
    elsewhere could otherwise make the desk render for it), and at most limits.RENDERS_QUEUED at a time
    per session."""
    if not renders:
        return _attachment(await run_in_threadpool(make), media_type, filename)
    refused = _render_refused(request)
    if refused is not None:
        return refused
    session, lock = request.state.session, request.app.state.queue
    with lock:
        if session.renders >= limits.RENDERS_QUEUED:
            return message(429, "下载过多", f"同时只能准备 {limits.RENDERS_QUEUED} 个下载，请等前面的下载完成后再试。")
        session.renders += 1

    def made() -> bytes:
        with request.app.state.renders:
            return make()
    try:
        return _attachment(await run_in_threadpool(made), media_type, filename)
    finally:
        with lock:
            session.renders -= 1


def _render_refused(request: Request) -> Response | None:
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return message(403, "拒绝跨站下载", "报告和意见表只能从评审工作台自己的页面下载。")
    if request.state.fresh:
        return message(403, "请从页面下载", "请先打开评审工作台的页面，再点击其中的下载链接。")
    return None


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
    return message(422, "无法处理", _folder(request).local(text))


async def crashed(request: Request, exc: Exception) -> Response:
    """Whatever else went wrong: said in Chinese, with no trace of the code or the machine."""
    return message(500, "工作台出错", "处理这个请求时出错，未保存任何内容。请回到各县列表重试；如再次出现，请把操作步骤告诉管理员。")


async def malformed(request: Request, exc: Exception) -> Response:
    return message(400, "地址或表单有误", "请求中的参数不完整或有误。请回到评审工作台的页面，刷新后重试。")


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
    if kind == "text/plain":  # shown in a page of the desk, under the county's and the document's names
        text = data.decode(_charset(data), "replace")
        return page("desk/document.html", title=f"{bundle.assessee.get('name', '') or name}：{doc.id} {doc.title}",
                    county=county_url(name), text=text, filename=filename)
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
