"""Exact decimal points: the one rule for a number from outside, parsing and printing."""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction
from json.encoder import encode_basestring
from typing import Any

from scoring.base.errors import ScoringError

ZERO = Decimal(0)
MAX_DIGITS = 15  # points and rates need far fewer; more only serves to overflow later arithmetic


def accepted(value: Decimal | int, shown: str, file: str | None = None, line: int | str | None = None) -> Decimal:
    """The one rule for a number read from outside, whatever carried it (bundle.yaml, a workbook cell, a
    review, a programme, a rubric): finite, at most MAX_DIGITS significant digits and within 10^±MAX_DIGITS;
    else refused naming the file, the line or cell and the number as written (`shown`)."""
    number = Decimal(value)
    if not number.is_finite():
        raise refused(shown, file, line, finite=False)
    if len(number.as_tuple().digits) > MAX_DIGITS or abs(number.adjusted()) > MAX_DIGITS:
        raise refused(shown, file, line)
    return number


def refused(shown: str, file: str | None, line: int | str | None, finite: bool = True) -> ScoringError:
    """The refusal `accepted` makes, for a reader that sees the number is out of bounds before converting it."""
    said, hint = (("位数过多或超出范围", f"数值最多 {MAX_DIGITS} 位有效数字") if finite else
                  ("不是有限的数（无穷大或 NaN）", f"请填写具体的数值，最多 {MAX_DIGITS} 位有效数字"))
    return ScoringError(f"数值 {shown[:30]} {said}", file, line, hint=hint)


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


def grouped(value: Decimal) -> str:
    """An amount as people write money: thousands separated, exact (1,234,567.5)."""
    whole, dot, part = fmt(value).partition(".")
    sign = "-" if whole.startswith("-") else ""
    return f"{sign}{int(whole.lstrip('-')):,}{dot}{part}"


def is_multiple(value: Decimal, step: Decimal) -> bool:
    """Whether value is a whole number of steps. Exact however far apart the two are: Decimal's `%`
    raises InvalidOperation once the quotient outgrows the context (999999999999999 by 0.000000000000001)."""
    return (Fraction(value) / Fraction(step)).denominator == 1


def dumps(data: Any) -> str:
    """JSON text in which every Decimal is written as the exact number it is (0.1, never 0.1000000001).

    The data is walked here rather than handed to json.dumps with a placeholder for each Decimal: any
    placeholder is text a bundle could also contain, and would then turn that text into a number."""
    out: list[str] = []
    _encode(data, "\n", out)
    out.append("\n")
    return "".join(out)


_CONSTANTS = {True: "true", False: "false", None: "null"}


def _encode(value: Any, newline: str, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(encode_basestring(value))  # json's own text for a string, as with ensure_ascii=False
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a JSON number")
        out.append(fmt(value))
    elif value is None or isinstance(value, bool):
        out.append(_CONSTANTS[value])
    elif not isinstance(value, dict | list | tuple):
        out.append(json.dumps(value, ensure_ascii=False))  # ints and anything else: json's own text
    elif not value:
        out.append("{}" if isinstance(value, dict) else "[]")
    else:
        inner = newline + "  "
        if isinstance(value, dict):
            out.append("{")
            for i, (key, item) in enumerate(value.items()):
                out.append(("," if i else "") + inner)
                # json's own key text: a string as it is, a number, boolean or null as its text in quotes
                out.append((encode_basestring(key) if isinstance(key, str)
                            else json.dumps({key: 0}, ensure_ascii=False)[1:-4]) + ": ")
                _encode(item, inner, out)
            out.append(newline + "}")
        else:
            out.append("[")
            for i, item in enumerate(value):
                out.append(("," if i else "") + inner)
                _encode(item, inner, out)
            out.append(newline + "]")
