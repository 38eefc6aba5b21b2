"""A score result as JSON, CSV and a terminal table (the report is in scoring/papers/report/)."""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from scoring.base.numbers import dumps, fmt
from scoring.base.text import csv_text, terminal
from scoring.domain.model import FLAGS, SELF
from scoring.domain.records import RATING_SCHEMA_VERSION, CenterRating, Programme, Rating, Summary
from scoring.domain.results import IndicatorResult, IndicatorScore, Result, StageResult, Step, Verdict
from scoring.papers.changes import Changes, Entry, unmet_why

SCHEMA_VERSION = 2


def result_data(result: Result) -> dict[str, Any]:
    """The machine-readable result (see scoring/schemas/result.schema.json): the self-assessment's
    figures at the top, each reviewing stage's in `reviews`, and every answer with its documents."""
    r, b = result.rubric, result.bundle
    return {
        "schema_version": SCHEMA_VERSION,
        "rubric": {"id": r.id, "title": r.title, "version": r.version, "sha256": r.sha256},
        "bundle": {"sha256": b.sha256},
        "assessee": dict(b.assessee),
        "period": dict(b.period),
        "max_total": r.total,
        **_stage(result.own, r.bands is not None),
        "reviews": [{"stage": s.stage, "reviewer": c.author, "unit": c.unit, "date": c.date,
                     **_stage(s, r.bands is not None)}
                    for s, c in zip(result.stages[1:], result.chain, strict=True)],
        "documents": [{"id": d.id, "file": d.file, "title": d.title, "number": d.number, "issuer": d.issuer,
                       "date": d.date, "sha256": d.sha256, "status": d.status} for d in b.documents.values()],
        "indicators": [_indicator(i) for i in result.indicators],
    }


def _stage(s: StageResult, bands: bool) -> dict[str, Any]:
    m = s.mandatory
    return {
        "total": s.total, "supported_total": s.supported_total,
        "categories": [{"id": c.id, "title": c.title, "score": c.score, "max": c.max} for c in s.categories],
        "mandatory": {"met": m.met, "total": m.total, "failures": list(m.failures),
                      "unsupported": list(m.unsupported)},
        "verdict": {"passed": s.verdict.passed, "reasons": list(s.verdict.reasons), "text": s.verdict.text,
                    **({"band": s.verdict.band, "next": s.verdict.next, "held": list(s.verdict.held),
                        "requested": s.verdict.requested, **_further(s.verdict)} if bands else {})},
    }


def _further(v: Verdict) -> dict[str, Any]:
    """What `held` does not already say: the bands beyond `next` and what held each, and the band the total
    alone would have given when it is above the band reached."""
    return {**({"further": [{"band": b.band, "held": list(b.held)} for b in v.further]} if v.further else {}),
            **({"by_total": v.total_alone} if v.total_alone else {})}


def _indicator(i: IndicatorResult) -> dict[str, Any]:
    return {
        "id": i.id, "title": i.indicator.title, "category": i.indicator.category,
        "max": i.indicator.max, "mandatory": i.indicator.mandatory,
        **({"own": i.indicator.own} if i.indicator.own else {}),
        "answers": [{"input": inp.name, "value": ans.value, "documents": list(ans.documents),
                     "reason": ans.reason, "note": ans.note}
                    for inp, ans in i.answers if ans is not None],
        **_score(i.own),
        "reviews": [{"stage": s.stage, **_score(s),
                     "overrides": [{"action": o.action, "target": o.target, "value": o.value, "reason": o.reason,
                                    "author": o.author} for o in s.overrides]}
                    for s in i.scores[1:]],
    }


def _score(s: IndicatorScore) -> dict[str, Any]:
    return {
        "score": s.points, "supported_score": s.supported, "missing": list(s.missing),
        "flags": [{"code": f.code, "input": f.input, "message": f.message} for f in s.flags],
        "trace": [_step(step) for step in s.trace],
    }


def _step(s: Step) -> dict[str, Any]:
    return {"rule": s.kind, "points": s.points, "text": s.text,
            "reads": [{"input": r.input, "value": r.value, "documents": list(r.documents)} for r in s.reads]}


def render_json(result: Result) -> str:
    return dumps(result_data(result))


def csv_table(head: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Every CSV we write: UTF-8 with a BOM so that Excel and WPS open the Chinese as Chinese; figures
    (Decimals, whole numbers) as numbers, None as an empty cell, and every text through `csv_text`, so that
    no spreadsheet evaluates text from outside as a formula."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(head)
    writer.writerows([_csv_cell(v) for v in row] for row in rows)
    return "\ufeff" + out.getvalue()


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return fmt(value)
    return csv_text(value) if isinstance(value, str) else str(value)


def render_csv(result: Result) -> str:
    """One row per indicator, with a score column per reviewing stage."""
    natures, stages = result.rubric.natures, [s.stage for s in result.stages[1:]]
    categories = {c.id: f"{c.id}、{c.title}" for c in result.rubric.categories}
    return csv_table(["指标", "名称", "一级指标", *(["性质"] if natures.mandatory else []), "分值", "自评得分",
                      "有据得分", *(f"{s}得分" for s in stages), "标记", "未填报"],
                     ([i.id, i.indicator.title, categories[i.indicator.category],
                       *([natures.of(i.indicator.mandatory)] if natures.mandatory else []),
                       i.indicator.max, i.score, i.supported_score, *(s.points for s in i.scores[1:]),
                       "、".join(sorted({FLAGS[f.code].short for f in i.flags})), "、".join(i.missing)]
                      for i in result.indicators))


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, right: bool = False) -> str:
    gap = " " * max(width - _width(text), 0)
    return gap + text if right else text + gap


def _clip(text: str, width: int) -> str:
    while _width(text) > width:
        text = text[:-2] + "…"
    return text


def render_table(result: Result) -> str:
    r, b, own = result.rubric, result.bundle, result.own
    lines = [f"{b.assessee['name']}  {r.title}（{r.version}）",
             f"评估期：{b.period['start']} 至 {b.period['end']}", ""]
    # With reviews, a column per reviewing stage, and the notes are the last stage's flags and who changed what.
    reviewed = result.stages[1:]
    head = (f"{_pad('指标', 6)}{_pad('名称', 30)}{_pad('性质', 6)}{_pad('得分', 8, True)}  {_pad('有据', 6, True)}"
            + "".join(f"  {_pad(s.stage, 6, True)}" for s in reviewed) + "  说明")
    for k, cat in enumerate(own.categories):
        staged = "".join(f"，{s.stage} {fmt(s.categories[k].score)}" for s in reviewed)
        lines += [f"{cat.id}、{cat.title}  {fmt(cat.score)}/{fmt(cat.max)}" + (f"（{staged[1:]}）" if staged else ""),
                  head]
        for i in result.in_category(cat.id):
            notes = sorted({FLAGS[f.code].short for f in i.final.flags})
            notes += [f"{s.stage}调整" for s in i.scores[1:] if s.overrides]
            lines.append(f"{_pad(i.id, 6)}{_pad(_clip(i.indicator.title, 28), 30)}"
                         f"{_pad(r.natures.short(i.indicator.mandatory), 6)}"
                         f"{_pad(fmt(i.score) + '/' + fmt(i.indicator.max), 8, True)}  "
                         f"{_pad(fmt(i.supported_score), 6, True)}"
                         + "".join(f"  {_pad(fmt(s.points), 6, True)}" for s in i.scores[1:])
                         + f"  {'、'.join(notes)}")
        lines.append("")
    lines.append(f"总分：{fmt(own.total)} / {fmt(r.total)}（有据得分 {fmt(own.supported_total)}）")
    lines += [line for stage in result.stages for line in _stage_lines(result, stage)]
    if result.missing:
        lines.append(f"未填报的输入：{len(result.missing)} 项（scoring score --format json 可查看明细）")
    return terminal("\n".join(lines)) + "\n"  # the table is for a terminal: rubric text may hold escapes


def _mandatory_line(stage: StageResult, noun: str, reviewed: bool) -> str:
    """16/16 项达到满分 for the self-assessment; at a reviewing stage, met means full marks its evidence supports."""
    m = stage.mandatory
    if m.judged:
        short = (f"（{'、'.join(m.unsupported)} 满分没有{stage.stage}采信的佐证支持，不计为达标）"
                 if m.unsupported else "")
        return f"{stage.stage}：{noun}：{m.met}/{m.total} 项达标{short}"
    unsupported = f"（其中佐证不足 {len(m.unsupported)} 项：{'、'.join(m.unsupported)}）" if m.unsupported else ""
    return f"{stage.stage + '：' if reviewed else ''}{noun}：{m.met}/{m.total} 项达到满分{unsupported}"


def _stage_lines(result: Result, stage: StageResult) -> list[str]:
    """Mandatory compliance (when the rubric has mandatory indicators) and the verdict of one stage."""
    m, noun = stage.mandatory, result.rubric.natures.must
    reviewed = stage is not result.own
    lines = []
    if reviewed:
        chain = result.chain[result.stages.index(stage) - 1]
        who = "，".join(x for x in (" ".join(y for y in (chain.unit, chain.author) if y), chain.date) if x)
        changed = sum(1 for i in result.indicators for s in i.scores if s.stage == stage.stage and s.overrides)
        pending = f"，另有 {len(chain.pending)} 条意见待复核（暂不生效）" if chain.pending else ""
        lines = ["", f"{stage.stage}" + (f"（{who}）" if who else "") + f"：调整 {changed} 项指标{pending}",
                 f"{stage.stage}总分：{fmt(stage.total)}（有据得分 {fmt(stage.supported_total)}）"]
    if m.total:
        lines.append(_mandatory_line(stage, noun, reviewed))
        lines += [f"  - {why}" for why in unmet_why(result, result.stages.index(stage))]
    lines.append(f"{stage.stage}结论：{stage.verdict.text}" if reviewed else f"结论：{stage.verdict.text}")
    v = stage.verdict
    if v.held:
        lines.append(f"{'未达到' + v.next if v.next else ''}的原因：" if v.next else "原因：")
        lines += [f"  - {reason}" for reason in v.held]
    for b in v.further:
        lines += [f"未达到{b.band}的原因：", *(f"  - {reason}" for reason in b.held)]
    if v.total_alone:
        lines.append(v.by_total_text(stage.total))
    return lines


# ---------------------------------------------------------------- what reviews changed (scoring diff)


def changes_data(ch: Changes) -> dict[str, Any]:
    """The 初评意见表 as data (scoring/schemas/changes.schema.json)."""
    r, b = ch.result.rubric, ch.result.bundle
    return {
        "schema_version": SCHEMA_VERSION,
        "rubric": {"id": r.id, "title": r.title, "version": r.version, "sha256": r.sha256},
        "bundle": {"sha256": b.sha256},
        "assessee": dict(b.assessee),
        "stages": [{"stage": s.stage.name, "reviewer": s.stage.author, "unit": s.stage.unit, "date": s.stage.date,
                    "before": _standing(s.before), "after": _standing(s.after), "outcome": s.outcome,
                    "changes": [{"indicator": c.indicator.id, "title": c.indicator.indicator.title,
                                 "max": c.indicator.indicator.max,
                                 "before": {"score": c.before.points, "supported_score": c.before.supported},
                                 "after": {"score": c.after.points, "supported_score": c.after.supported},
                                 "entries": [_entry(e) for e in c.entries]} for c in s.changes],
                    "pending": [_entry(e) for e in s.pending]} for s in ch.stages],
        "unaddressed": [{"indicator": i.id, "title": i.indicator.title, "score": i.own.points,
                         "supported_score": i.own.supported, "flags": [f.message for f in i.own.flags]}
                        for i in ch.unaddressed],
    }


def _standing(s: StageResult) -> dict[str, Any]:
    return {"stage": s.stage, "total": s.total, "supported_total": s.supported_total,
            "mandatory": {"met": s.mandatory.met, "total": s.mandatory.total},
            "verdict": {"passed": s.verdict.passed, "text": s.verdict.text}}


def _entry(e: Entry) -> dict[str, Any]:
    o = e.override
    return {"indicator": o.indicator, "action": o.action, "target": o.target, "value": o.value, "text": e.text,
            "reason": o.reason, "reviewer": o.author}


CHANGES_HEAD = ["阶段", "评审人", "指标", "名称", "调整前得分", "调整后得分", "调整前有据得分", "调整后有据得分",
                "调整内容", "理由"]


def changes_rows(ch: Changes) -> list[list[Any]]:
    """One row per review entry (待复核 ones marked), then each stage's totals before and after; figures
    stay Decimals for the CSV to print and the workbook to keep as numbers."""
    rows: list[list[Any]] = []
    for s in ch.stages:
        for c in s.changes:
            rows += [[s.stage.name, e.override.author, c.indicator.id, c.indicator.indicator.title, c.before.points,
                      c.after.points, c.before.supported, c.after.supported, e.text, e.override.reason]
                     for e in c.entries]
        for e in s.pending:
            title = getattr(ch.result.rubric.indicator(e.override.indicator), "title", "")
            rows.append([s.stage.name, e.override.author, e.override.indicator, title, "", "", "", "",
                         f"【待复核，暂不生效】{e.text}", e.override.reason])
    for s in ch.stages:
        rows.append([s.stage.name, s.stage.author, "合计", f"{s.before.stage} → {s.stage.name}", s.before.total,
                     s.after.total, s.before.supported_total, s.after.supported_total, s.after.verdict.text,
                     s.outcome])
    return rows


def render_changes_csv(ch: Changes) -> str:
    return csv_table(CHANGES_HEAD, changes_rows(ch))


# ---------------------------------------------------------------- the city's summary (scoring review summary)


def summary_data(s: Summary) -> dict[str, Any]:
    """One entry per county (scoring/schemas/summary.schema.json)."""
    return {
        "schema_version": SCHEMA_VERSION, "rubric": s.rubric, "unit": s.unit, "stages": list(s.stages),
        "counties": [{"source": c.source, "name": c.name, "bundle_sha256": c.bundle_sha256, "max_total": c.max_total,
                      "reviews": list(c.reviews), "recommended": c.recommended, "error": c.error,
                      "stages": [{"stage": f.stage, "total": f.total, "supported_total": f.supported,
                                  "mandatory": {"met": f.mandatory_met, "total": f.mandatory_total},
                                  "verdict": {"passed": f.passed, "text": f.verdict}, "unit": f.unit,
                                  "reviewer": f.reviewer, "date": f.date, "pending": f.pending}
                                 for f in c.stages]}
                     for c in s.counties],
        "problems": list(s.problems),
    }


def render_summary_csv(s: Summary) -> str:
    """One row per county: each stage's total, supported total and mandatory compliance, the last
    stage's verdict and the city's recommendation; an unreadable bundle's row carries its error."""
    head, noun = ["材料包", "被评估单位"], s.mandatory
    for stage in s.stages:
        head += [f"{stage}总分", f"{stage}有据得分", *([f"{stage}{noun}达标"] if noun else [])]
    rows: list[list[Any]] = []
    for c in s.counties:
        row: list[Any] = [c.source, c.name]
        for stage in s.stages:
            f = c.at(stage)
            cells = [f.total, f.supported, f"{f.mandatory_met}/{f.mandatory_total}"] if f else ["", "", ""]
            row += cells if noun else cells[:2]
        last = c.stages[-1] if c.stages else None
        rows.append([*row, f"{last.stage}结论：{last.verdict}" if last else "", c.recommended, c.error])
    rows += [["", "", *([""] * (len(head) - 2)), "", "", problem] for problem in s.problems]
    return csv_table([*head, "结论", "是否推荐", "错误"], rows)


# ---------------------------------------------------------------- a committee's run (scoring rate)


def rating_data(r: Rating) -> dict[str, Any]:
    """ratings.json (scoring/schemas/rating.schema.json); next year's run reads it with --previous."""
    p, last = r.programme, r.previous
    return {
        "schema_version": RATING_SCHEMA_VERSION,
        "programme": {"id": p.id, "series": p.family, "title": p.title, "sha256": p.sha256, "payer": p.payer,
                      "refund_by": p.refund_by},
        "year": r.year, "rubric_id": r.rubric_id,
        "previous": None if last is None else {"file": Path(last.file).name, "programme": last.programme, "year": last.year},
        "rubric": r.rubric_title, "bands": list(r.bands), "city_total": r.city_total,
        "quota": {"share": p.quota_share, "centers": r.quota, "cut": r.cut, "ties": list(r.ties), "rule": p.ties},
        "target": {"band": p.target_band, "share": p.target_share, "reached": r.at_target},
        "centers": [_center(c, p) for c in r.centers],
        "districts": [{"district": d.district, "centers": d.centers, "rewarded": d.rewarded, "reward": d.reward,
                       "payer_share": d.payer_share, "refund": d.refund} for d in r.districts],
        "totals": {"centers": r.city.centers, "rewarded": r.city.rewarded, "reward": r.city.reward,
                   "payer_share": r.city.payer_share, "refund": r.city.refund},
        "unrated": [{"id": i, "name": n, "district": d} for i, n, d in r.unrated],
        "problems": list(r.problems),
    }


def center_data(r: Rating, c: CenterRating) -> dict[str, Any]:
    """What one center's 评定结果单 carries: its entry of ratings.json, with the run it belongs to."""
    p = r.programme
    return {"schema_version": RATING_SCHEMA_VERSION,
            "programme": {"id": p.id, "series": p.family, "title": p.title, "sha256": p.sha256},
            "year": r.year, "rubric_id": r.rubric_id, "rubric": r.rubric_title, "center": _center(c, p)}


def _center(c: CenterRating, p: Programme) -> dict[str, Any]:
    return {"source": c.source, "id": c.id, "name": c.name, "district": c.district, "score": c.score,
            "supported_score": c.supported, "claimed_score": c.claimed, "claimed_band": c.claimed_band,
            "stage": c.stage, "stage_name": p.stage_name(c.stage) if c.stage else "", "band": c.band, "next": c.next, "held": list(c.held),
            "rank": c.rank, "rewarded": c.rewarded, "reward": c.reward, "payer_share": c.payer_share,
            "refund": c.refund, "tie": c.tie, "years_below": c.years_below, "exit": c.exit, "error": c.error,
            "flags": list(c.flags), "bundle_sha256": c.sha256, "bundle_district": c.bundle_district,
            "submitted": c.submitted}


def rating_head(r: Rating) -> list[str]:
    p = r.programme
    return ["名次", "编号", "名称", "区（市）", "得分", "有据得分", r.noun, "未达到上一级的原因", p.money,
            f"{p.payer or '兑现方'}承担", f"{p.refund_by or '返还方'}返还", "并列", "连续未达标年数", "取消资格",
            "标记", "错误", "评定阶段", "自报得分", f"自报{r.noun}"]


def rating_rows(r: Rating) -> list[list[Any]]:
    """One row per center in ranking order (the broken ones last), then a row per district and the city;
    figures stay Decimals for the CSV to print and the workbook to keep as numbers."""
    rows: list[list[Any]] = [
        [c.rank or "", c.id, c.name, c.district, c.score, c.supported, c.band or "", "；".join(c.held), c.reward,
         c.payer_share, c.refund, "是" if c.tie else "", c.years_below, "是" if c.exit else "", "；".join(c.flags),
         c.error, stage_words(r.programme, c), c.claimed, c.claimed_band or ""] for c in r.centers]
    rows += [["", "", f"{d.district or '区（市）待核实'}合计", d.district, None, None, "",
              f"{d.centers} 个{r.programme.unit}，{r.programme.money} {d.rewarded} 个", d.reward, d.payer_share, d.refund, "", "", "", "", "",
              "", None, ""] for d in r.districts]
    city = r.city
    took = "名册" if r.programme.graded else "参评"
    rows.append(["", "", city.district, "", None, None, "", f"{took} {city.centers} 个，全市共 {r.city_total} 个",
                 city.reward, city.payer_share, city.refund, "", "", "", "", "", "", None, ""])
    return rows


def stage_words(p: Programme, c: CenterRating) -> str:
    """The stage a center is rated at, in words: the programme's name for it, or that there is only the
    center's own self-assessment."""
    if not c.stage:
        return ""
    if c.stage == SELF:
        return f"仅有{p.unit}自评，未经{p.assessment}"
    return p.stage_name(c.stage)


def render_rating_csv(r: Rating) -> str:
    return csv_table(rating_head(r), rating_rows(r))
