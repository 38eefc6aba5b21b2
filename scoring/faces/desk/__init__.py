"""The review desk (`scoring serve`): a local web page over a folder of county bundles where the city's
reviewers read the evidence and write the same review files as `scoring review init` and the CLI.

folder.py finds and saves, pages.py builds the pages' contexts, app.py holds the routes and the safety;
`serve` here starts it on uvicorn.
"""

from __future__ import annotations

import contextlib
import ipaddress
import secrets
import socket
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scoring.base.errors import ScoringError

if TYPE_CHECKING:
    import uvicorn

DEFAULT_HOST = "127.0.0.1"


def loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def serve(directory: Path, host: str | None, port: int, rubric_file: str | None,
          say: Callable[[str], None], named: Sequence[str] = (), roster_file: Path | None = None) -> None:
    """Serve the desk until Ctrl-C. Off the loopback address a token is required: it is in the address
    printed here, and the browser keeps it in a cookie after the first visit. Reviewers named (options
    `姓名@单位`, or a file of such lines) each get a personal sign-in link, printed here; then only a
    signed-in reviewer saves, and entries carry their name."""
    from scoring.faces.desk.app import create_app
    from scoring.faces.desk.folder import Folder
    from scoring.faces.desk.reviewers import keys, roster
    from scoring.faces.desk.safety import LOOPBACK

    people = keys(roster(named, roster_file))
    folder = Folder(directory, rubric_file)
    bind = host or DEFAULT_HOST
    local = loopback(bind)
    token = None if local else secrets.token_urlsafe(24)
    _check_free(bind, port)
    app = create_app(folder, LOOPBACK if local else None, token, people)
    shown = f"[{bind}]" if ":" in bind else bind
    where = f"http://{'127.0.0.1' if bind in ('0.0.0.0', '::') else shown}:{port}"
    if local:
        say(f"评审工作台已启动：{where}/")
    else:
        say(f"评审工作台已启动：{where}/?token={token}")
        say("其他电脑访问时，把地址中的主机换成本机的 IP 地址，并保留 token=… 部分；首次打开后浏览器会记住它。")
    if people:
        say("各评审人的个人登录链接（只发给本人；重新启动后链接会变）：")
        for key, who in people.items():
            say(f"  {who.label}：{where}/signin/{key}" + (f"?token={token}" if token else ""))
    say(f"评审目录：{folder.root}（按 Ctrl-C 停止）")
    server = make_server(app, bind, port)
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn stops gracefully on Ctrl-C, then raises it again
        server.run()
    say("评审工作台已停止")


def make_server(app: Any, host: str, port: int) -> uvicorn.Server:
    """uvicorn for the desk: HTTP/1.1 only, no WebSocket. A connection must send its whole request within
    limits.REQUEST_SECONDS (safety.Deadline), and no more than limits.HEADER_BYTES of headers is held while
    they arrive; one idle after an answer is closed after 5 s. No cap on connections: a cap counts the
    slow ones too, so they could lock everyone else out, while the event loop serves any number of waiting
    sockets at little cost until the deadline closes them."""
    import uvicorn

    from scoring.base import limits
    from scoring.faces.desk.safety import Deadline

    return uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", server_header=False,
                                         http=Deadline, ws="none", timeout_keep_alive=5,
                                         h11_max_incomplete_event_size=limits.HEADER_BYTES))


def _check_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host.strip("[]"), port))
        except OSError as exc:
            raise ScoringError(f"无法在 {host}:{port} 上启动：{exc.strerror or exc}",
                               hint="端口可能已被占用，请用 --port 换一个端口，如 --port 8001") from exc
