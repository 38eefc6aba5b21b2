"""Review files meet the rubric and the bundle: each entry checked against what they hold, the stages in
order. The pipeline's only way from review files (as loading/review.py reads them) to the stages the engine
applies; the CLI, the summary, the committee's run and the desk all come through here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from scoring.base.errors import ScoringError
from scoring.domain import engine
from scoring.domain.model import Bundle, Rubric, Stage
from scoring.domain.results import Result, StageResult
from scoring.loading.review import Review, canonical, check_order


def score(rubric: Rubric, bundle: Bundle, reviews: Sequence[Review] = ()) -> Result:
    """The bundle scored with the reviews' stages applied, once they are checked; the self-score first."""
    return engine.score(rubric, bundle, checked(reviews, rubric, bundle))


def checked(reviews: Sequence[Review], rubric: Rubric, bundle: Bundle) -> tuple[Stage, ...]:
    """The stages of reviews in the order given, once that order and each review are checked; a stage the
    rubric names otherwise (第三方评估) is known by its place in the order (初评)."""
    reviews = [canonical(r, rubric) for r in reviews]
    check_order(reviews)
    return tuple(check(r, rubric, bundle) for r in reviews)


def check(review: Review, rubric: Rubric, bundle: Bundle) -> Stage:
    """The review's stage, once every entry fits the rubric and the bundle; else a ScoringError."""
    name = review.file
    if review.rubric != rubric.id:
        raise ScoringError(f"评审意见对应的评分细则是 “{review.rubric}”，而所用评分细则是 “{rubric.id}”",
                           name, review.rubric_line)
    if review.bundle_sha256 != bundle.sha256:
        raise ScoringError(
            f"评审意见针对的是另一个材料包：评审时的材料包 SHA-256 为 {review.bundle_sha256[:12]}…，"
            f"所给材料包为 {bundle.sha256[:12]}…", name, review.sha_line,
            hint="县里重新报送了材料包时，请用 scoring review carry 评审意见文件 新材料包 -o 新评审意见文件 "
                 "结转，结转后材料有变化的指标标为待复核")
    for o in review.stage.pending:  # waiting to be re-checked: only the indicator must still exist
        if rubric.indicator(o.indicator) is None:
            raise ScoringError(f"评分细则中没有指标 “{o.indicator}”", name, o.line, hint="请核对指标编号")
    seen: dict[tuple[str, str, str], int | None] = {}
    for o in review.stage.overrides:
        # Unknown indicators, inputs and documents, and scores off range or step: the engine's own check.
        engine.check_override(rubric, bundle, o)
        where = f"指标 {o.indicator}"
        key = (o.indicator, o.action, o.target)
        if key in seen:
            what = {"score": "定分", "input": f"更正输入 {o.target}", "reject": f"不采信文件 {o.target}"}[o.action]
            raise ScoringError(f"同一指标的“{what}”写了两次（第一次在第 {seen[key]} 行）", name, o.line, where,
                               hint="请合并为一条")
        seen[key] = o.line
        ind = rubric.indicator(o.indicator)
        answers = engine.answers_of(bundle, ind).values() if ind else ()
        cited = sorted({d for ans in answers for d in ans.documents})
        if o.action == "reject" and o.target not in cited:
            listed = "、".join(cited) if cited else "（无）"
            raise ScoringError(f"指标 {o.indicator} 的填报没有引用文件 {o.target}，不采信它不会改变得分", name,
                               o.line, where, hint=f"该指标引用的文件有：{listed}")
    return review.stage


def on_evidence(result: Result) -> StageResult:
    """The last stage judged again on its supported points only: a claim without its evidence earns no
    points, so it can raise neither a band nor an amount (the committee's ruling, docs/programmes.md)."""
    k, last = len(result.stages) - 1, result.final
    totals = engine.aggregate(result.rubric, [replace(i.scores[k], points=i.scores[k].supported)
                                              for i in result.indicators])
    return StageResult(last.stage, totals, engine.judge(result.rubric, totals, last.facts), last.facts)
