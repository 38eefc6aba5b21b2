"""Text from outside, shown safely: which characters bundle text may hold, how its writing direction is
kept to itself, and how any text is shown on a terminal, in a CSV cell or quoted in a message."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from itertools import chain

# Word's manual line (U+000B) and page (U+000C) breaks, NEL and Unicode's line and paragraph separators.
LINE_BREAKS = "\x0b\x0c\x85\u2028\u2029"
EXCERPT = 60  # characters of a bad value a message shows
_BREAKS = str.maketrans(dict.fromkeys(LINE_BREAKS, "\n"))
_RTL = {"R", "AL", "LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"}
_EMBEDS, _ISOLATES, _PDF, _PDI = "\u202a\u202b\u202d\u202e", "\u2066\u2067\u2068", "\u202c", "\u2069"
FSI = "\u2068"
_OPENERS = _EMBEDS + _ISOLATES
_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")  # _OPENERS, _PDF and _PDI
# Fast paths, checked against the per-character rules by a test: the characters `refused` finds (Cc is
# exactly U+0000–001F and U+007F–009F), and every block holding a character whose direction is
# right-to-left or that is a direction control.
_REFUSED = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f]")
_MAYBE_RTL = re.compile("[\u0590-\u08ff\u200f\u202a-\u202e\u2066-\u2069\ufb1d-\ufdff\ufe70-\ufefe"
                        "\U00010800-\U00010fff\U0001e800-\U0001efff]")


# Any character that makes `refused` find something or `clean` change the text.
_SPECIAL = re.compile(f"{_REFUSED.pattern}|[{LINE_BREAKS}]|{_MAYBE_RTL.pattern}")


def ordinary(text: str) -> bool:
    """Text that is allowed and shown as it is: one search instead of `refused` and `clean`."""
    return _SPECIAL.search(text) is None


def is_control(ch: str) -> bool:
    """C0 and C1 control characters, DEL included; tab, newline and carriage return are text."""
    return unicodedata.category(ch) == "Cc" and ch not in "\t\n\r"


def refused(text: str) -> str | None:
    """The first character bundle text may not hold (a control character that is not a line break)."""
    found = _REFUSED.search(text)
    return found.group() if found else None


def code(ch: str) -> str:
    return f"U+{ord(ch):04X}"


def clean(text: str) -> str:
    """Bundle text as the outputs show it: line breaks as newlines, and, when it holds right-to-left
    letters or direction controls, its direction isolated (FSI … PDI), so it cannot reorder the text
    around it in a report, a trace line or a terminal."""
    text = text.translate(_BREAKS)
    if not any(unicodedata.bidirectional(ch.group()) in _RTL for ch in _MAYBE_RTL.finditer(text)):
        return text
    controls = _CONTROLS.findall(text)
    if _isolated(text, controls):  # shown before and read back (a review the desk wrote): isolated once, not twice
        return text
    return FSI + _sealed(text, controls) + _PDI


def _isolated(text: str, controls: list[str]) -> bool:
    """Text that is one isolate already: FSI … PDI, nothing inside closing what it did not open."""
    inner = controls[1:-1]
    return len(text) > 1 and text[0] == FSI and text[-1] == _PDI and _matched(inner) == inner


def _sealed(text: str, controls: list[str]) -> str:
    """Drops closing controls (`controls`, the text's own in order) that would close what was opened
    before the text (an FSI around it); the closing PDI then ends every embedding and override the text
    opened."""
    kept = _matched(controls)
    if kept == controls:
        return text
    between = _CONTROLS.split(text)  # the text around the controls: one piece more than controls
    return "".join(chain.from_iterable(zip(between[:-1], kept, strict=True))) + between[-1]


def _matched(controls: list[str]) -> list[str]:
    """The direction controls, each closing one that closes nothing the text opened made "". One pass:
    each control is pushed and popped at most once, and the open isolates are counted, not searched for."""
    kept = controls.copy()
    opened: list[str] = []
    isolates = 0
    for k, ch in enumerate(controls):
        if ch in _OPENERS:
            opened.append(ch)
            isolates += ch in _ISOLATES
        elif ch == _PDF and opened and opened[-1] in _EMBEDS:
            opened.pop()
        elif ch == _PDI and isolates:
            while opened.pop() not in _ISOLATES:
                pass
            isolates -= 1
        else:
            kept[k] = ""
    return kept


def terminal(text: str) -> str:
    """Text for a terminal: control characters (escape sequences' ESC and CSI, BEL, carriage return …)
    shown as <U+001B> instead of acting on the terminal."""
    return "".join(f"<{code(ch)}>" if is_control(ch) or ch == "\r" else ch for ch in text)


# What a spreadsheet reads as the start of a formula in a CSV cell (OWASP's CSV injection guidance).
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


def csv_text(text: str) -> str:
    """Text as a CSV cell that no spreadsheet evaluates: a leading apostrophe when it starts like a formula,
    so a reviewer named =1+1 stays =1+1 and a reason starting with "-" is not #NAME?. (A workbook needs no
    mark: tablelook writes every text as a string cell.)"""
    return "'" + text if text.startswith(FORMULA_LEADS) else text


def clip(text: str, limit: int) -> str:
    """Text a paper prints in a bounded space: at most `limit` characters, a longer one ending in …."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


def excerpt(value: object, limit: int = EXCERPT) -> str:
    """A value as a message quotes it: at most `limit` characters, and how long it really is."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else f"{text[:limit]}…（共 {len(text)} 个字符）"


def cn_date(iso: str) -> str:
    """2022-12-05 as 2022年12月5日; "" for no date."""
    if not iso:
        return ""
    d = date.fromisoformat(iso)
    return f"{d.year}年{d.month}月{d.day}日"
