"""Writing outputs. Every output is checked in one place before any work (a regular file or a new path,
never one of the command's inputs, never another output of the same command), then written atomically:
a reader sees the old files or the new ones, never half of one, and a command writing several files
writes them all or none. A file that several programs edit (a review file: the desk and `scoring review`)
is written under an OS lock and only over the version its writer read (`replace_checked`)."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import secrets
import shutil
import socket
import stat
import tempfile
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from scoring.base.errors import ScoringError

REASONS = {errno.ENOSPC: "磁盘空间不足", errno.EDQUOT: "超出磁盘配额", errno.EACCES: "没有写入权限",
           errno.EPERM: "没有写入权限", errno.EROFS: "磁盘是只读的", errno.ENAMETOOLONG: "文件名过长",
           errno.EPIPE: "接收方已关闭"}
NAME_HINT = "请用短一些的文件名（不超过 255 字节，约 85 个汉字）"


def reason(exc: OSError) -> str:
    """An OS error in Chinese, for a message that also names the file."""
    return REASONS.get(exc.errno or 0, f"错误码 {exc.errno}")


def check_outputs(outputs: Sequence[Path | None], inputs: Sequence[tuple[str, Path | None]],
                  folder: bool = False) -> None:
    """Refuse, before any work, an output that is not a regular file or a new path (with `folder`, a
    folder or a new path), one that is, holds or lies inside one of the command's inputs (labelled, such
    as 材料包), and two outputs of the same command that are one file."""
    given = [p for p in outputs if p is not None]
    for k, path in enumerate(given):
        _check_target(path, folder)
        for label, source in inputs:
            if source is not None:
                _apart(path, label, source)
        if any(_same(path, other) for other in given[:k]):
            raise ScoringError("同一命令的两个输出是同一个文件", str(path), hint="请给每个输出不同的文件名")


def _check_target(path: Path, folder: bool = False) -> None:
    try:
        info = path.stat() if path.exists() else None
        parent_ok = (path.parent if str(path.parent) else Path(".")).is_dir()
    except OSError as exc:
        hint = NAME_HINT if exc.errno == errno.ENAMETOOLONG else "请检查路径"
        raise ScoringError(f"无法使用该输出路径：{reason(exc)}", str(path), hint=hint) from exc
    if not parent_ok:
        raise ScoringError("输出目录不存在", str(path.parent), hint="请先创建该目录")
    if info is not None and stat.S_ISDIR(info.st_mode) and not folder:
        raise ScoringError("输出路径是一个目录", str(path), hint="请给出文件名，如 结果.json")
    if info is not None and not stat.S_ISDIR(info.st_mode) and not stat.S_ISREG(info.st_mode):
        raise ScoringError("输出路径不是普通文件（是设备或管道）", str(path),
                           hint="输出只能写到普通文件或新文件，如 结果.json")


def _apart(output: Path, label: str, source: Path) -> None:
    if _same(output, source):
        raise ScoringError(f"输出文件不能覆盖{label}", str(output), hint="请另取一个输出文件名")
    out, src = output.resolve(), source.resolve()
    if src in out.parents:
        raise ScoringError(f"输出文件不能写在{label}内", str(output), hint=f"{label}只读，请把结果写到它之外")
    if out in src.parents:
        raise ScoringError(f"输出目录不能包含{label}", str(output), hint="请另给一个输出目录")


def _same(a: Path, b: Path) -> bool:
    """One file under two names: the same path, a symbolic link or a hard link."""
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def write_atomic(path: Path, data: bytes) -> None:
    write_all([(path, data)])


def write_all(files: Sequence[tuple[Path, bytes]]) -> None:
    """Each file written in full and synced first, unnamed where the file system allows (`O_TMPFILE`),
    then all put in place: a failure while writing any of them (a full disk, a signal) leaves every output
    as it was, and even SIGKILL leaves no file behind but, at worst, a name of ours that the next write to
    the folder removes."""
    global _wrote
    for path, _ in files:
        _check_target(path)
    staged: list[tuple[int | str, Path]] = []
    named: list[str] = []
    current = files[0][0]
    try:
        for current, data in files:
            staged.append((_stage(current, data), current))
        for (tmp, current), (_, data) in zip(staged, files, strict=True):
            named.append(_name(tmp, current, data))
            os.replace(named[-1], current)
        _wrote = True
    except OSError as exc:
        hint = NAME_HINT if exc.errno == errno.ENAMETOOLONG else "请检查磁盘空间和目录权限"
        raise ScoringError(f"写入输出文件失败：{reason(exc)}", str(current), hint=hint) from exc
    finally:
        for tmp, _ in staged:
            if isinstance(tmp, int):
                os.close(tmp)
        for name in (*named, *(t for t, _ in staged if isinstance(t, str))):
            Path(name).unlink(missing_ok=True)


def wrote() -> bool:
    """Whether this process has put an output in place (the command's work is on disk, not on the screen)."""
    return _wrote


_wrote = False
# What a write of ours is called while it has a name: .scoring-tmp.<host>.<pid>.<output name>.<random>,
# so the next write to the folder knows it from anyone else's file and knows when its writer is gone.
TEMP_PREFIX = ".scoring-tmp."


def _stage(path: Path, data: bytes) -> int | str:
    """`data` in a new file in `path`'s folder, synced: an open file without a name (`O_TMPFILE`, its
    descriptor returned) where the file system allows, else a file named ours (its name returned)."""
    directory = _folder(path)
    sweep(directory)
    unnamed = getattr(os, "O_TMPFILE", 0)
    try:
        fd = os.open(directory, unnamed | os.O_WRONLY | os.O_CLOEXEC, 0o666) if unnamed else -1
    except OSError:  # a file system without unnamed files (or a real problem, which the named file meets)
        fd = -1
    if fd < 0:
        return _named(path, data)
    try:
        _fill(fd, data)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _named(path: Path, data: bytes) -> str:
    """`data` in a new file beside `path` with a name of ours, synced."""
    fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path), dir=_folder(path))
    try:
        _fill(fd, data)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; an output file should read like any other
    except BaseException:
        os.close(fd)
        Path(tmp).unlink(missing_ok=True)
        raise
    os.close(fd)
    return tmp


def _fill(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    os.fsync(fd)


def _name(staged: int | str, path: Path, data: bytes) -> str:
    """A name of ours beside `path` for what `_stage` wrote, for `os.replace` to move onto `path` (a link
    cannot replace a file): an unnamed file gets one through /proc (linkat), else it is written again."""
    if isinstance(staged, str):
        return staged
    name = str(_folder(path) / f"{_temp_prefix(path)}{secrets.token_hex(4)}")
    try:
        os.link(f"/proc/self/fd/{staged}", name, follow_symlinks=True)
    except OSError:  # no /proc
        return _named(path, data)
    return name


def _folder(path: Path) -> Path:
    return path.parent if str(path.parent) else Path(".")


def _temp_prefix(path: Path) -> str:
    """Ours, this machine's and this process's; the output's name (short enough for any legal `path`)."""
    return f"{TEMP_PREFIX}{_HOST}.{os.getpid()}.{path.name[:40]}."


_HOST = hashlib.sha256(socket.gethostname().encode("utf-8", "surrogateescape")).hexdigest()[:8]


def sweep(directory: Path) -> None:
    """Remove what writes of ours on this machine left in `directory` when they were killed (SIGKILL, a
    power cut): a name of ours whose process is gone. Another machine's (a shared folder) is left alone."""
    try:
        entries = [e for e in os.scandir(directory) if e.name.startswith(f"{TEMP_PREFIX}{_HOST}.")]
    except OSError:
        return
    for entry in entries:
        pid = entry.name[len(TEMP_PREFIX) + len(_HOST) + 1:].split(".", 1)[0]
        if pid.isdigit() and not _running(int(pid)):
            try:
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path)
                else:
                    os.unlink(entry.path)
            except OSError:
                continue  # another writer removed it first: harmless


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # someone else's process: alive
    return True


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_folder(path: Path, fill: Callable[[Path], None], ours: Collection[str]) -> None:
    """Make an output folder all or nothing: `fill` writes into a temporary sibling, which then takes the
    folder's place. An existing folder is replaced only when it holds nothing but names in `ours` (a
    previous run's outputs), and only after the new one is complete."""
    global _wrote
    _check_target(path, folder=True)
    parent = path.parent if str(path.parent) else Path(".")
    if path.exists() and (not path.is_dir() or any(p.name not in ours for p in path.iterdir())):
        raise ScoringError("输出目录已存在，且其中有不是本命令输出的文件", str(path),
                           hint="请给出一个新目录或空目录，以免覆盖其他文件")
    sweep(parent)
    tmp = Path(tempfile.mkdtemp(prefix=_temp_prefix(path), dir=parent))
    try:
        fill(tmp)
        os.chmod(tmp, 0o777 & ~_umask())
        if path.exists():
            old = tmp.with_name(tmp.name + ".old")
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old)
        else:
            os.replace(tmp, path)
        _wrote = True
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ScoringError(f"写入输出目录失败：{reason(exc)}", str(path), hint="请检查磁盘空间和目录权限") from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


# ---------------------------------------------------------------- files several programs write


def lock_file(path: Path) -> Path:
    """The lock of `path`: a hidden file beside it (beside a link's target), 高青县_初评.yaml →
    .高青县_初评.yaml.lock. It is never removed: a removed lock file would let two programs each lock a
    file of their own."""
    real = path.resolve()
    return real.with_name(f".{real.name}.lock")


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive OS lock for writing `path`, held until the block ends however it ends: every process
    that writes `path` through this function (each desk, each `scoring review` command) takes its turn.
    The OS drops the lock when a process dies."""
    try:
        fd = os.open(lock_file(path), os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        raise ScoringError(f"无法锁定文件以写入：{reason(exc)}", str(path), hint="请检查目录权限") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def digest(path: Path) -> str:
    """The SHA-256 of a file's bytes; "" when there is no such file."""
    made = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                made.update(chunk)
    except FileNotFoundError:
        return ""
    except OSError as exc:
        raise ScoringError(f"无法读取文件：{reason(exc)}", str(path)) from exc
    return made.hexdigest()


def replace_checked(path: Path, data: bytes, seen: str) -> None:
    """Write `path` atomically under its lock, only if it is still the version read before the work began
    (`seen`, its `digest`; "" for no file): a change another program made meanwhile (a save in the review
    desk) is never overwritten unseen, the write is refused instead."""
    with locked(path):
        if digest(path) != seen:
            raise ScoringError("文件在本命令运行期间已被修改（可能是评审工作台刚保存了评审意见），未写入", str(path),
                               hint="请查看该文件的最新内容后重新运行本命令")
        write_atomic(path, data)
