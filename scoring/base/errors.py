"""The one error type the library raises; the CLI turns it into exit code 1."""

from __future__ import annotations

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
