"""The `scoring` command as a process: UTF-8 whatever the locale, arguments that are not UTF-8 refused,
SIGTERM as an exit that unwinds, and a closed or full standard output said in Chinese (a quiet success when
the command's outputs are written to files). Nothing here knows a command; cli.py calls these around click."""

from __future__ import annotations

import io
import locale
import os
import sys

from scoring.base.text import terminal


def _say(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


CLOSED = "输出已被关闭（如接在 head 之后，或用 >&- 关闭），结果没有全部输出"


def stdout_failed(exc: OSError) -> None:
    """Standard output closed (`scoring score … | head -c1`) or full (`> /dev/full`): say so, exit 1. The
    reader gone after the command wrote its outputs to files loses only a line about them: exit 0."""
    from scoring.base.files import reason, wrote

    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing left to flush at exit
    closed = isinstance(exc, BrokenPipeError)
    if closed and wrote():
        sys.exit(0)
    _say(f"错误：无法写入标准输出：{CLOSED if closed else reason(exc)}（可改用 -o 写入文件）")
    sys.exit(1)


class _Counted(io.RawIOBase):
    """Where text for a standard stream that was closed before the command started goes: counted, dropped."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def writable(self) -> bool:
        return True

    def write(self, data: object) -> int:
        size = memoryview(data).nbytes  # type: ignore[arg-type]
        self.count += size
        return size


def closed_streams() -> _Counted | None:
    """Standard input, output or error closed before the command started (`>&-`, `2>&-`): each descriptor
    taken by /dev/null, so no file the command opens becomes "standard output" (a library writing to
    descriptor 1 would write into it), and each closed stream made a sink. Returns standard output's
    sink (which counts what the command meant to print there), or None when standard output is open."""
    sink = None
    for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        try:
            os.fstat(fd)
            continue
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
        if name == "stdin":
            continue
        raw = _Counted()
        setattr(sys, name, io.TextIOWrapper(io.BufferedWriter(raw), encoding="utf-8", line_buffering=True))
        sink = raw if name == "stdout" else sink
    return sink


def stdout_lost(sink: _Counted | None) -> None:
    """After the command: standard output was closed and the command printed there without writing any
    output file, so what it printed (its result) is lost: say so, exit 1."""
    from scoring.base.files import wrote

    if sink is not None and sink.count and not wrote():
        _say(f"错误：无法写入标准输出：{CLOSED}（可改用 -o 写入文件）")
        sys.exit(1)


def utf8_mode() -> None:
    """File names, arguments and standard output are UTF-8 whatever the locale (a GB18030 locale would
    read a folder's UTF-8 names as other names, a Latin-1 one could not write Chinese at all): outside
    Python's UTF-8 mode, run again in it, with the same arguments and the same process id. Under a UTF-8
    locale everything is UTF-8 already (cli.run sets standard output to UTF-8 in any case)."""
    utf8 = sys.getfilesystemencoding() == "utf-8" and locale.getpreferredencoding(False).lower() in ("utf-8", "utf8")
    if not sys.flags.utf8_mode and not utf8 and os.name == "posix":
        os.execv(sys.executable, [sys.executable, "-X", "utf8", *sys.orig_argv[1:]])


def check_arguments(args: list[str]) -> None:
    for arg in args:
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            shown = arg.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            _say(f"错误：{terminal(f'命令行参数 “{shown}” 含有不是 UTF-8 编码的字节')}"
                 "（请把终端设为 UTF-8 编码，如 LC_ALL=zh_CN.UTF-8，再重新输入）")
            sys.exit(2)


def terminated(signum: int, frame: object) -> None:
    """SIGTERM as an exit that unwinds: every write in progress removes its temporary file on the way out."""
    sys.exit(128 + signum)
