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
from scoring.domain.records import Programme
from scoring.loading import readers, validate
from scoring.loading.yamlio import YamlDoc, load_yaml

ROUNDING = {"yuan": Decimal(1), "jiao": Decimal("0.1"), "fen": Decimal("0.01")}


def load(path: Path, rubric: Rubric) -> Programme:
    """Read, schema-check and build a programme, then refuse one that does not fit the rubric."""
    raw = readers.read_regular(path, limits.PROGRAMME_BYTES, "奖补方案文件", "请检查 --programme 的路径")
    doc = load_yaml(raw, str(path))
    validate.check(doc, "programme", "奖补方案")
    built = build(doc, hashlib.sha256(raw).hexdigest())
    problems = list(lint(built, rubric, doc))
    if problems:
        raise ScoringErrors(problems)
    return built


def build(doc: YamlDoc, sha256: str) -> Programme:
    d = validate.clean(doc.data, doc)  # every string: control characters refused, shown safely
    reward, quota, funding = d["reward"], d.get("quota") or {}, d.get("funding") or {}
    factor = reward.get("factor")
    by_band = factor.get("by_band", {}) if isinstance(factor, dict) else {}
    refund, leave, target = funding.get("refund") or {}, d.get("exit") or {}, d.get("target") or {}
    return Programme(
        id=d["id"], title=d["title"], source=d.get("source", ""), rubric=d["rubric"],
        base_by_band=_pairs(reward["base"].get("by_band")), base_per_fact=_pairs(reward["base"].get("per_fact")),
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


def lint(p: Programme, rubric: Rubric, doc: YamlDoc) -> Iterator[ScoringError]:
    """A programme must name the rubric it is used with, its bands and its counted facts."""
    def err(message: str, *path: str) -> ScoringError:
        return ScoringError(message, p.path, doc.line(path) if path else None, hint="请对照评分细则的星级与共用事实")

    if p.rubric != rubric.id:
        yield err(f"奖补方案适用的评分细则是 “{p.rubric}”，而所用评分细则是 “{rubric.id}”", "rubric")
    bands = [b.name for b in rubric.bands.levels] if rubric.bands else []
    if not bands:
        yield err(f"评分细则 “{rubric.id}” 没有星级（bands），无法按星级奖补", "rubric")
    for where, pairs in (("reward.base.by_band", p.base_by_band), ("reward.factor.by_band", p.factor_by_band)):
        for band, _ in pairs:
            if band not in bands:
                yield err(f"{where} 中的 “{band}” 不是评分细则的星级（{'、'.join(bands)}）", *where.split("."))
    for fact, _ in p.base_per_fact:
        declared = rubric.fact(fact)
        if declared is None or declared.type not in ("integer", "number"):
            yield err(f"reward.base.per_fact 中的 “{fact}” 应为评分细则中数值类的共用事实", "reward", "base")
    for stage, _ in p.stage_names:
        if stage not in STAGES[1:]:
            yield err(f"stages 中的 “{stage}” 不是评审阶段（{'、'.join(STAGES[1:])}）", "stages")
    for key, band in (("exit", p.exit_below), ("target", p.target_band)):
        if band and band not in bands:
            yield err(f"{key} 中的 “{band}” 不是评分细则的星级（{'、'.join(bands)}）", key)


def warnings(p: Programme) -> list[str]:
    """What a programme allows that a committee should know before it signs (not refused)."""
    out = []
    if p.ties == "include" and p.quota_share is not None:
        out.append(f"奖补方案 {p.path}：quota.ties 为 include，名额线上得分并列的中心均予奖励，获奖励的中心可能超过"
                   f"全市总数的 {fmt(p.quota_share)}%（名额上限）；评定结果中会列出超过的个数")
    return out

