"""The budgets of what a bundle's or a review's text asks the papers to print, counted as it is loaded: each
text within its limit and all of them together within theirs (scoring/base/limits.py), refused with a message
naming the file, the place (the indicator and input, or the part) and the limit."""

from __future__ import annotations

from collections.abc import Mapping

from scoring.base import limits
from scoring.base.errors import ScoringError
from scoring.domain.model import Answer, Line


def within(given: str, part: str, key: str, name: str, line: Line | None) -> str:
    if len(given) > limits.TEXT_CHARS:
        raise ScoringError(f"{part}.{key} 的文字过长（{len(given)} 字，上限 {limits.TEXT_CHARS} 字）", name, line,
                           hint="报告文字请精简，详细材料请作为佐证文件登记")
    return given


# One of the report's own texts: where it is (for a message), its line, and the text.
Part = tuple[str, Line | None, str]
KINDS = (("reason", "打分理由"), ("note", "备注"))


def parts(texts: Mapping[str, str], part: str) -> list[Part]:
    return [(f"{part}.{key}", None, text) for key, text in texts.items()]


def answer_texts(answers: Mapping[str, Mapping[str, Answer]], facts: Mapping[str, Answer], name: str) -> list[Part]:
    """Every answer's reason and note (a shared fact's once), each within TEXT_CHARS like a 工作说明."""
    given = [(f"指标 {ind} 输入 {inp}", ans) for ind, each in answers.items() for inp, ans in each.items()]
    given += [(f"共用事实 {fact}", ans) for fact, ans in facts.items()]
    out: list[Part] = []
    for where, ans in given:
        for key, kind in KINDS:
            text = getattr(ans, key)
            if len(text) > limits.TEXT_CHARS:
                raise ScoringError(f"{kind}（{key}）过长（{len(text)} 字，上限 {limits.TEXT_CHARS} 字）", name,
                                   ans.line, where, hint="理由和备注请精简，详细材料请作为佐证文件登记")
            if text.strip():
                out.append((f"{where} 的{kind}（{key}）", ans.line, text))
    return out


def check_texts(texts: list[Part], name: str) -> None:
    """All the report's own words together (the narrative, each 工作说明, each answer's reason and note): a
    bound on its pages, however they are split up. Refused naming where the total first passes it."""
    for budget, size, unit, what in ((limits.TEXTS_CHARS, len, "字", "过长"),
                                     (limits.TEXT_LINES, _lines, "行", "行数过多")):
        total = sum(size(text) for _, _, text in texts)
        if total <= budget:
            continue
        used = 0
        for where, line, text in texts:
            used += size(text)
            if used > budget:
                raise ScoringError(f"报告文字合计{what}（{total} {unit}，上限 {budget} {unit}；报告正文、工作说明、"
                                   f"填报的理由和备注合计，到{where}处超出）", name, line,
                                   hint="报告文字请精简，详细材料请作为佐证文件登记")


def _lines(text: str) -> int:
    return text.count("\n") + 1


def check_review(entries: list[Part], name: str) -> None:
    """A review file's entries (those waiting to be re-checked, 待复核, included), each given as its indicator,
    line and text (reason, corrected value, names): within REVIEW_ENTRIES and REVIEW_CHARS together."""
    if len(entries) > limits.REVIEW_ENTRIES:
        where, line, _ = entries[limits.REVIEW_ENTRIES]
        raise ScoringError(f"评审意见过多（{len(entries)} 条，上限 {limits.REVIEW_ENTRIES} 条，待复核的也计入），"
                           f"到{where}处超出", name, line, hint="同一指标的几条意见请合并，理由请精简")
    total = sum(len(text) for _, _, text in entries)
    if total <= limits.REVIEW_CHARS:
        return
    used = 0
    for where, line, text in entries:
        used += len(text)
        if used > limits.REVIEW_CHARS:
            raise ScoringError(f"评审意见文字合计过长（{total} 字，上限 {limits.REVIEW_CHARS} 字；理由、更正的值和"
                               f"评审人合计，待复核的也计入），到{where}处超出", name, line,
                               hint="理由请精简，详细情况可另附说明")
