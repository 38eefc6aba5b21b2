"""Tailoring: a rubric that `extends:` another (a city adapting a provincial or national standard).

The base rubric is loaded and checked on its own first. The city's file then changes it: a top-level key
replaces the base's; a category or indicator with the id of one of the base's changes the keys it gives
(`drop: true` removes it) and one with a new id is added. The merged data passes the rubric schema with the
lines of the city's file, so an error in what the city wrote names its own line. What changed is worded for
`rubric check`, and each indicator the city added or changed is marked as its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scoring.base.errors import ScoringError
from scoring.loading.yamlio import YamlDoc

Place = tuple[Any, ...]
ADDED, CHANGED = "新增", "修改"


@dataclass
class _Merge:
    doc: YamlDoc
    lines: dict[Place, int] = field(default_factory=dict)
    own: dict[str, str] = field(default_factory=dict)  # indicator id -> 新增 / 修改
    notes: list[str] = field(default_factory=list)

    def carry(self, source: Place, target: Place, skip: str = "") -> None:
        """The city's lines under `source` recorded under the merged place `target` (but those under `skip`)."""
        n = len(source)
        for path, line in self.doc.lines.items():
            if path[:n] == source and not (skip and len(path) > n and path[n] == skip):
                self.lines[target + path[n:]] = line


@dataclass(frozen=True)
class Tailored:
    doc: YamlDoc  # the merged rubric, with the city's lines
    base: str  # what it extends
    own: dict[str, str]  # indicator id -> 新增 / 修改
    notes: tuple[str, ...]  # the differences, in words


def merge(doc: YamlDoc, base: YamlDoc) -> Tailored:
    """The city's rubric merged over its base."""
    m = _Merge(doc)
    data = dict(base.data)
    for key, value in doc.data.items():
        if key not in ("extends", "categories"):
            data[key] = value
            m.carry((key,), (key,))
            if key != "id":
                m.notes.append(f"改写 {key}")
    cats = _apply(m, base.data["categories"], doc.data.get("categories", []), ("categories",), "一级指标", _category)
    data["categories"] = []
    for ci, (cat, source) in enumerate(cats):
        inds = cat.pop("indicators")
        if source is not None:
            m.carry(source, ("categories", ci), skip="indicators")
        for ii, (_, src) in enumerate(inds):
            if src is not None:
                m.carry(src, ("categories", ci, "indicators", ii))
        data["categories"].append({**cat, "indicators": [i for i, _ in inds]})
    m.lines[()] = doc.line(()) or 1
    return Tailored(YamlDoc(data, m.lines, doc.name), str(doc.data["extends"]), m.own, tuple(m.notes))


Item = tuple[dict[str, Any], Place | None]  # a merged item, and the city's place it comes from (None: the base's)


def _apply(m: _Merge, base: list[Any], changes: Any, at: Place, noun: str,
           change: Callable[[_Merge, dict[str, Any], dict[str, Any], Place, bool], dict[str, Any]]) -> list[Item]:
    """The base's items with ids, each changed or dropped by the city's item of its id, then the new ones."""
    if not isinstance(changes, list):
        raise ScoringError(f"{noun}应写成列表，每项以 id 指明", m.doc.name, m.doc.line(at))
    items: list[Item | None] = [(dict(i), None) for i in base]
    for k, given in enumerate(changes):
        place = (*at, k)
        if not isinstance(given, dict) or "id" not in given:
            raise ScoringError(f"继承时每个{noun}都要写 id，说明改写、删除（drop: true）还是新增哪一项",
                               m.doc.name, m.doc.line(place))
        ident = str(given["id"])
        j = next((j for j, it in enumerate(items) if it and str(it[0]["id"]) == ident), None)
        if given.get("drop"):
            if j is None:
                raise ScoringError(f"所继承的评分细则中没有{noun} “{ident}”，无法删除", m.doc.name, m.doc.line(place),
                                   hint="请核对编号")
            items[j] = None
            m.notes.append(f"删除{noun} {ident}")
        elif j is None:
            items.append((change(m, {}, given, place, True), place))
            m.notes.append(f"新增{noun} {ident}")
        else:
            old = items[j]
            assert old is not None
            items[j] = (change(m, old[0], given, place, False), place)
    return [it for it in items if it]


def _category(m: _Merge, base: dict[str, Any], given: dict[str, Any], at: Place, new: bool) -> dict[str, Any]:
    keys = sorted(set(given) - {"id", "indicators"})
    if not new and keys:
        m.notes.append(f"修改一级指标 {given['id']}：{'、'.join(keys)}")
    out = {**base, **{k: v for k, v in given.items() if k != "indicators"}}
    out["indicators"] = _apply(m, base.get("indicators", []), given.get("indicators", []), (*at, "indicators"),
                               "指标", _indicator)
    return out


def _indicator(m: _Merge, base: dict[str, Any], given: dict[str, Any], at: Place, new: bool) -> dict[str, Any]:
    ident = str(given["id"])
    m.own[ident] = ADDED if new else CHANGED
    if not new:
        m.notes.append(f"修改指标 {ident}：{'、'.join(sorted(set(given) - {'id'}))}")
    return {**base, **given}


def base_of(doc: YamlDoc, shipped: Callable[[str], Path]) -> Path:
    """The rubric a city's file extends: a file beside it (name ending .yaml), or a shipped rubric's id."""
    name = doc.data.get("extends")
    if not isinstance(name, str) or not name.strip():
        raise ScoringError("extends 应写所继承评分细则的编号（如 gaoqing_2022）或同目录下的文件名",
                           doc.name, doc.line(("extends",)))
    return Path(doc.name).parent / name if name.endswith((".yaml", ".yml")) else shipped(name)
