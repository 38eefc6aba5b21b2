"""The engine: pure functions from (rubric, bundle, reviewing stages) to a result.

Three steps, each its own function: score_indicator (rule -> points, flags, trace, for one stage with
that stage's overrides), aggregate (categories, totals, supported totals, mandatory compliance), and
judge (the verdict the rubric declares). score() runs them for the self-assessment and each stage.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

from scoring.base import limits
from scoring.base.errors import ScoringError
from scoring.base.numbers import ZERO, dec, fmt, is_multiple
from scoring.base.text import clip
from scoring.domain import crosscheck, inputs, rules
from scoring.domain.bands import rate
from scoring.domain.model import (
    FLAGS,
    SELF,
    Answer,
    Bundle,
    Indicator,
    Input,
    Override,
    Rubric,
    Stage,
)
from scoring.domain.results import (
    CategoryScore,
    Flag,
    IndicatorResult,
    IndicatorScore,
    Mandatory,
    Read,
    Result,
    StageResult,
    Step,
    Totals,
    Verdict,
)


def score(rubric: Rubric, bundle: Bundle, chain: Sequence[Stage] = ()) -> Result:
    """The self-score and, stage by stage, each reviewing stage's score; the self-score is never changed."""
    check_known(rubric, bundle)
    for stage in chain:
        for o in stage.overrides:
            check_override(rubric, bundle, o)
    stages = (Stage(SELF), *chain)
    results = tuple(_indicator_result(bundle, ind, stages) for ind in rubric.indicators)
    results = crosscheck.apply(rubric, bundle, results, len(stages),  # answers the rubric ties together
                               lambda r, k, counted, step: _rescored(bundle, r, k, counted, step))
    staged = []
    facts = _fact_values(rubric, bundle)
    for k, stage in enumerate(stages):
        facts.update({o.target: _fact_value(rubric, o.target, Answer(o.value, (), "", "", o.line), o.file)
                      for o in stage.overrides if o.action == "input" and rubric.fact(o.target)})
        totals = aggregate(rubric, [r.scores[k] for r in results])
        staged.append(StageResult(stage.name, totals, judge(rubric, totals, facts), dict(facts)))
    return Result(rubric, bundle, results, tuple(staged), tuple(chain))


def _fact_values(rubric: Rubric, bundle: Bundle) -> dict[str, Any]:
    """The shared facts as answered, each checked against its declaration (the bands read them)."""
    return {name: _fact_value(rubric, name, ans, bundle.name) for name, ans in bundle.facts.items()}


def _fact_value(rubric: Rubric, name: str, ans: Answer, file: str) -> Any:
    fact = rubric.fact(name)
    assert fact is not None, "unknown facts are refused before scoring"
    if ans.value is None:
        return None
    try:
        return inputs.check(fact, ans)
    except inputs.InputProblem as exc:
        raise ScoringError(exc.message, file, ans.line, f"共用事实 {name}", exc.hint) from exc


def _indicator_result(bundle: Bundle, ind: Indicator, stages: Sequence[Stage]) -> IndicatorResult:
    scores: list[IndicatorScore] = []
    effective: tuple[Override, ...] = ()
    for stage in stages:
        made = tuple(replace(o, stage=o.stage or stage.name) for o in stage.overrides if _applies(o, ind))
        effective = merge(effective, made)
        scores.append(score_indicator(bundle, ind, stage.name, effective, made))
    given = answers_of(bundle, ind)
    return IndicatorResult(ind, tuple((inp, given.get(inp.name)) for inp in ind.inputs), tuple(scores))


def _rescored(bundle: Bundle, r: IndicatorResult, k: int, counted: Mapping[str, Any], step: Step) -> IndicatorResult:
    """Stage k of an indicator scored again with the values a check across indicators counts (what another
    indicator already counted taken out), the check's step first in its trace."""
    effective: tuple[Override, ...] = ()
    for earlier in r.scores[:k + 1]:
        effective = merge(effective, earlier.overrides)
    again = score_indicator(bundle, r.indicator, r.scores[k].stage, effective, r.scores[k].overrides, counted)
    scores = list(r.scores)
    scores[k] = replace(again, trace=(step, *again.trace))
    return replace(r, scores=tuple(scores))


def _applies(o: Override, ind: Indicator) -> bool:
    """An override made on this indicator, or a correction of a shared fact it reads: corrected through
    any one indicator, a shared fact is corrected for all of them, so they cannot disagree."""
    return o.indicator == ind.id or (o.action == "input" and o.target in ind.facts)


def answers_of(bundle: Bundle, ind: Indicator) -> dict[str, Answer]:
    """An indicator's answers: its own and those of the shared facts it reads."""
    shared = {name: bundle.facts[name] for name in ind.facts if name in bundle.facts}
    return {**shared, **bundle.answers.get(ind.id, {})}


def merge(prior: tuple[Override, ...], made: tuple[Override, ...]) -> tuple[Override, ...]:
    """The overrides in force after a stage: its own replace earlier ones on the same input or document,
    and a correction or rejection drops an earlier stage's set score, so the rule runs again."""
    targets = {(o.action, o.target) for o in made}
    kept = [o for o in prior if (o.action, o.target) not in targets]
    if any(o.action != "score" for o in made):
        kept = [o for o in kept if o.action != "score"]
    return (*kept, *made)


def score_indicator(bundle: Bundle, ind: Indicator, stage: str = SELF, overrides: Iterable[Override] = (),
                    made: tuple[Override, ...] = (), counted: Mapping[str, Any] | None = None) -> IndicatorScore:
    """One indicator at one stage: the rule on the answers as corrected by `overrides`, with `counted`
    (input name -> value) in place of the answers a check across indicators counts otherwise."""
    overrides = tuple(overrides)
    given = answers_of(bundle, ind)
    answers = _in_force(bundle, given, overrides)
    values = {name: _checked(ind, name, ans, file) for name, (ans, file) in answers.items() if ans.value is not None}
    values.update(counted or {})
    documents = {name: ans.documents for name, (ans, _) in answers.items()}
    dates = {name: tuple(sorted(bundle.documents[d].date for d in docs if bundle.documents[d].date))
             for name, docs in documents.items()}
    try:
        rules.check_answers(ind.nodes, values)
    except rules.AnswerError as exc:
        ans, file = answers[exc.input]
        raise ScoringError(exc.message, file, ans.line, _where(ind, exc.input)) from exc
    ctx = rules.Context(ind, values, documents, dates)
    claimed = _run(ind, ctx)
    doc_flags, backed = _evidence(bundle, ctx, claimed, given, overrides)
    recorded, missing = _unread(ctx)
    flags = (*(Flag("missing", n, f"{_label(ind, n)}：{FLAGS['missing'].text}") for n in missing),
             *doc_flags, *claimed.flags)
    steps = (*recorded, *claimed.steps, *(_override_step(ind, o, ctx) for o in overrides if o.action != "score"))
    points, supported = claimed.points, backed.points
    set_to = next((o for o in reversed(overrides) if o.action == "score"), None)
    if set_to is not None:
        points = supported = _set_score(ind, set_to)
        steps = (*steps, Step("override", f"{set_to.stage}将本项得分定为 {fmt(points)} 分（理由：{set_to.reason}；"
                                          f"评审人：{set_to.author}）", points))
    return IndicatorScore(stage, points, supported, tuple(missing), flags, steps, made, values)


def _in_force(bundle: Bundle, given: Mapping[str, Answer], overrides: Sequence[Override]
              ) -> dict[str, tuple[Answer, str]]:
    """Each answer in force, with the file it comes from: the county's, or a reviewer's correction (which
    keeps the documents the county cited)."""
    answers: dict[str, tuple[Answer, str]] = {n: (a, bundle.name) for n, a in given.items()}
    for o in overrides:
        if o.action == "input":
            cited = given[o.target].documents if o.target in given else ()
            answers[o.target] = (Answer(o.value, cited, o.reason, "", o.line), o.file)
    return answers


def _evidence(bundle: Bundle, ctx: rules.Context, claimed: rules.Outcome, given: Mapping[str, Answer],
              overrides: Sequence[Override]) -> tuple[list[Flag], rules.Outcome]:
    """The flags of answers whose evidence is missing, refused or unverified, and the outcome on what the
    evidence supports."""
    ind, values = ctx.indicator, ctx.values
    corrected = {o.target for o in overrides if o.action == "input"}
    rejected = {o.target for o in overrides if o.action == "reject"}

    def run(vals: Mapping[str, Any], supported: bool = False) -> rules.Outcome:
        return _run(ind, rules.Context(ind, vals, ctx.documents, ctx.doc_dates, supported))

    def earns(name: str) -> bool:
        # An answer is a claim needing evidence only if the score falls without it (a "no" is not).
        return run({k: v for k, v in values.items() if k != name}).points < claimed.points

    doc_flags = [f for inp in ind.inputs if inp.document and inp.name in values and inp.name not in corrected
                 for f in _document_flags(bundle, inp, given[inp.name], rejected) if earns(inp.name)]
    unsupported = {f.input for f in doc_flags}
    # What the evidence supports differs from the claim only when an answer lacks its evidence or a
    # document is outside its date window (the one rule that reads `supported`); else it is the claim.
    dated = any(f.code == "document_date" for f in claimed.flags)
    backed = run({k: v for k, v in values.items() if k not in unsupported}, supported=True) \
        if unsupported or dated else claimed
    return doc_flags, backed


def _unread(ctx: rules.Context) -> tuple[tuple[Step, ...], list[str]]:
    """Facts no rule reads (the metrics behind a judged score) are still part of the explanation, and
    missing when unanswered; with the inputs the rules found missing."""
    ind, values = ctx.indicator, ctx.values
    used = {node["input"] for node in ind.nodes if "input" in node}
    recorded = tuple(Step("record", f"{i.label}：{ind.say(i.name, values[i.name])}（记录）", ZERO,
                          reads=(ctx.read(i.name),))
                     for i in ind.inputs if i.name not in used and i.name in values)
    return recorded, [*ctx.missing, *(i.name for i in ind.inputs if i.name not in values and i.name not in used)]


def _run(ind: Indicator, ctx: rules.Context) -> rules.Outcome:
    outcome = rules.score(ind.rule, ctx)
    if outcome.points > ind.max:
        cap = Step("cap", f"合计 {fmt(outcome.points)} 分，以指标分值 {fmt(ind.max)} 分为限", ind.max)
        return rules.Outcome(ind.max, (*outcome.steps, cap), outcome.flags)
    return outcome


def _override_step(ind: Indicator, o: Override, ctx: rules.Context) -> Step:
    if o.action == "input":
        text = f"{o.stage}更正“{_label(ind, o.target)}”为 {ind.say(o.target, ctx.values.get(o.target))}"
        reads: tuple[Read, ...] = (ctx.read(o.target),)
    else:
        text = f"{o.stage}不采信文件 {o.target}，引用它的填报不计入有据得分"
        reads = ()
    return Step("override", f"{text}（理由：{o.reason}；评审人：{o.author}）", ZERO, reads=reads)


def _set_score(ind: Indicator, o: Override) -> Decimal:
    value = o.value
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise ScoringError(f"评审得分应为数字，实际为 {inputs.shown(value)}", o.file, o.line, f"指标 {ind.id}")
    points, step = dec(value), ind.step
    if not ZERO <= points <= ind.max or (step is not None and not is_multiple(points, step)):
        on_step = f"，且为 {fmt(step)} 分的整数倍" if step is not None else ""
        raise ScoringError(f"评审得分 {fmt(points)} 无效：应在 0 至 {fmt(ind.max)} 分之间{on_step}",
                           o.file, o.line, f"指标 {ind.id}")
    return points


def aggregate(rubric: Rubric, scores: Sequence[IndicatorScore]) -> Totals:
    """Category sums, totals and mandatory compliance, from one stage's scores in the rubric's order."""
    by_id = dict(zip((i.id for i in rubric.indicators), scores, strict=True))
    cats = tuple(CategoryScore(c.id, c.title, sum((by_id[i.id].points for i in c.indicators), ZERO), c.max, c.min)
                 for c in rubric.categories)
    mandatory = [i for i in rubric.indicators if i.mandatory]
    failures = tuple(i.id for i in mandatory if by_id[i.id].points < i.max)
    unsupported = tuple(i.id for i in mandatory if i.id not in failures and by_id[i.id].supported < i.max)
    # A reviewing stage counts a mandatory indicator as met only when the evidence it accepts supports full marks.
    judged = scores[0].stage if scores and scores[0].stage != SELF else ""
    met = len(mandatory) - len(failures) - (len(unsupported) if judged else 0)
    return Totals(sum((c.score for c in cats), ZERO), sum((s.supported for s in scores), ZERO), cats,
                  Mandatory(met, len(mandatory), failures, unsupported, judged))


def judge(rubric: Rubric, totals: Totals, facts: Mapping[str, Any] | None = None) -> Verdict:
    """The verdict the rubric declares: mandatory indicators at full marks, category minimums, a total line;
    with bands, the highest band reached and what held the result back from the next one."""
    rule, reasons = rubric.verdict, []
    failures = totals.mandatory.failures
    if rule.mandatory_full and failures:
        reasons.append(f"{rubric.natures.must}未达标 {len(failures)} 项：{'、'.join(failures)}")
    if rule.mandatory_full and totals.mandatory.judged and totals.mandatory.unsupported:
        reasons.append(f"{rubric.natures.must} {'、'.join(totals.mandatory.unsupported)} 的满分没有"
                       f"{totals.mandatory.judged}采信的佐证支持，不计为达标")
    for cat in totals.categories:
        if cat.min is not None and cat.score < cat.min:
            reasons.append(f"一级指标“{cat.title}”得分 {fmt(cat.score)} 分，低于最低要求 {fmt(cat.min)} 分")
    if rule.min_total is not None and totals.total < rule.min_total:
        reasons.append(f"总分 {fmt(totals.total)} 分，低于 {fmt(rule.min_total)} 分")
    if rubric.bands is not None:
        return rate(rubric, rubric.bands, totals, facts or {}, reasons)
    text = rule.passed if not reasons else f"{rule.failed}：{'；'.join(reasons)}"
    return Verdict(not reasons, tuple(reasons), text)


def _where(ind: Indicator, name: str) -> str:
    inp = ind.input(name)
    return f"共用事实 {name}（指标 {ind.id} 使用）" if inp and inp.fact else f"指标 {ind.id} 输入 {name}"


def _label(ind: Indicator, name: str) -> str:
    inp = ind.input(name)
    return inp.label if inp else name


def _document_flags(bundle: Bundle, inp: Input, ans: Answer, rejected: set[str]) -> list[Flag]:
    if not ans.documents:
        return [Flag("no_document", inp.name, f"{inp.label}：{FLAGS['no_document'].text}")]
    out = []
    for ref in ans.documents:
        doc = bundle.documents[ref]
        status = "rejected" if ref in rejected else doc.status
        if status != "ok":
            where = clip(doc.file, limits.FILE_PRINTED)  # a flag per citation: a long path once, not a thousand times
            out.append(Flag(status, inp.name, f"{inp.label}：{FLAGS[status].text}（{ref} {where}）"))
    return out


def _checked(ind: Indicator, name: str, ans: Answer, file: str) -> Any:
    """The answer's value if it fits the input's declared type and range; else a clear error."""
    inp = ind.input(name)
    if inp is None:
        raise AssertionError("unknown inputs are refused before scoring")
    try:
        return inputs.check(inp, ans)
    except inputs.InputProblem as exc:
        raise ScoringError(exc.message, file, ans.line, _where(ind, name), exc.hint) from exc


ACTIONS = {"input": "更正输入", "score": "评定得分", "reject": "不采信文件"}
CODE = "code"  # the part of a bundle's path where an input's code is written (a workbook's 输入代码 cell)


def check_override(rubric: Rubric, bundle: Bundle, o: Override) -> None:
    """Refuse an override naming what the rubric or the bundle does not have."""
    ind = rubric.indicator(o.indicator)
    if ind is None:
        raise ScoringError(f"评分细则中没有指标 “{o.indicator}”", o.file, o.line, hint="请核对指标编号，如 1.1")
    where = f"指标 {o.indicator}"
    if o.action not in ACTIONS:
        raise ScoringError(f"不认识的评审操作 “{o.action}”", o.file, o.line, where, f"可选：{'、'.join(ACTIONS)}")
    if o.action == "input" and ind.input(o.target) is None:
        known = "、".join(i.name for i in ind.inputs)
        raise ScoringError(f"指标 {o.indicator} 没有输入 “{o.target}”", o.file, o.line, where, f"该指标的输入有：{known}")
    if o.action == "reject" and o.target not in bundle.documents:
        raise ScoringError(f"材料包中没有文件编号 “{o.target}”", o.file, o.line, where, "请核对所引文件的编号，如 D07")
    if o.action == "score":
        _set_score(ind, o)


def check_known(rubric: Rubric, bundle: Bundle) -> None:
    """Refuse a bundle for another rubric, or one naming indicators or inputs the rubric does not have."""
    if bundle.rubric != rubric.id:
        raise ScoringError(f"材料包对应的评分细则是 “{bundle.rubric}”，而所用评分细则是 “{rubric.id}”",
                           bundle.name, bundle.line(("rubric",)), hint="请用 --rubric 指定正确的评分细则")
    for ind_id, given in bundle.answers.items():
        ind = rubric.indicator(ind_id)
        if ind is None:
            raise ScoringError(f"评分细则中没有指标 “{ind_id}”", bundle.name,
                               bundle.line(("inputs", ind_id)), hint="请核对指标编号，如 1.1")
        for name, ans in given.items():
            inp = ind.input(name)
            # Where the input's code is written: its key, or a workbook's 输入代码 cell (not the answer's).
            at = bundle.line(("inputs", ind_id, name, CODE)) or ans.line
            if inp is None:
                known = "、".join(f"{i.name}（{i.label}）" for i in ind.inputs if not i.fact)
                raise ScoringError(f"指标 {ind_id} 没有输入 “{name}”", bundle.name, at, "输入代码",
                                   f"该指标的输入代码有：{known}；请改回原来的代码")
            if inp.fact:
                raise ScoringError(f"“{name}” 是多个指标共用的事实，不在指标 {ind_id} 下填写", bundle.name,
                                   at, "输入代码", f"请在 facts 中填写一次：facts: {{{name}: …}}")
    _check_facts(rubric, bundle)
    for key in bundle.statements:
        if rubric.indicator(key) is None:
            raise ScoringError(f"工作说明对应的指标 “{key}” 不存在", bundle.name, bundle.line(("statements", key)))


def _check_facts(rubric: Rubric, bundle: Bundle) -> None:
    known = {f.name for f in rubric.facts}
    for name, ans in bundle.facts.items():
        if name not in known:
            listed = "、".join(sorted(known)) or "（无）"
            raise ScoringError(f"评分细则中没有共用事实 “{name}”", bundle.name,
                               bundle.line(("facts", name, CODE)) or ans.line, "输入代码",
                               f"评分细则的共用事实有：{listed}；请改回原来的代码")
