"""The engine: a pure function from (rubric, bundle) to a result."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from . import rules
from .bundle import Answer, Bundle
from .errors import ScoringError
from .numbers import ZERO, dec, fmt
from .rubric import Indicator, Input, Rubric

FLAG_TEXT = {
    "no_document": "要求提供佐证材料，但未引用任何文件",
    "file_missing": "所引文件在材料包中不存在",
    "hash_mismatch": "所引文件的 SHA-256 与清单登记的不一致",
}


@dataclass(frozen=True)
class IndicatorResult:
    indicator: Indicator
    score: Decimal
    supported_score: Decimal
    missing: tuple[str, ...]
    flags: tuple[rules.Flag, ...]
    trace: tuple[rules.Step, ...]
    answers: tuple[tuple[Input, Answer | None], ...]

    @property
    def id(self) -> str:
        return self.indicator.id

    @property
    def lost(self) -> Decimal:
        return self.indicator.max - self.score


@dataclass(frozen=True)
class CategoryResult:
    id: str
    title: str
    score: Decimal
    max: Decimal
    indicators: tuple[IndicatorResult, ...]


@dataclass(frozen=True)
class Result:
    rubric: Rubric
    bundle: Bundle
    total: Decimal
    supported_total: Decimal
    categories: tuple[CategoryResult, ...]
    mandatory_met: int
    mandatory_total: int
    mandatory_failures: tuple[str, ...]
    mandatory_unsupported: tuple[str, ...]  # full by the self-score, short by the supported score
    passed: bool
    verdict_reasons: tuple[str, ...]

    @property
    def indicators(self) -> tuple[IndicatorResult, ...]:
        return tuple(i for c in self.categories for i in c.indicators)

    @property
    def missing(self) -> tuple[tuple[str, str], ...]:
        return tuple((i.id, name) for i in self.indicators for name in i.missing)


def score(rubric: Rubric, bundle: Bundle) -> Result:
    _check_known(rubric, bundle)
    cats = tuple(_category(rubric, bundle, c.id, c.title, c.max, c.indicators) for c in rubric.categories)
    results = [i for c in cats for i in c.indicators]
    total = sum((c.score for c in cats), ZERO)
    mandatory = [r for r in results if r.indicator.mandatory]
    failures = tuple(r.id for r in mandatory if r.score < r.indicator.max)
    unsupported = tuple(r.id for r in mandatory if r.id not in failures and r.supported_score < r.indicator.max)
    reasons: list[str] = []
    if rubric.mandatory_full and failures:
        reasons.append(f"强制性指标未达标 {len(failures)} 项：{'、'.join(failures)}")
    for cat, got in zip(rubric.categories, cats, strict=True):
        if cat.min is not None and got.score < cat.min:
            reasons.append(f"一级指标“{cat.title}”得分 {fmt(got.score)} 分，低于最低要求 {fmt(cat.min)} 分")
    if rubric.min_total is not None and total < rubric.min_total:
        reasons.append(f"总分 {fmt(total)} 分，低于 {fmt(rubric.min_total)} 分")
    return Result(rubric, bundle, total, sum((r.supported_score for r in results), ZERO), cats,
                  len(mandatory) - len(failures), len(mandatory), failures, unsupported, not reasons, tuple(reasons))


def _category(rubric: Rubric, bundle: Bundle, cid: str, title: str, top: Decimal,
              indicators: tuple[Indicator, ...]) -> CategoryResult:
    results = tuple(_indicator(rubric, bundle, ind) for ind in indicators)
    return CategoryResult(cid, title, sum((r.score for r in results), ZERO), top, results)


def _indicator(rubric: Rubric, bundle: Bundle, ind: Indicator) -> IndicatorResult:
    given = bundle.answers.get(ind.id, {})
    values = {name: _checked(bundle, ind, ind.input(name), ans)
              for name, ans in given.items() if ans.value is not None}
    dates = {name: tuple(sorted(bundle.documents[d].date for d in ans.documents if bundle.documents[d].date))
             for name, ans in given.items()}
    ctx = rules.Context(ind, values, dates, rubric.judged_step)
    claimed = _run(bundle, ind, ctx)
    used = {node["input"] for node in rules.walk(ind.rule) if "input" in node}
    # Facts no rule reads (the metrics behind a judged score) still belong in the explanation.
    recorded = tuple(rules.Step("record", f"{i.label}：{rules.answer_text(ctx, i.name, values[i.name])}（记录）", ZERO)
                     for i in ind.inputs if i.name not in used and i.name in values)

    def earns(name: str) -> bool:
        # An answer is a claim needing evidence only if the score falls without it (a "no" is not).
        rest = {k: v for k, v in values.items() if k != name}
        return _run(bundle, ind, rules.Context(ind, rest, dates, rubric.judged_step)).points < claimed.points

    doc_flags = [f for inp in ind.inputs if inp.document and inp.name in values
                 for f in _document_flags(bundle, inp, given[inp.name]) if earns(inp.name)]
    unsupported = {f.input for f in doc_flags}
    support = rules.Context(ind, {k: v for k, v in values.items() if k not in unsupported}, dates,
                            rubric.judged_step, supported=True)
    backed = _run(bundle, ind, support)
    # Inputs no rule reads are missing when unanswered too.
    missing = [*ctx.missing, *(i.name for i in ind.inputs if i.name not in values and i.name not in used)]
    missing_flags = [rules.Flag("missing", n, f"{_label(ind, n)}：未填报") for n in missing]
    return IndicatorResult(
        ind, claimed.points, backed.points, tuple(missing),
        (*missing_flags, *doc_flags, *claimed.flags), (*recorded, *claimed.steps),
        tuple((inp, given.get(inp.name)) for inp in ind.inputs))


def _run(bundle: Bundle, ind: Indicator, ctx: rules.Context) -> rules.Outcome:
    try:
        outcome = rules.score(ind.rule, ctx)
    except rules.AnswerError as exc:
        ans = bundle.answers[ind.id][exc.input]
        raise ScoringError(exc.message, bundle.name, ans.line, f"指标 {ind.id} 输入 {exc.input}") from exc
    if outcome.points > ind.max:
        cap = rules.Step("cap", f"合计 {fmt(outcome.points)} 分，以指标分值 {fmt(ind.max)} 分为限", ind.max)
        return rules.Outcome(ind.max, (*outcome.steps, cap), outcome.flags)
    return outcome


def _label(ind: Indicator, name: str) -> str:
    inp = ind.input(name)
    return inp.label if inp else name


def _document_flags(bundle: Bundle, inp: Input, ans: Answer) -> list[rules.Flag]:
    if not ans.documents:
        return [rules.Flag("no_document", inp.name, f"{inp.label}：{FLAG_TEXT['no_document']}")]
    out = []
    for ref in ans.documents:
        doc = bundle.documents[ref]
        if doc.status != "ok":
            out.append(rules.Flag(doc.status, inp.name,
                                  f"{inp.label}：{FLAG_TEXT[doc.status]}（{ref} {doc.file}）"))
    return out


def _checked(bundle: Bundle, ind: Indicator, inp: Input | None, ans: Answer) -> Any:
    """The answer's value if it fits the input's declared type and range; else a clear error."""
    def fail(message: str, hint: str | None = None) -> ScoringError:
        where = f"指标 {ind.id}" + (f" 输入 {inp.name}" if inp else "")
        return ScoringError(message, bundle.name, ans.line, where, hint)

    if inp is None:
        raise AssertionError("unknown inputs are refused before scoring")
    value, kind = ans.value, inp.type
    if kind == "bool" and not isinstance(value, bool):
        raise fail(f"应填 true（是）或 false（否），实际为 {_shown(value)}")
    if kind == "choice" and str(value) not in dict(inp.values):
        allowed = "、".join(f"{v}（{label}）" for v, label in inp.values)
        raise fail(f"取值 {_shown(value)} 无效", f"可选：{allowed}")
    if kind == "list":
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise fail("应为列表，每项一行写明名称，如 - 某某政策")
        repeated = sorted({v for v in value if value.count(v) > 1})
        if repeated:
            raise fail(f"列表中 “{'、'.join(repeated)[:60]}” 重复出现", "同一项只能列一次")
        return value
    if kind in ("number", "integer", "score"):
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            raise fail(f"应为数字，实际为 {_shown(value)}")
        number = dec(value)
        if kind == "integer" and number != number.to_integral_value():
            raise fail(f"应为整数，实际为 {fmt(number)}")
        if number < 0 and inp.min is None:
            raise fail(f"数值 {fmt(number)} 不能为负数")
        if (inp.min is not None and number < inp.min) or (inp.max is not None and number > inp.max):
            unit = inp.unit or ""
            low = fmt(inp.min) if inp.min is not None else "0"
            high = fmt(inp.max) + unit if inp.max is not None else "不限"
            raise fail(f"数值 {fmt(number)}{unit} 超出范围（{low}{unit} 至 {high}）")
        if kind == "score" and not ans.reason:
            raise fail("酌情打分必须写明理由", "请在该输入下填写 reason: 打分理由")
        return number
    return value


def _shown(value: Any) -> str:
    """A bundle value as a county wrote it, short enough for a message."""
    if isinstance(value, Decimal):
        return fmt(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    text = f"“{value}”" if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:40] + "…"


def _check_known(rubric: Rubric, bundle: Bundle) -> None:
    if bundle.rubric != rubric.id:
        raise ScoringError(f"材料包对应的评分细则是 “{bundle.rubric}”，而所用评分细则是 “{rubric.id}”",
                           bundle.name, bundle.manifest.line(("rubric",)), hint="请用 --rubric 指定正确的评分细则")
    for ind_id, given in bundle.answers.items():
        ind = rubric.indicator(ind_id)
        if ind is None:
            raise ScoringError(f"评分细则中没有指标 “{ind_id}”", bundle.name,
                               bundle.manifest.line(("inputs", ind_id)), hint="请核对指标编号，如 1.1")
        for name, ans in given.items():
            if ind.input(name) is None:
                known = "、".join(i.name for i in ind.inputs)
                raise ScoringError(f"指标 {ind_id} 没有输入 “{name}”", bundle.name, ans.line,
                                   hint=f"该指标的输入有：{known}")
    for key in (bundle.data.get("statements") or {}):
        if rubric.indicator(key) is None:
            raise ScoringError(f"工作说明对应的指标 “{key}” 不存在", bundle.name,
                               bundle.manifest.line(("statements", key)))
