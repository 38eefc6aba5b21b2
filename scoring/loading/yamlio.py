"""Safe YAML loading for untrusted files.

PyYAML's SafeLoader still keeps the last of two duplicate keys silently, expands aliases (a few
lines can describe billions of nodes), builds whatever an explicit tag asks for and turns floats into
binary floats. This loader refuses duplicates, aliases and tags, reads decimals exactly, keeps dates as
ISO strings, records the line of every node so schema errors can name it, and words the parser's own
problems in Chinese.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from scoring.base import limits
from scoring.base.errors import ScoringError
from scoring.base.numbers import MAX_DIGITS, accepted, refused
from scoring.base.text import ordinary
from scoring.domain.model import Path, line_at
from scoring.loading import readers

# libyaml's parser and composer when PyYAML was built with it (several times faster); the checks
# below do not depend on which one runs.
_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[valid-type, misc]
    pass


# Dates stay strings (the schemas check their form).
_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


MAX_DEPTH = 50
NON_FINITE = {".inf", ".nan"}  # YAML's spellings of infinity and NaN, whatever their case and sign


def _decimal(node: ScalarNode) -> Decimal | str:
    text = str(node.value).replace("_", "")
    try:
        value = Decimal(text)
    except ArithmeticError:
        if text.lstrip("+-").lower() in NON_FINITE:
            raise refused(str(node.value), None, node.start_mark.line + 1, finite=False) from None
        return text  # a sexagesimal 1:30 resolves as a float too: it stays text, as the schemas see it
    return accepted(value, str(node.value), None, node.start_mark.line + 1)


def _int(loader: yaml.SafeLoader, node: ScalarNode) -> int:
    line = node.start_mark.line + 1
    if len(str(node.value)) > MAX_DIGITS:  # checked before the digits are converted: that is quadratic
        raise refused(str(node.value), None, line)
    try:
        value = int(yaml.SafeLoader.construct_yaml_int(loader, node))
    except ValueError as exc:  # 0x_ and 0b_ look like integers to the resolver but have no digits
        raise ScoringError(f"数值 {str(node.value)[:30]} 无法解析", None, line,
                           hint="十六进制、二进制数请写出数字，或直接写十进制数") from exc
    accepted(value, str(node.value), None, line)
    return value


_TAG = "tag:yaml.org,2002:"
_CONSTANTS: dict[str, Any] = {"true": True, "false": False, "yes": True, "no": False, "on": True, "off": False}


class YamlDoc:
    """Parsed data plus the line (1-based) of every mapping key and list item. `plain`: the file holds
    no backslash and no character text.ordinary excludes, so neither can any of its strings (a YAML
    string is made of the file's characters, or of escapes, which need a backslash)."""

    def __init__(self, data: Any, lines: dict[Path, int], name: str, plain: bool = False) -> None:
        self.data = data
        self.lines = lines
        self.name = name
        self.plain = plain

    def line(self, path: Path) -> int | None:
        return line_at(self.lines, path)


def _build(node: Node, path: Path, lines: dict[Path, int], name: str, loader: yaml.SafeLoader) -> Any:
    """The data of a node, built in the one walk that records each node's line and refuses duplicate
    keys, merge keys and deep nesting. Keys are always the text as written: `1.10:` stays "1.10".
    Dates stay strings (the schemas check their form); floats become exact decimals."""
    lines.setdefault(path, node.start_mark.line + 1)
    if len(path) > MAX_DEPTH:
        raise ScoringError(f"嵌套层级过深（超过 {MAX_DEPTH} 层）", name, node.start_mark.line + 1)
    if isinstance(node, ScalarNode):
        tag = node.tag
        if tag == _TAG + "str":
            return node.value
        if tag == _TAG + "int":
            return _int(loader, node)
        if tag == _TAG + "float":
            return _decimal(node)
        if tag == _TAG + "bool":
            return _CONSTANTS[node.value.lower()]
        if tag == _TAG + "null":
            return None
        return loader.construct_object(node)  # anything else is refused there, with its line
    if isinstance(node, SequenceNode):
        return [_build(item, (*path, i), lines, name, loader) for i, item in enumerate(node.value)]
    if not isinstance(node, MappingNode):
        return loader.construct_object(node)
    data: dict[str, Any] = {}
    seen: dict[str, int] = {}
    for key, value in node.value:
        if not isinstance(key, ScalarNode):
            raise ScoringError("键必须是文本，不能是列表或映射", name, key.start_mark.line + 1)
        k = str(key.value)
        if k == "<<":
            raise ScoringError("不支持 YAML 合并键（<<）", name, key.start_mark.line + 1, hint="请把内容直接写出")
        if k in seen:
            raise ScoringError(f"键 “{k}” 重复出现（第一次在第 {seen[k]} 行）", name,
                               key.start_mark.line + 1, hint="同一层级的键只能出现一次，请合并或删除其中一个")
        seen[k] = key.start_mark.line + 1
        data[k] = _build(value, (*path, k), lines, name, loader)
        lines[(*path, k)] = key.start_mark.line + 1
    return data


def _decoded(text: bytes | str, name: str) -> str:
    """The text within the size limit, decoded from UTF-8 (a byte-order mark allowed)."""
    if len(text) > limits.MANIFEST_BYTES:
        raise ScoringError(f"文件过大（{len(text)} 字节，上限 {limits.MANIFEST_BYTES} 字节）", name,
                           hint="清单文件只记录数据，佐证材料请作为单独文件放在材料包中")
    return readers.decode_utf8(text, name) if isinstance(text, bytes) else text


def load_yaml(text: bytes | str, name: str) -> YamlDoc:
    """Parse one YAML document from untrusted text; raise ScoringError naming `name` and the line."""
    text = _decoded(text, name)
    loader = None
    try:
        if _MAY_REFER.search(text) or _Base is yaml.SafeLoader:
            _scan(text, name)  # anchors, aliases, tags, or a composer without libyaml's nesting limit
        loader = _Loader(text)
        node = loader.get_single_node()
        if node is None:
            return YamlDoc(None, {(): 1}, name)
        lines: dict[Path, int] = {}
        data = _build(node, (), lines, name, loader)
    except ScoringError as exc:
        exc.file = exc.file or name
        raise
    except yaml.MarkedYAMLError as exc:
        # A key without its colon is noticed only on a later line; the key's own line is the one to fix.
        key = "simple key" in str(exc.context)
        mark = (exc.context_mark if key else None) or exc.problem_mark or exc.context_mark
        said = _parser_problem(exc)
        raise ScoringError(f"YAML 格式错误：{said}" if said else "YAML 格式错误", name,
                           mark.line + 1 if mark else None, hint=None if said else "请检查缩进、冒号和引号") from exc
    except yaml.reader.ReaderError as exc:
        at = text.find(chr(exc.character)) if isinstance(exc.character, int) else -1  # libyaml counts bytes
        line = text.count("\n", 0, at) + 1 if at >= 0 else None
        raise ScoringError(f"文件中有不允许的控制字符 U+{exc.character:04X}", name, line,
                           hint="请删去该字符，或从 Word 等处复制时改为纯文本粘贴") from exc
    except yaml.YAMLError as exc:
        raise ScoringError("YAML 格式错误", name, hint="请检查缩进、冒号和引号") from exc
    except (ValueError, TypeError, ArithmeticError) as exc:  # a last net: each constructor names its line
        raise ScoringError("YAML 中有无法解析的取值", name, hint="请直接写出数值或文本") from exc
    finally:
        if loader is not None:
            loader.dispose()
    return YamlDoc(data, lines, name, "\\" not in text and ordinary(text))


# The parser's English problems in Chinese, by a fragment of the text (libyaml's and PyYAML's wordings);
# anything else is shown as a bare YAML 格式错误 with its line.
PARSER_PROBLEMS = (
    ("mapping values are not allowed", "这里不能写 “键: 值”：可能是缩进不对，或文本中的 “: ” 需要加引号"),
    ("could not find expected ':'", "找不到键后的冒号 “:”：可能是缺少冒号，或引号、括号没有闭合"),
    ("that cannot start any token", "有不能出现在这里的字符：缩进不能用制表符（Tab），以 @ 或 ` 开头的文本要加引号"),
    ("found a tab character", "缩进不能用制表符（Tab），请改用空格"),
    ("did not find expected key", "这一行不是同一层的 “键: 值”：请检查缩进是否对齐，或是否多了引号、括号"),
    ("expected <block end>", "这一行不是同一层的 “键: 值”：请检查缩进是否对齐，或是否多了引号、括号"),
    ("did not find expected '-' indicator", "列表项缩进不一致，或列表中混入了 “键: 值”"),
    ("sequence entries are not allowed", "这里不能写列表项 “- ”：可能是缩进不对"),
    ("expected ',' or ']'", "方括号 [ ] 没有闭合，或其中的项之间缺少逗号"),
    ("expected ',' or '}'", "花括号 { } 没有闭合，或其中的项之间缺少逗号"),
    ("found unexpected end of stream", "文件在引号或括号闭合之前就结束了"),
    ("found unknown escape character", "双引号中的反斜杠 \\ 转义无效：路径等文本请改用单引号"),
    ("found undefined alias", "不支持 YAML 锚点和别名（& 与 *）"),
    ("exceeded maximum nesting depth", f"嵌套层级过深（超过 {MAX_DEPTH} 层）"),
    ("document", "一个文件只能有一份内容：请删去 “---” 或多余的括号"),
    ("directive", "不支持以 % 开头的 YAML 指令"),
    ("tag", "不支持 YAML 标签（! 或 !!）"),
)


def _parser_problem(exc: yaml.MarkedYAMLError) -> str | None:
    problem = f"{exc.problem} {exc.context}"
    return next((chinese for english, chinese in PARSER_PROBLEMS if english in problem), None)


# Without an &, a * or a !, a document has no anchor, alias or tag; libyaml refuses nesting beyond 1000
# levels itself and _walk refuses it beyond MAX_DEPTH, so the event scan is needed only when one occurs.
_MAY_REFER = re.compile(r"[&*!]")


def _scan(text: str, name: str) -> None:
    """Refuse anchors, aliases, tags and deep nesting from the event stream, before any node is built.
    A tag (!!bool maybe, !!binary, !!python/...) would pick its own constructor, past every check here."""
    depth = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise ScoringError("不支持 YAML 锚点和别名（& 与 *）", name, _line(event),
                               hint="请把内容直接写出")
        tag = getattr(event, "tag", None)
        if tag:
            tag = tag.replace("tag:yaml.org,2002:", "!!")
            raise ScoringError(f"不支持 YAML 标签 “{tag[:40]}”", name, _line(event),
                               hint="请直接写出数值或文本，不要使用 ! 或 !! 标签")
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise ScoringError(f"嵌套层级过深（超过 {MAX_DEPTH} 层）", name, _line(event))
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _line(event: yaml.Event) -> int | None:
    return event.start_mark.line + 1 if event.start_mark else None
