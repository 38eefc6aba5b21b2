"""Exact decimal points: parsing and printing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from fractions import Fraction
from typing import Any

ZERO = Decimal(0)


def dec(value: Any) -> Decimal:
    """A YAML/JSON number as an exact Decimal (floats never reach here from our loader)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(value, int):
        return Decimal(value)
    return Decimal(str(value))


def fmt(value: Decimal) -> str:
    """Shortest exact text: 2, 0.5, 0.1 — never 2.0, 5E-1 or 0.09999."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def is_multiple(value: Decimal, step: Decimal) -> bool:
    """Whether value is a whole number of steps. Exact however far apart the two are: Decimal's `%`
    raises InvalidOperation once the quotient outgrows the context (999999999999999 by 0.000000000000001)."""
    return (Fraction(value) / Fraction(step)).denominator == 1


def dumps(data: Any) -> str:
    """JSON text in which every Decimal is written as the exact number it is (0.1, never 0.1000000001).

    The data is walked here rather than handed to json.dumps with a placeholder for each Decimal: any
    placeholder is text a bundle could also contain, and would then turn that text into a number."""
    return "".join(_encode(data, "\n")) + "\n"


def _encode(value: Any, newline: str) -> Iterator[str]:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a JSON number")
        yield fmt(value)
    elif not isinstance(value, dict | list | tuple):
        yield json.dumps(value, ensure_ascii=False)  # strings, ints, booleans, null: json's own text
    elif not value:
        yield "{}" if isinstance(value, dict) else "[]"
    else:
        inner = newline + "  "
        pairs = value.items() if isinstance(value, dict) else ((None, v) for v in value)
        yield "{" if isinstance(value, dict) else "["
        for i, (key, item) in enumerate(pairs):
            yield ("," if i else "") + inner
            if isinstance(value, dict):
                yield json.dumps({key: 0}, ensure_ascii=False)[1:-4] + ": "  # json's own key text
            yield from _encode(item, inner)
        yield newline + ("}" if isinstance(value, dict) else "]")
