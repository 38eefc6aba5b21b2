"""Writing output files atomically: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Collection
from pathlib import Path

from .errors import ScoringError


def write_atomic(path: Path, data: bytes) -> None:
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise ScoringError("输出目录不存在", str(directory), hint="请先创建该目录")
    if path.is_dir():
        raise ScoringError("输出路径是一个目录", str(path), hint="请给出文件名，如 结果.json")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise ScoringError("无法在输出目录中创建文件", str(directory), hint="请检查目录是否可写") from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; an output file should read like any other
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise ScoringError("写入输出文件失败", str(path), hint="请检查磁盘空间和目录权限") from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_folder(path: Path, fill: Callable[[Path], None], ours: Collection[str]) -> None:
    """Make an output folder all or nothing: `fill` writes into a temporary sibling, which then takes the
    folder's place. An existing folder is replaced only when it holds nothing but names in `ours` (a
    previous run's outputs), and only after the new one is complete."""
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise ScoringError("输出目录的上级目录不存在", str(parent), hint="请先创建该目录")
    if path.exists() and (not path.is_dir() or any(p.name not in ours for p in path.iterdir())):
        raise ScoringError("输出目录已存在，且其中有不是本命令输出的文件", str(path),
                           hint="请给出一个新目录或空目录，以免覆盖其他文件")
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=parent))
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
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ScoringError("写入输出目录失败", str(path), hint="请检查磁盘空间和目录权限") from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
