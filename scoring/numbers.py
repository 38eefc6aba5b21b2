"""Exact decimal points: parsing and printing."""

from __future__ import annotations

import json
import re
from decimal import Decimal
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


_MARK = "\x00decimal:"  # YAML cannot carry a NUL, so no bundle text can forge this mark
_MARKED = re.compile(r'"\\u0000decimal:(-?[0-9.]+)\\u0000"')


def dumps(data: Any) -> str:
    """JSON text in which every Decimal is written as the exact number it is (0.1, never 0.1000000001)."""
    def mark(value: Any) -> str:
        if isinstance(value, Decimal):
            return f"{_MARK}{fmt(value)}\x00"
        raise TypeError(f"{type(value).__name__} is not JSON serialisable")

    text = json.dumps(data, ensure_ascii=False, indent=2, default=mark)
    return _MARKED.sub(r"\1", text) + "\n"
