"""Rating programmes: a committee's rewards, quota, payers, exit rule and target, as YAML data
(scoring/schemas/programme.schema.json), read through the one safe reader and checked against the rubric
whose bands they name."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from scoring.base import limits
from scoring.base.errors import ScoringError, ScoringErrors
from scoring.base.numbers import ZERO, dec, fmt
from scoring.domain.model import STAGES, Rubric
from scoring.domain.records import Grade, Programme
from scoring.loading import readers, validate
from scoring.loading.yamlio import YamlDoc, load_yaml

ROUNDING = {"yuan": Decimal(1), "jiao": Decimal("0.1"), "fen": Decimal("0.01")}


def read(path: Path) -> tuple[Programme, YamlDoc]:
    """Read, schema-check and build a programme (not yet checked against a rubric: see `check`)."""
    raw = readers.read_regular(path, limits.PROGRAMME_BYTES, "奖补方案文件", "请检查 --programme 的路径")
    doc = load_yaml(raw, str(path))
    validate.check(doc, "programme", "奖补方案")
    return build(doc, hashlib.sha256(raw).hexdigest()), doc


def check(built: Programme, doc: YamlDoc, rubric: Rubric | None) -> Programme:
    """Refuse a programme that does not fit its rubric (or, graded from the registry, its own grades)."""
    problems = list(lint(built, rubric, doc))
    if problems:
        raise ScoringErrors(problems)
    return built


def load(path: Path, rubric: Rubric | None) -> Programme:
    """Read, schema-check and build a programme, then refuse one that does not fit the rubric."""
    return check(*read(path), rubric)


def build(doc: YamlDoc, sha256: str) -> Programme:
    d = validate.clean(doc.data, doc)  # every string: control characters refused, shown safely
    reward, quota, funding = d["reward"], d.get("quota") or {}, d.get("funding") or {}
    factor = reward.get("factor")
    by_band = factor.get("by_band", {}) if isinstance(factor, dict) else {}
    within = factor.get("within") if isinstance(factor, dict) else None
    refund, leave, target = funding.get("refund") or {}, d.get("exit") or {}, d.get("target") or {}
    base, grade = reward["base"], d.get("grade")
    return Programme(
        id=d["id"], title=d["title"], source=d.get("source", ""), rubric=d.get("rubric", ""),
        base_by_band=_pairs(base.get("by_band")), base_per_fact=_pairs(base.get("per_fact")),
        base_per_column=_pairs(base.get("per_column")), base_column=(base.get("by_column") or {}).get("column", ""),
        base_by_column=_pairs((base.get("by_column") or {}).get("amounts")),
        factor_within=(dec(within[0]), dec(within[1])) if within else None,
        grade=None if grade is None else Grade(grade["column"], tuple(grade["levels"]), grade.get("by", ""),
                                               grade.get("noun", "等级"), grade.get("none", "未评定等级")),
        unit=d.get("unit", "养老服务中心"), money=reward.get("name", "奖励"), notes=tuple(d.get("notes", ())),
        factor="score" if factor == "score" else ("band" if by_band else ""), factor_by_band=_pairs(by_band),
        factor_none=dec(factor.get("none", 0)) if isinstance(factor, dict) else ZERO,
        round_to=ROUNDING[reward.get("round", "yuan")],
        quota_share=None if not quota else dec(quota["share"]), ties=quota.get("ties", ""),
        payer=funding.get("payer", ""), refund_by=refund.get("by", ""), refund_percent=dec(refund.get("percent", 0)),
        exit_below=leave.get("below", ""), exit_years=leave.get("years", 0),
        target_band=target.get("band", ""), target_share=None if not target else dec(target["share"]),
        path=doc.name, sha256=sha256, year=d.get("year"), series=d.get("series", ""),
        exit_unreadable=leave.get("unreadable", "below"), stage_names=tuple((d.get("stages") or {}).items()))


def _pairs(given: Mapping[str, Any] | None) -> tuple[tuple[str, Decimal], ...]:
    return tuple((k, dec(v)) for k, v in (given or {}).items())


def lint(p: Programme, rubric: Rubric | None, doc: YamlDoc) -> Iterator[ScoringError]:
    """A programme must name the rubric it is used with (or read its grades from the registry), its bands
    and its counted facts or columns, and keep its percentages within the range its source sets."""
    def err(message: str, *path: str) -> ScoringError:
        return ScoringError(message, p.path, doc.line(path) if path else None, hint="请对照评分细则的等级与共用事实")

    yield from (err(m, *where) for m, where in _source(p, rubric))
    bands = list(p.grade.levels) if p.grade else [b.name for b in rubric.bands.levels] if rubric and rubric.bands else []
    of = "名册等级（grade.levels）" if p.grade else f"评分细则的{rubric.bands.noun if rubric and rubric.bands else '等级'}"
    for where, pairs in (("reward.base.by_band", p.base_by_band), ("reward.factor.by_band", p.factor_by_band)):
        for band, _ in pairs:
            if band not in bands:
                yield err(f"{where} 中的 “{band}” 不是{of}（{'、'.join(bands)}）", *where.split("."))
    for fact, _ in p.base_per_fact if rubric is not None else ():
        declared = rubric.fact(fact) if rubric is not None else None
        if declared is None or declared.type not in ("integer", "number"):
            yield err(f"reward.base.per_fact 中的 “{fact}” 应为评分细则中数值类的共用事实", "reward", "base")
    for stage, name in p.stage_names:
        if stage not in STAGES[1:]:
            yield err(f"stages 中的 “{stage}” 不是评审阶段（{'、'.join(STAGES[1:])}）", "stages")
        elif rubric is not None and rubric.stage_name(stage) not in (stage, name):
            yield err(f"stages 把{stage}称为“{name}”，而评分细则 “{rubric.id}” 称之为“{rubric.stage_name(stage)}”："
                      "评审意见文件和文书应使用同一名称，请删去方案中的 stages 或与细则一致", "stages")
    for key, band in (("exit", p.exit_below), ("target", p.target_band)):
        if band and band not in bands:
            yield err(f"{key} 中的 “{band}” 不是{of}（{'、'.join(bands)}）", key)
    if p.factor_within:
        low, high = p.factor_within
        for band, percent in (*p.factor_by_band, ("none", p.factor_none)):
            if percent and not low <= percent <= high:
                yield err(f"reward.factor 中 “{band}” 的 {fmt(percent)}% 不在依据文件规定的 {fmt(low)}%–{fmt(high)}% 之内",
                          "reward", "factor")


def _source(p: Programme, rubric: Rubric | None) -> Iterator[tuple[str, tuple[str, ...]]]:
    """Where the grades come from: a rubric (the one given) or the registry (no rubric, no registry columns
    otherwise)."""
    if p.grade is not None:
        if p.rubric or rubric is not None:
            yield "等级取自名册（grade）的奖补方案不按评分细则评分：请删去 rubric，运行时不给 --rubric、不给材料包目录", ("grade",)
        if p.factor == "score":
            yield "等级取自名册时没有得分：reward.factor 不能为 score，请按等级写 by_band", ("reward", "factor")
        if p.quota_share is not None:
            yield "等级取自名册时没有得分，无法按名次划定奖励名额：请删去 quota", ("quota",)
        if p.base_per_fact:
            yield "等级取自名册时没有材料包的共用事实：reward.base 请用 per_column（按名册中的人数等列）", ("reward", "base")
        return
    if not p.rubric:
        yield "奖补方案应写明 rubric（按哪个评分细则评定），或用 grade 从名册读取已有的等级评定结果", ()
    elif rubric is None:
        yield f"奖补方案按评分细则 “{p.rubric}” 评定：请用 --rubric 给出评分细则，并给出材料包目录", ("rubric",)
    elif p.rubric != rubric.id:
        yield f"奖补方案适用的评分细则是 “{p.rubric}”，而所用评分细则是 “{rubric.id}”", ("rubric",)
    elif not rubric.bands:
        yield f"评分细则 “{rubric.id}” 没有等级（bands），无法按等级奖补", ("rubric",)
    if p.base_per_column or p.base_by_column:
        yield "reward.base 的 per_column、by_column 只用于等级取自名册（grade）的方案", ("reward", "base")


def warnings(p: Programme) -> list[str]:
    """What a programme allows that a committee should know before it signs (not refused)."""
    out = []
    if p.ties == "include" and p.quota_share is not None:
        out.append(f"奖补方案 {p.path}：quota.ties 为 include，名额线上得分并列的中心均予奖励，获奖励的中心可能超过"
                   f"全市总数的 {fmt(p.quota_share)}%（名额上限）；评定结果中会列出超过的个数")
    return out

