"""click's own words in Chinese: usage errors (and, through the command's context, its help)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

import click
import click.formatting


def usage_text(exc: click.UsageError) -> str:
    """click's own usage errors, in Chinese: install() makes this the message of every usage error click
    words itself, so `cli.run` and click's own way of showing them (CliRunner, `main()`) say the same."""
    if isinstance(exc, click.MissingParameter) and exc.param is not None:
        param = exc.param
        named = " / ".join(param.opts) if isinstance(param, click.Option) else param.human_readable_name
        extra = param.type.get_missing_message(param=param, ctx=exc.ctx)
        return f"缺少{'选项' if isinstance(param, click.Option) else '参数'} {named}" + (f"（{extra}）" if extra else "")
    if isinstance(exc, click.NoSuchOption):
        return f"没有选项 {exc.option_name}" + _suggest(exc.possibilities)
    if isinstance(exc, click.BadParameter):
        if exc.param is None and exc.param_hint is None:
            return f"取值无效：{exc.message}"
        name = exc.param.get_error_hint(exc.ctx) if exc.param else exc.param_hint
        if exc.param is not None and isinstance(exc.param.type, click.Choice):
            return f"参数 {name} 应为 {'、'.join(map(str, exc.param.type.choices))} 之一"
        return f"参数 {name} 的取值无效：{exc.message}"
    if hasattr(exc, "command_name"):  # NoSuchCommand (click 8.4 and later)
        return f"没有命令 {exc.command_name}" + _suggest(getattr(exc, "possibilities", None))
    return exc.message


def _suggest(possible: list[str] | None) -> str:
    return f"（是否要用 {'、'.join(sorted(possible))}？）" if possible else ""


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
    "Did you mean {possibility}?": "是否要用 {possibility}？",
    "(Did you mean one of: {possibilities}?)": "（是否要用以下之一：{possibilities}？）",
    "Missing parameter: {param_name}": "缺少参数：{param_name}",
    "Could not open file {filename!r}: {message}": "无法打开文件 {filename!r}：{message}",
    "unknown error": "未知错误",
    "Option {name!r} does not take a value.": "选项 {name!r} 不带取值。",
    "Argument {name!r} takes {nargs} values.": "参数 {name!r} 需要 {nargs} 个值。",
    "Invalid start character for option ({option})": "选项的开头字符无效（{option}）",
    "Value must be an iterable.": "取值应为一组值。",
    "Takes {nargs} values but 1 was given.": "需要 {nargs} 个值，只给出了 1 个。",
    "Takes {nargs} values but {len} were given.": "需要 {nargs} 个值，给出了 {len} 个。",
    "{len_type} values are required, but {len_value} was given.": "需要 {len_type} 个值，给出了 {len_value} 个。",
    "{len_type} values are required, but {len_value} were given.": "需要 {len_type} 个值，给出了 {len_value} 个。",
    "{value!r} is not {choice}.": "{value!r} 不是 {choice}。",
    "{value!r} is not one of {choices}.": "{value!r} 不是 {choices} 之一。",
    "Choose from:\n\t{choices}": "可选：\n\t{choices}",
    "{value!r} does not match the format {format}.": "{value!r} 不符合格式 {format}。",
    "{value!r} does not match the formats {formats}.": "{value!r} 不符合以下任一格式：{formats}。",
    "{value!r} is not a valid boolean. Recognized values: {states}": "{value!r} 不是有效的是/否值，可用：{states}",
    "{value!r} is not a valid UUID.": "{value!r} 不是有效的 UUID。",
    "{name} {filename!r} is not readable.": "{name} {filename!r} 无法读取。",
    "{name} {filename!r} is not writable.": "{name} {filename!r} 无法写入。",
    "{name} {filename!r} is not executable.": "{name} {filename!r} 不能执行。",
    "Do you want to continue?": "是否继续？",
    "Confirm the action without prompting.": "不经询问，直接确认。",
    "%(prog)s, version %(version)s": "%(prog)s 版本 %(version)s",
    "Repeat for confirmation": "请再输入一次以确认",
    "Error: The two entered values do not match.": "错误：两次输入的不一致。",
    "Error: invalid input": "错误：输入无效",
    "Press any key to continue...": "按任意键继续……",
    "DeprecationWarning: The command {name!r} is deprecated.{extra_message}": "注意：命令 {name!r} 已停用。{extra_message}",
    "DeprecationWarning: The {param_type} {name!r} is deprecated.{extra_message}":
        "注意：{param_type} {name!r} 已停用。{extra_message}",
    "Shell completion is not supported for Bash versions older than 4.4.": "Bash 4.4 以前的版本不支持命令补全。",
    "Couldn't detect Bash version, shell completion is not supported.": "无法确定 Bash 的版本，不支持命令补全。",
    "{editor}: Editing failed": "{editor}：编辑失败",
    "{editor}: Editing failed: {e}": "{editor}：编辑失败：{e}",
    "Windows error: {error}": "Windows 错误：{error}",
    "d": "天",
}

# The names click gives its value types in messages ("'abc' is not a valid integer").
TYPE_NAMES: dict[type, str] = {click.types.IntParamType: "整数", click.types.IntRange: "整数", click.types.FloatParamType: "数值",
              click.types.FloatRange: "数值", click.types.BoolParamType: "是/否值", click.types.UUIDParameterType: "UUID",
              click.types.DateTime: "日期时间", click.types.StringParamType: "文本"}


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
    import click._termui_impl
    import click.core
    import click.decorators
    import click.exceptions
    import click.formatting
    import click.parser
    import click.shell_completion
    import click.termui
    import click.types

    for module in (click.core, click.decorators, click.exceptions, click.formatting, click.parser, click.types,
                   click.termui, click.shell_completion, click._termui_impl):
        for name, value in (("_", word), ("ngettext", words)):
            if hasattr(module, name):
                setattr(module, name, value)
    click.Context.formatter_class = Formatter
    for kind, name in TYPE_NAMES.items():
        setattr(kind, "name", name)  # noqa: B010 - a class attribute click reads when it words a message
    no_command = getattr(click.exceptions, "NoSuchCommand", None)
    for error in (click.BadParameter, click.MissingParameter, click.NoSuchOption, *([no_command] if no_command else [])):
        setattr(error, "format_message", usage_text)  # noqa: B010
