"""The compiled fast path of schema validation accepts exactly what jsonschema accepts: on every other
mutated manifest by default, on all of them with SCORING_LONG_TESTS=1 (jsonschema takes about 15 ms a
document)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from scoring.loading import validate
from scoring.loading.yamlio import load_yaml

from .conftest import LONG_TESTS, ROOT

BUNDLES = [ROOT / "evidence" / name / "bundle.yaml" for name in (
    "gaoqing_2022_sample", "gaoqing_2022_evidence_problems", "qingdao_center_sample")]
ODD = ["x" * 300, -1, Decimal("1.5"), True, None, {"x": 1}]


def mutations(data: Any, path: tuple[Any, ...] = ()) -> Iterator[Any]:
    """The document with one place changed: each leaf and each container replaced by odd values, a key
    removed, an unknown key added."""
    for value in ODD:
        yield _set(data, path, value)
    node = _get(data, path)
    if isinstance(node, dict):
        for key in list(node)[:6]:
            changed = copy.deepcopy(data)
            del _get(changed, path)[key]
            yield changed
            yield from mutations(data, (*path, key))
        yield _set(data, (*path, "unknown_key"), 1) if path else {**data, "unknown_key": 1}
    elif isinstance(node, list):
        for k in range(min(len(node), 2)):
            yield from mutations(data, (*path, k))


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


def _set(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    changed = copy.deepcopy(data)
    _get(changed, path[:-1])[path[-1]] = value
    return changed


@pytest.mark.slow
@pytest.mark.parametrize("bundle", BUNDLES, ids=lambda p: p.parent.name)
def test_fast_and_full_validation_agree(bundle: Any) -> None:
    fast = validate._fast("bundle")
    assert fast is not None
    full = Draft202012Validator(validate.schema("bundle"))
    data = load_yaml(bundle.read_bytes(), str(bundle)).data
    checked = 0
    for n, doc in enumerate(mutations(data)):
        if n % 2 and not LONG_TESTS:
            continue
        try:
            fast(doc)
            fast_ok = True
        except Exception:
            fast_ok = False
        assert fast_ok == full.is_valid(doc), doc
        checked += 1
    assert checked > 200


def test_schemas_beyond_draft_7_take_the_full_path() -> None:
    assert validate._fast("rubric") is None and validate._fast("review") is None
