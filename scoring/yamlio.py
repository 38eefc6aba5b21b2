"""Safe YAML loading for untrusted files.

PyYAML's SafeLoader still keeps the last of two duplicate keys silently, expands aliases (a few
lines can describe billions of nodes) and turns floats into binary floats. This loader refuses
duplicates and aliases, reads decimals exactly, keeps dates as ISO strings, and records the line of
every node so schema errors can name it.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .errors import ScoringError
from .model import Path, line_at

MAX_YAML_BYTES = 2 * 1024 * 1024


# libyaml's parser and composer when PyYAML was built with it (several times faster); the checks
# below do not depend on which one runs.
_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[valid-type, misc]
    pass


# Dates stay strings (the schemas check their form); floats become exact decimals.
_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


MAX_DIGITS = 15  # points and rates need far fewer; more only serves to overflow later arithmetic
MAX_DEPTH = 50


def _number_error(node: Node) -> ScoringError:
    return ScoringError(f"数值 {str(node.value)[:30]} 位数过多或超出范围", None, node.start_mark.line + 1,
                        hint=f"数值最多 {MAX_DIGITS} 位有效数字")


def _decimal(loader: yaml.SafeLoader, node: ScalarNode) -> Decimal | str:
    text = str(loader.construct_scalar(node)).replace("_", "")
    try:
        value = Decimal(text)
    except ArithmeticError:
        return text
    if not value.is_finite():
        return text
    if len(value.as_tuple().digits) > MAX_DIGITS or abs(value.adjusted()) > MAX_DIGITS:
        raise _number_error(node)
    return value


def _int(loader: yaml.SafeLoader, node: ScalarNode) -> int:
    if len(str(node.value)) > MAX_DIGITS:
        raise _number_error(node)
    return int(yaml.SafeLoader.construct_yaml_int(loader, node))


def _mapping(loader: yaml.SafeLoader, node: MappingNode) -> dict[str, Any]:
    # Keys are always the text as written: an unquoted `1.10:` stays "1.10", never 1.1.
    return {str(k.value): loader.construct_object(v, deep=True) for k, v in node.value}


_Loader.add_constructor("tag:yaml.org,2002:float", _decimal)
_Loader.add_constructor("tag:yaml.org,2002:int", _int)
_Loader.add_constructor("tag:yaml.org,2002:map", _mapping)


class YamlDoc:
    """Parsed data plus the line (1-based) of every mapping key and list item."""

    def __init__(self, data: Any, lines: dict[Path, int], name: str) -> None:
        self.data = data
        self.lines = lines
        self.name = name

    def line(self, path: Path) -> int | None:
        return line_at(self.lines, path)


def _walk(node: Node, path: Path, lines: dict[Path, int], name: str) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if len(path) > MAX_DEPTH:
        raise ScoringError(f"嵌套层级过深（超过 {MAX_DEPTH} 层）", name, node.start_mark.line + 1)
    if isinstance(node, MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            if not isinstance(key, ScalarNode):
                raise ScoringError("键必须是文本，不能是列表或映射", name, key.start_mark.line + 1)
            k = str(key.value)
            if k == "<<":
                raise ScoringError("不支持 YAML 合并键（<<）", name, key.start_mark.line + 1,
                                   hint="请把内容直接写出")
            if k in seen:
                raise ScoringError(f"键 “{k}” 重复出现（第一次在第 {seen[k]} 行）", name,
                                   key.start_mark.line + 1, hint="同一层级的键只能出现一次，请合并或删除其中一个")
            seen[k] = key.start_mark.line + 1
            _walk(value, (*path, k), lines, name)
            lines[(*path, k)] = key.start_mark.line + 1
    elif isinstance(node, SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*path, i), lines, name)


def load_yaml(text: bytes | str, name: str) -> YamlDoc:
    """Parse one YAML document from untrusted text; raise ScoringError naming `name` and the line."""
    if len(text) > MAX_YAML_BYTES:
        raise ScoringError(f"文件过大（{len(text)} 字节，上限 {MAX_YAML_BYTES} 字节）", name,
                           hint="清单文件只记录数据，佐证材料请作为单独文件放在材料包中")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ScoringError("文件不是 UTF-8 编码", name, hint="请用 UTF-8 编码保存") from exc
    loader = None
    try:
        if _MAY_REFER.search(text) or _Base is yaml.SafeLoader:
            _scan(text, name)  # anchors, aliases, or a composer without libyaml's nesting limit
        loader = _Loader(text)
        node = loader.get_single_node()
        if node is None:
            return YamlDoc(None, {(): 1}, name)
        lines: dict[Path, int] = {}
        _walk(node, (), lines, name)
        data = loader.construct_document(node)
    except ScoringError as exc:
        exc.file = exc.file or name
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise ScoringError(f"YAML 格式错误：{exc.problem or exc.context}", name, line,
                           hint="请检查缩进、冒号和引号") from exc
    except yaml.YAMLError as exc:
        raise ScoringError(f"YAML 格式错误：{exc}", name, hint="文件中可能有不可见的控制字符") from exc
    except (ValueError, TypeError, ArithmeticError) as exc:
        raise ScoringError("YAML 中有无法解析的取值（如带标签的数值 !!int）", name,
                           hint="请直接写出数值或文本，不要使用 !! 标签") from exc
    finally:
        if loader is not None:
            loader.dispose()
    return YamlDoc(data, lines, name)


# Without an & or a *, a document has no anchor and no alias; libyaml refuses nesting beyond 1000 levels
# itself and _walk refuses it beyond MAX_DEPTH, so the event scan is needed only when one of them occurs.
_MAY_REFER = re.compile(r"[&*]")


def _scan(text: str, name: str) -> None:
    """Refuse anchors, aliases and deep nesting from the event stream, before any node is built."""
    depth = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise ScoringError("不支持 YAML 锚点和别名（& 与 *）", name, _line(event),
                               hint="请把内容直接写出")
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise ScoringError(f"嵌套层级过深（超过 {MAX_DEPTH} 层）", name, _line(event))
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _line(event: yaml.Event) -> int | None:
    return event.start_mark.line + 1 if event.start_mark else None
