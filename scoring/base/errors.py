"""The one error type the library raises; the CLI turns it into exit code 1."""

from __future__ import annotations

import errno
import os
import re

from scoring.base.text import excerpt

# A value a message quotes, “like this”: shown as a short excerpt however long the value is.
_QUOTED = re.compile(r"“([^”]*)”")


class ScoringError(Exception):
    """A problem with user input, described in Chinese, with where it happened."""

    def __init__(self, message: str, file: str | None = None, line: int | str | None = None,
                 where: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.where = where
        self.hint = hint

    def __str__(self) -> str:
        head = []
        if self.file:
            head.append(f"文件 {self.file}")
        if self.line:  # a YAML file's line, or a workbook's cell (指标填报!E12)
            head.append(f"第 {self.line} 行" if isinstance(self.line, int) else self.line)
        if self.where:
            head.append(excerpt(self.where))
        text = ("，".join(head) + "：" if head else "") + _QUOTED.sub(lambda m: f"“{excerpt(m[1])}”", self.message)
        if self.hint:
            text += f"（{self.hint}）"
        return text


class ScoringErrors(ScoringError):
    """Several problems found at once (schema errors, lint errors), most relevant first."""

    def __init__(self, errors: list[ScoringError]) -> None:
        super().__init__(errors[0].message, errors[0].file, errors[0].line, errors[0].where)
        self.errors = errors

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)


# Why a path cannot be opened, for a message that names it.
OPENING = {errno.ENOENT: "不存在", errno.ENOTDIR: "路径中有一部分不是目录", errno.EISDIR: "是目录，不是文件",
           errno.EACCES: "没有访问权限", errno.EPERM: "没有访问权限", errno.ELOOP: "符号链接循环（或链接层数过多）",
           errno.ENAMETOOLONG: "路径过长（每一级名称不超过 255 字节，约 85 个汉字）", errno.EIO: "读取出错（磁盘或网络故障）",
           errno.ENXIO: "设备不存在", errno.EMFILE: "打开的文件过多", errno.ENFILE: "打开的文件过多"}


def unopenable(exc: OSError) -> ScoringError:
    """A path the command was given (or found) that the system will not open, said as what it is and
    naming the path."""
    name = exc.filename if isinstance(exc.filename, (str, bytes, os.PathLike)) else None
    problem = OPENING.get(exc.errno or 0, f"错误码 {exc.errno}")
    return ScoringError(f"无法打开：{problem}", os.fsdecode(name) if name is not None else None,
                        hint="请检查路径是否正确、是否可以读取")
