"""click's own words in Chinese: usage errors (and, through the command's context, its help)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

import click
import click.formatting


def usage_text(exc: click.UsageError) -> str:
    """click's own usage errors, in Chinese."""
    if isinstance(exc, click.MissingParameter) and exc.param is not None:
        return f"缺少参数 {exc.param.human_readable_name}"
    if isinstance(exc, click.NoSuchOption):
        return f"没有选项 {exc.option_name}"
    if isinstance(exc, click.BadParameter) and exc.param is not None:
        name = exc.param.get_error_hint(exc.ctx) if exc.ctx else exc.param.human_readable_name
        if isinstance(exc.param.type, click.Choice):
            return f"参数 {name} 应为 {'、'.join(map(str, exc.param.type.choices))} 之一"
        return f"参数 {name} 的取值无效：{exc.message}"
    return exc.format_message()


# click's own strings (its gettext message ids) as the command shows them.
WORDS = {
    "Usage:": "用法：",
    "Options": "选项",
    "Commands": "命令",
    "Positional arguments": "参数",
    "Show this message and exit.": "显示本帮助并退出。",
    "Show the version and exit.": "显示版本号并退出。",
    "required": "必填",
    "default: {default}": "默认：{default}",
    "env var: {var}": "环境变量：{var}",
    "(dynamic)": "（动态）",
    "deprecated": "已停用",
    "Error: {message}": "错误：{message}",
    "Try '{command} {option}' for help.": "用 {command} {option} 查看用法。",
    "Missing argument": "缺少参数",
    "Missing option": "缺少选项",
    "Missing parameter": "缺少参数",
    "Missing command.": "缺少命令。",
    "Missing {param_type}": "缺少{param_type}",
    "No such command {name!r}.": "没有命令 {name!r}。",
    "No such option {name!r}.": "没有选项 {name!r}。",
    "Invalid value for {param_hint}: {message}": "{param_hint} 的取值无效：{message}",
    "Invalid value: {message}": "取值无效：{message}",
    "Aborted!": "已取消",
    "{name} {filename!r} does not exist.": "{name} {filename!r} 不存在。",
    "{name} {filename!r} is a directory.": "{name} {filename!r} 是目录。",
    "{name} {filename!r} is a file.": "{name} {filename!r} 是文件。",
    "{value!r} is not a valid {number_type}.": "{value!r} 不是有效的{number_type}。",
    "{value} is not in the range {range}.": "{value} 不在 {range} 范围内。",
    "file": "文件",
    "directory": "目录",
    "path": "路径",
    "integer": "整数",
    "Option {name!r} requires an argument.": "选项 {name!r} 需要一个值。",
    "Option {name!r} requires {nargs} arguments.": "选项 {name!r} 需要 {nargs} 个值。",
    "Got unexpected extra argument ({args})": "多余的参数（{args}）",
    "Got unexpected extra arguments ({args})": "多余的参数（{args}）",
}


def word(message: str) -> str:
    return WORDS.get(message, message)


def words(singular: str, plural: str, n: int) -> str:
    return word(singular if n == 1 else plural)


# click's placeholders for what an option or argument takes, and for the parts of a usage line.
METAVARS = {"[OPTIONS]": "[选项]", "COMMAND [ARGS]...": "命令 [参数]...", "TEXT": "文本", "FILE": "文件",
            "DIRECTORY": "目录", "PATH": "路径", "INTEGER RANGE": "整数", "INTEGER": "整数", "FLOAT": "数值"}
_METAVAR = re.compile("|".join(re.escape(k) for k in sorted(METAVARS, key=len, reverse=True)))


def placeholders(text: str) -> str:
    return _METAVAR.sub(lambda m: METAVARS[m[0]], text)


class Formatter(click.HelpFormatter):
    """Headings end with a full-width colon, as Chinese text does; click's placeholders are in Chinese."""

    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}{heading}：\n")

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, placeholders(args), word("Usage:") if prefix is None else prefix)

    def write_dl(self, rows: Iterable[tuple[str, str]], col_max: int = 30, col_spacing: int = 2) -> None:
        """click's two columns, measured in terminal columns: a Chinese character takes two."""
        rows = [(placeholders(term), text) for term, text in rows]
        first = min(max((columns(term) for term, _ in rows), default=0), col_max)
        indent = " " * self.current_indent
        room = max((self.width or 80) - first - col_spacing - self.current_indent, 10)
        for term, text in rows:
            self.write(f"{indent}{term}")
            if not text:
                self.write("\n")
                continue
            if columns(term) <= first:
                self.write(" " * (first - columns(term) + col_spacing))
            else:
                self.write("\n" + indent + " " * (first + col_spacing))
            lines = click.formatting.wrap_text(text, room, preserve_paragraphs=True).splitlines() or [""]
            self.write(lines[0] + "\n")
            for line in lines[1:]:
                self.write(f"{indent}{' ' * (first + col_spacing)}{line}\n")


def columns(text: str) -> int:
    """How many terminal columns the text takes."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def install() -> None:
    """Every command's help and click's own messages in Chinese: click looks its words up through the
    `_` of each of its modules at the moment it shows them, and formats help with the context's formatter."""
    import click.core
    import click.decorators
    import click.exceptions
    import click.formatting
    import click.parser
    import click.types

    for module in (click.core, click.decorators, click.exceptions, click.formatting, click.parser, click.types):
        module._ = word  # type: ignore[attr-defined]
        if hasattr(module, "ngettext"):
            module.ngettext = words  # type: ignore[attr-defined]
    click.Context.formatter_class = Formatter
