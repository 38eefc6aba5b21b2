"""The review desk's safety: Host names, the access token, sessions and their CSRF tokens, the headers every
response carries, request bodies within limits.FORM_BYTES, and a deadline for a connection's whole request; and the
plain message pages these refusals answer with.

Safe by default: only the Host names of the address it binds are served (no DNS rebinding); off the
loopback address a token printed at start is required, then kept in a cookie; a browser's session is one
the desk made (a cookie it did not issue is replaced, never adopted), and every form carries the session's
own CSRF token; every response says nosniff and a strict Content-Security-Policy. Headers past
limits.HEADER_BYTES are refused however they arrive, and a connection that is slow to send its request is
closed (`Deadline`).
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import h11
from starlette.datastructures import Headers
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from scoring.base import limits
from scoring.faces.desk.reviewers import Reviewer
from scoring.papers.report import render, template_dirs

PAGE_CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
            "base-uri 'none'")
TOKEN_COOKIE, SESSION_COOKIE = "desk_token", "desk_session"
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")
SESSIONS = 4096  # sessions a desk remembers, the least recently used forgotten first


@dataclass
class Session:
    """A browser's session, made by the desk: its CSRF token, and its downloads waiting or being made."""

    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    renders: int = 0
    reviewer: Reviewer | None = None  # who signed in with their link; None before (or when none are named)


class Sessions:
    """The sessions this desk made, by the id in their cookie; an id it did not make is no session."""

    def __init__(self) -> None:
        self.known: OrderedDict[str, Session] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, sid: str) -> Session | None:
        with self.lock:
            found = self.known.get(sid)
            if found is not None:
                self.known.move_to_end(sid)
            return found

    def new(self) -> tuple[str, Session]:
        sid, made = secrets.token_urlsafe(32), Session()
        with self.lock:
            self.known[sid] = made
            while len(self.known) > SESSIONS:
                self.known.popitem(last=False)
        return sid, made


class Guard(BaseHTTPMiddleware):
    """Host names, the access token, the CSRF cookie and the headers every response carries."""

    def __init__(self, app: Any, hosts: tuple[str, ...] | None, token: str | None, sessions: Sessions) -> None:
        super().__init__(app)
        self.hosts, self.token, self.sessions = hosts, token, sessions

    async def dispatch(self, request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await self._checked(request, call_next)
        # same-origin, not no-referrer: under no-referrer a browser sends "Origin: null" with every form
        # POST, even the desk's own, and the origin check below would refuse them all.
        for key, value in (("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "same-origin"),
                           ("X-Frame-Options", "DENY"), ("Cache-Control", "no-store")):
            response.headers[key] = value
        response.headers.setdefault("Content-Security-Policy", PAGE_CSP)
        return response

    async def _checked(self, request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if self.hosts is not None and _hostname(request.headers.get("host", "")) not in self.hosts:
            return message(400, "地址不对", "请用启动时显示的地址打开评审工作台。")
        if self.token is not None and not secrets.compare_digest(request.cookies.get(TOKEN_COOKIE, ""), self.token):
            given = request.query_params.get("token", "")
            if not secrets.compare_digest(given, self.token):
                return message(403, "需要访问令牌", "请用启动评审工作台时显示的完整地址（含 token=…）打开。")
            back = RedirectResponse(request.url.path, 303)
            back.set_cookie(TOKEN_COOKIE, self.token, httponly=True, samesite="strict")
            return back
        cookie = session_cookie(request)
        session = self.sessions.get(request.cookies.get(cookie, ""))
        fresh = session is None
        sid, session = self.sessions.new() if session is None else ("", session)
        request.state.session, request.state.fresh, request.state.csrf = session, fresh, session.csrf
        if request.method == "POST" and not _same_origin(request):
            return message(403, "拒绝跨站提交", "请在评审工作台的页面上提交表单。")
        response = await call_next(request)
        if fresh and not getattr(request.state, "signed_in", False):  # a sign-in sets its own session
            response.set_cookie(cookie, sid, httponly=True, samesite="strict")
        return response


def session_cookie(request: Request) -> str:
    """The session cookie's name, with the desk's port: a browser sends one host's cookies to every port,
    and two desks on one machine must not take each other's session for a stranger's."""
    port = request.url.port or (443 if request.url.scheme == "https" else 80)
    return f"{SESSION_COOKIE}_{port}"


class TooLarge(Exception):
    """A request body over limits.FORM_BYTES."""


class Bounded:
    """Request bodies within limits.FORM_BYTES: one that announces more (Content-Length) is refused before
    any of it is read; one that does not (chunked) is counted as it arrives and refused when it passes the
    limit, so no more than the limit is ever held."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _head_bytes(scope) > limits.HEADER_BYTES:
            refused = message(431, "请求头过长", f"一次请求的请求头不能超过 {limits.HEADER_BYTES // 1024} KB。"
                                                "请用浏览器打开评审工作台的地址。")
            refused.headers["Connection"] = "close"
            await refused(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length", "") if scope["type"] == "http" else ""
        if length.isdigit() and int(length) > limits.FORM_BYTES:
            await too_large()(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limits.FORM_BYTES:
                raise TooLarge
            return message
        await self.app(scope, counted, send)


def _head_bytes(scope: Scope) -> int:
    """A request's line and headers as sent, near enough: uvicorn holds no more than HEADER_BYTES of them
    while they arrive, but takes a whole one that came in one piece."""
    line = len(scope.get("raw_path", b"")) + len(scope.get("query_string", b"")) + 16
    return line + sum(len(k) + len(v) + 4 for k, v in scope.get("headers", ()))


def too_large() -> HTMLResponse:
    """The 413 page, closing the connection: the rest of the body is never read."""
    response = message(413, "提交的内容过大", f"一次提交的表单不能超过 {limits.FORM_BYTES // 1024} KB，未保存。请缩短理由或分几次提交。")
    response.headers["Connection"] = "close"
    return response


class Deadline(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with a deadline: a connection must send a whole request (its headers and
    its form) within limits.REQUEST_SECONDS of opening or of its last answer, or it is closed. uvicorn alone
    times out only a connection idle after an answer, so a client that opened connections and sent a byte
    now and then would hold them for ever."""

    timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.timer is not None:
            self.timer.cancel()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.timer = self.loop.call_later(limits.REQUEST_SECONDS, self._expire, self.cycle)

    def send_400_response(self, msg: str) -> None:
        """A request uvicorn cannot read (headers past limits.HEADER_BYTES, a malformed line): uvicorn's own
        answer and close, worded in Chinese."""
        text = "请求无法识别：请求头过长或格式有误。请用浏览器打开评审工作台的地址。".encode()
        headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close")]
        for event in (h11.Response(status_code=400, headers=headers, reason=b"Bad Request"), h11.Data(data=text),
                      h11.EndOfMessage()):
            self.transport.write(self.conn.send(event))
        self.transport.close()

    def _expire(self, armed: object) -> None:
        waiting = self.cycle is armed or self.cycle.more_body  # no new request yet, or its form still coming
        if waiting and not self.transport.is_closing():
            self.transport.close()


def _hostname(host: str) -> str:
    """The name in a Host header, without the port: 127.0.0.1, localhost, [::1]."""
    return host[: host.index("]") + 1] if host.startswith("[") and "]" in host else host.rsplit(":", 1)[0]


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    return origin is None or origin == f"{request.url.scheme}://{request.headers.get('host', '')}"


def message(status: int, title: str, text: str) -> HTMLResponse:
    return HTMLResponse(render.render_html("desk/message.html", template_dirs(None), False, title=title, text=text),
                        status)


def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(render.render_html(name, template_dirs(None), False, **context), status)
