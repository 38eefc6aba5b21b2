"""JSON Schema validation with Chinese messages that name the file, the line and the path; and every
string of a file from outside checked for control characters and made safe to show."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import cache
from importlib import resources
from pathlib import Path as PathLike
from typing import Any, Protocol

from scoring.base import limits, text
from scoring.base.errors import ScoringError, ScoringErrors
from scoring.base.text import excerpt
from scoring.domain.model import Line, Path
from scoring.loading import readers
from scoring.loading.yamlio import YamlDoc, load_yaml

TYPE_NAMES = {"object": "映射（键: 值）", "array": "列表", "string": "文本", "number": "数字",
              "integer": "整数", "boolean": "true 或 false", "null": "空值"}

# What each pattern of our schemas allows, in words: a message never quotes a regular expression.
_HEX = "0–9、a–f"
PATTERN_WORDS = {
    "^[A-Za-z][A-Za-z0-9_]*$": "编号只能含英文字母、数字和下划线（_），以英文字母开头，不含空格和汉字",
    "^[a-z][a-z0-9_]*$": "名称只能含小写英文字母、数字和下划线（_），以小写字母开头，如 floor_area",
    "^[0-9A-Za-z][0-9A-Za-z._-]*$": "指标编号只能含英文字母、数字、点（.）、下划线（_）和连字符（-），以字母或数字开头，如 1.1",
    "^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$": "编号只能含英文字母、数字、点（.）、下划线（_）和连字符（-），以字母或数字开头，"
                                          "至多 40 个字符，如 C001",
    "^[A-Za-z0-9_.-]+$": "文件编号只能含英文字母、数字、点（.）、下划线（_）和连字符（-），如 D01",
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}$": "日期应写作 年-月-日，如 2022-12-05",
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}([+-][0-9]{2}:[0-9]{2}|Z)$":
        "时间应精确到秒并带时区，如 2022-12-05T09:30:00+08:00",
    "^[0-9a-fA-F]{64}$": f"SHA-256 应为 64 位十六进制数字（{_HEX}）",
    "^[0-9a-f]{64}$": f"SHA-256 应为 64 位十六进制数字（{_HEX}）",
    "^([0-9a-f]{64})?$": f"SHA-256 应为 64 位十六进制数字（{_HEX}）或空",
    "^[0-9a-f]{16}$": f"应为 16 位十六进制数字（{_HEX}）",
}


class Manifest(Protocol):
    """Data with a place for each part: a YAML file (lines) or a workbook (cells)."""

    data: Any
    name: str

    @property
    def lines(self) -> Mapping[Path, Line]: ...

    def line(self, path: Path) -> Line | None: ...


@cache
def schema(name: str) -> dict[str, Any]:
    text = resources.files("scoring.schemas").joinpath(f"{name}.schema.json").read_text("utf-8")
    result: dict[str, Any] = json.loads(text)
    return result


@cache
def _validator(name: str) -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(schema(name))


def load_checked(path: PathLike, schema_name: str, label: str, unreadable: str,
                 hint: str) -> tuple[bytes, YamlDoc]:
    """Read a YAML file of ours (a rubric, a test case's expectations) and check it against its schema."""
    raw = readers.read_regular(path, limits.MANIFEST_BYTES, label + "文件", hint, unreadable)
    doc = load_yaml(raw, str(path))
    check(doc, schema_name, label)
    return raw, doc


def path_text(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "（根）"


def _message(error: Any) -> str:
    kind, expected, value = error.validator, error.validator_value, error.instance
    if kind == "required":
        missing = [k for k in expected if isinstance(value, dict) and k not in value]
        return f"缺少必填项 “{'、'.join(missing)}”"
    if kind == "additionalProperties":
        extra = sorted(set(value) - set(error.schema.get("properties", {})))
        return f"不认识的键 “{'、'.join(extra)}”，请检查拼写"
    if kind == "type":
        names = expected if isinstance(expected, list) else [expected]
        return f"类型错误：应为{'或'.join(TYPE_NAMES.get(str(n), str(n)) for n in names)}，实际为 {excerpt(repr(value))}"
    if kind in ("enum", "const"):
        allowed = expected if kind == "enum" else [expected]
        return f"取值 {excerpt(repr(value))} 无效，应为 {'、'.join(map(str, allowed))} 之一"
    if kind == "pattern":
        return f"格式不符：{excerpt(repr(value))}（{PATTERN_WORDS.get(expected, '请按说明填写')}）"
    if kind in ("minimum", "exclusiveMinimum"):
        return f"数值 {excerpt(str(value))} 过小，应{'大于等于' if kind == 'minimum' else '大于'} {expected}"
    if kind in ("maximum", "exclusiveMaximum"):
        return f"数值 {excerpt(str(value))} 过大，应{'小于等于' if kind == 'maximum' else '小于'} {expected}"
    if kind in ("minItems", "minProperties", "minLength"):
        return "不能为空"
    if kind in ("maxItems", "maxLength"):
        return f"过长（上限 {expected}）"
    if kind == "not":
        return "此处不应出现该项"
    return f"不符合格式要求（{kind}）"


# The keywords a compiled draft-07 validator checks as jsonschema's 2020-12 one does (dependentRequired is
# draft-07's dependencies under a new name). The documents read many at a time (bundles in a batch, review
# files in a summary or on the desk) are first checked by the compiled validator, several times faster on
# a valid document; a document it refuses goes through jsonschema, which decides and gives the messages.
# Where the two could differ, the compiled one is the stricter (uniqueItems takes true for 1; a numeric enum
# or const takes no Decimal), so nothing is accepted that jsonschema refuses. A rubric or a programme is read
# once per command, and compiling its schema (0.14 s for the rubric's) would cost more than checking it once.
COMPILED = ("bundle", "review")
FAST_KEYWORDS = {"$defs", "$id", "$ref", "$schema", "additionalProperties", "allOf", "anyOf", "const",
                 "dependentRequired", "description", "else", "enum", "exclusiveMaximum", "exclusiveMinimum",
                 "if", "items", "maxItems", "maxLength", "maxProperties", "maximum", "minItems", "minLength",
                 "minProperties", "minimum", "not", "oneOf", "pattern", "properties", "propertyNames",
                 "required", "then", "title", "type", "uniqueItems"}
_NAMED = ("properties", "$defs", "dependentRequired")  # keywords whose keys are names, not keywords


@cache
def _fast(name: str) -> Any:
    """The compiled validator for one of COMPILED that uses only FAST_KEYWORDS, else None."""
    found = _keywords(schema(name))
    if name not in COMPILED or not found <= FAST_KEYWORDS or _ref_with_siblings(schema(name)):
        return None
    import fastjsonschema

    draft7 = {**_draft7(schema(name)), "$schema": "http://json-schema.org/draft-07/schema#"}
    return fastjsonschema.compile(draft7)


def _draft7(node: Any) -> Any:
    if isinstance(node, list):
        return [_draft7(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {("dependencies" if key == "dependentRequired" else key): _draft7(value) for key, value in node.items()}


def _ref_with_siblings(node: Any) -> bool:
    """Draft 7 ignores the keywords beside a $ref; 2020-12 applies them."""
    if isinstance(node, list):
        return any(_ref_with_siblings(item) for item in node)
    if not isinstance(node, dict):
        return False
    if "$ref" in node and set(node) - {"$ref", "description", "title"}:
        return True
    return any(_ref_with_siblings(v) for v in node.values())


def _keywords(node: Any) -> set[str]:
    if isinstance(node, list):
        return {k for item in node for k in _keywords(item)}
    if not isinstance(node, dict):
        return set()
    found = set(node)
    for key, value in node.items():
        children = value.values() if key in _NAMED and isinstance(value, dict) else [value]
        found |= {k for child in children for k in _keywords(child)}
    return found


def check(doc: Manifest, schema_name: str, label: str) -> None:
    """Raise ScoringErrors with every schema violation in `doc`, in line order."""
    fast = _fast(schema_name)
    if fast is not None:
        from fastjsonschema import JsonSchemaException

        try:
            fast(doc.data)
            return
        except JsonSchemaException:
            pass  # jsonschema says what is wrong, and where
    errors = list(_validator(schema_name).iter_errors(doc.data))
    if not errors:
        return
    found: dict[str, ScoringError] = {}
    leaves = _leaves(errors)
    types, typed = _types_by_place(leaves), set()
    for error in leaves:
        path = tuple(error.absolute_path)
        if error.validator == "type" and len(types.get(path, ())) > 1:
            if path in typed:
                continue  # one message for the place, naming every type it takes
            typed.add(path)
            error = _Typed(types[path], error.instance)
        item = ScoringError(_message(error), doc.name, doc.line(path), f"{label} {path_text(path)}",
                            _usual_way(error.instance))
        found.setdefault(str(item), item)
    # A YAML file's errors in line order; a workbook's as the schema found them (sheet by sheet).
    raise ScoringErrors(sorted(found.values(), key=lambda e: e.line if isinstance(e.line, int) else 0))


class _Typed:
    """The alternatives of an anyOf refused for their types at one place, as one type error."""

    validator = "type"

    def __init__(self, expected: list[Any], instance: Any) -> None:
        names = [n for e in expected for n in (e if isinstance(e, list) else [e])]
        self.validator_value = list(dict.fromkeys(names))
        self.instance = instance


def _types_by_place(leaves: list[Any]) -> dict[tuple[Any, ...], list[Any]]:
    """Each place's expected types over every type error there: one mistake, however many alternatives."""
    out: dict[tuple[Any, ...], list[Any]] = {}
    for error in leaves:
        if error.validator == "type":
            out.setdefault(tuple(error.absolute_path), []).append(error.validator_value)
    return out


def _usual_way(value: Any) -> str | None:
    """The usual way round a value written as people write it but not as the file takes it."""
    if isinstance(value, str) and value.strip().endswith(("%", "％")):
        return f"百分比只写数字，不带 %：如 {value.strip().rstrip('%％')}"
    return None


def _leaves(errors: list[Any]) -> list[Any]:
    # anyOf/oneOf failures carry the useful sub-errors in their context.
    out: list[Any] = []
    for error in errors:
        out.extend(_leaves(list(error.context)) if error.context else [error])
    return out


def clean(value: Any, doc: Manifest, path: Path = ()) -> Any:
    """Every string of a file from outside (a bundle, a review, a programme, last year's ratings) checked
    for control characters (keys too) and made safe to show."""
    if not path and isinstance(doc, YamlDoc) and doc.plain:
        return value  # no string in the file can need it
    if isinstance(value, str):
        if text.ordinary(value):
            return value
        return clean_text(value, doc.name, lambda _: doc.line(path), path_text(path))
    if isinstance(value, dict):
        for key in value:
            clean(key, doc, (*path, key))  # a key is refused like any text, but kept as written
        return {k: clean(v, doc, (*path, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [clean(v, doc, (*path, i)) for i, v in enumerate(value)]
    return value


def clean_text(given: str, name: str, line: Callable[[int], Line | None], where: str | None) -> str:
    """Text from outside with a control character refused, naming where (the character's line in a text
    file); line breaks become newlines and a right-to-left string is isolated (`text.clean`)."""
    bad = text.refused(given)
    if bad is not None:
        raise ScoringError(f"文本中有不允许的控制字符 {text.code(bad)}", name, line(given.index(bad)), where,
                           hint="请删去该字符；从 Word 等处复制的文字可改为纯文本粘贴")
    return text.clean(given)
