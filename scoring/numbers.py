"""Exact decimal points: parsing and printing."""

from __future__ import annotations

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


def to_json(value: Decimal) -> int | float:
    """A JSON number whose printed form is exactly `value`."""
    if value == value.to_integral_value():
        return int(value)
    as_float = float(value)
    if Decimal(repr(as_float)) != value:
        raise ValueError(f"{value} has no exact short JSON form")
    return as_float
