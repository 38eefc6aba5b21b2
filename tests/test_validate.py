"""The compiled fast path of schema validation accepts exactly what jsonschema accepts: on every other
mutated manifest by default, on all of them with SCORING_LONG_TESTS=1 (jsonschema takes about 15 ms a
document); and a value a pattern refuses is told in words what it may hold."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from scoring.base.errors import ScoringError
from scoring.loading import programme, validate
from scoring.loading.rubric import load
from scoring.loading.yamlio import load_yaml

from .conftest import FIXTURES, LONG_TESTS, ROOT

BUNDLES = [ROOT / "evidence" / name / "bundle.yaml" for name in (
    "gaoqing_2022_sample", "gaoqing_2022_evidence_problems", "qingdao_center_sample")]
REVIEWS = [ROOT / "evidence" / f"gaoqing_2022_review_{stage}.yaml" for stage in ("city", "province")]
ODD = ["x" * 300, -1, Decimal("1.5"), True, None, {"x": 1}]


def mutations(data: Any, path: tuple[Any, ...] = ()) -> Iterator[Any]:
    """The document with one place changed: each leaf and each container replaced by odd values, a key
    removed, an unknown key added. Each mutant copies only the containers on the changed place's path and
    shares the rest with `data`: no validator changes a document (no schema has a default to fill in)."""
    for value in ODD:
        yield _set(data, path, value)
    node = _get(data, path)
    if isinstance(node, dict):
        for key in list(node)[:6]:
            yield _set(data, path, {k: v for k, v in node.items() if k != key})
            yield from mutations(data, (*path, key))
        yield _set(data, path, {**node, "unknown_key": 1})
    elif isinstance(node, list):
        for k in range(min(len(node), 2)):
            yield from mutations(data, (*path, k))


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


def _set(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    """`data` with the place at `path` holding `value`: the containers on the path copied, the rest shared."""
    if not path:
        return value
    changed = copy.copy(data)
    changed[path[0]] = _set(data[path[0]], path[1:], value)
    return changed


@pytest.mark.slow
@pytest.mark.parametrize(("name", "manifest"), [*(("bundle", b) for b in BUNDLES),
                                              *(("review", r) for r in REVIEWS)], ids=lambda p: getattr(p, "stem", p))
def test_fast_and_full_validation_agree(name: str, manifest: Path) -> None:
    fast = validate._fast(name)
    assert fast is not None
    full = Draft202012Validator(validate.schema(name))
    data = load_yaml(manifest.read_bytes(), str(manifest)).data
    checked, step = 0, 1 if LONG_TESTS or name == "review" else 2  # a review file is short: every mutant
    for n, doc in enumerate(mutations(data)):
        if n % step:
            continue
        try:
            fast(doc)
            fast_ok = True
        except Exception:
            fast_ok = False
        assert fast_ok == full.is_valid(doc), doc
        checked += 1
    assert checked > (200 if name == "bundle" else 40)


def test_documents_read_once_per_command_take_the_full_path() -> None:
    assert validate._fast("rubric") is None and validate._fast("programme") is None


def _patterns(node: Any) -> Iterator[str]:
    if isinstance(node, list):
        for item in node:
            yield from _patterns(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                yield value
            else:
                yield from _patterns(value)


def test_every_pattern_is_said_in_words() -> None:
    """A refused value is told what its field may hold, never shown a regular expression."""
    names = [p.name.removesuffix(".schema.json") for p in (ROOT / "scoring" / "schemas").glob("*.schema.json")]
    found = {p for name in names for p in _patterns(validate.schema(name))}
    assert len(found) > 5 and found <= set(validate.PATTERN_WORDS), found - set(validate.PATTERN_WORDS)


def test_a_programme_id_is_refused_in_words(tmp_path: Path) -> None:
    bad = tmp_path / "方案.yaml"
    bad.write_text((FIXTURES / "bands_programme.yaml").read_text("utf-8").replace("id: bands_demo_rewards", "id: 示例 2023!"), "utf-8")
    with pytest.raises(ScoringError) as caught:
        programme.load(bad, load(FIXTURES / "bands.yaml"))
    said = str(caught.value)
    assert "奖补方案 id：格式不符：'示例 2023!'（编号只能含英文字母、数字和下划线（_），以英文字母开头，不含空格和汉字）" in said
    assert "[A-Za-z" not in said and "应匹配" not in said
