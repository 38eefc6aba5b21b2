"""Output formats for a score result, registered in one place."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any

from .engine import IndicatorResult, Result
from .numbers import dumps, fmt

SCHEMA_VERSION = 1


def result_data(result: Result) -> dict[str, Any]:
    """The machine-readable result (see scoring/schemas/result.schema.json)."""
    r, b = result.rubric, result.bundle
    return {
        "schema_version": SCHEMA_VERSION,
        "rubric": {"id": r.id, "title": r.title, "version": r.version, "sha256": r.sha256},
        "bundle": {"sha256": b.sha256},
        "assessee": dict(b.assessee),
        "period": dict(b.period),
        "total": (result.total),
        "supported_total": (result.supported_total),
        "max_total": (r.total),
        "categories": [{"id": c.id, "title": c.title, "score": (c.score), "max": (c.max)}
                       for c in result.categories],
        "indicators": [_indicator(i) for i in result.indicators],
        "mandatory": {"met": result.mandatory_met, "total": result.mandatory_total,
                      "failures": list(result.mandatory_failures),
                      "unsupported": list(result.mandatory_unsupported)},
        "verdict": {"passed": result.passed, "reasons": list(result.verdict_reasons),
                    "text": verdict_text(result)},
    }


def verdict_text(result: Result) -> str:
    return "达到创建标准" if result.passed else "未达到创建标准：" + "；".join(result.verdict_reasons)


def _indicator(i: IndicatorResult) -> dict[str, Any]:
    return {
        "id": i.id, "title": i.indicator.title, "category": i.indicator.category,
        "score": (i.score), "max": (i.indicator.max), "mandatory": i.indicator.mandatory,
        "supported_score": (i.supported_score), "missing": list(i.missing),
        "flags": [{"code": f.code, "input": f.input, "message": f.message} for f in i.flags],
        "trace": [{"rule": s.kind, "points": (s.points), "text": s.text} for s in i.trace],
    }


def render_json(result: Result) -> str:
    return dumps(result_data(result))


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
    r, b = result.rubric, result.bundle
    lines = [f"{b.assessee['name']}  {r.title}（{r.version}）",
             f"评估期：{b.period['start']} 至 {b.period['end']}", ""]
    head = f"{_pad('指标', 6)}{_pad('名称', 30)}{_pad('性质', 6)}{_pad('得分', 8, True)}  {_pad('有据', 6, True)}  说明"
    for cat in result.categories:
        lines += [f"{cat.id}、{cat.title}  {fmt(cat.score)}/{fmt(cat.max)}", head]
        for i in cat.indicators:
            kind = "强制" if i.indicator.mandatory else "倡导"
            notes = sorted({_FLAG_SHORT.get(f.code, f.code) for f in i.flags})
            lines.append(f"{_pad(i.id, 6)}{_pad(_clip(i.indicator.title, 28), 30)}{_pad(kind, 6)}"
                         f"{_pad(fmt(i.score) + '/' + fmt(i.indicator.max), 8, True)}  "
                         f"{_pad(fmt(i.supported_score), 6, True)}  {'、'.join(notes)}")
        lines.append("")
    lines += [f"总分：{fmt(result.total)} / {fmt(r.total)}（有据得分 {fmt(result.supported_total)}）",
              f"强制性指标：{result.mandatory_met}/{result.mandatory_total} 项达到满分"
              + (f"（其中佐证不足 {len(result.mandatory_unsupported)} 项：{'、'.join(result.mandatory_unsupported)}）"
                 if result.mandatory_unsupported else ""),
              f"结论：{verdict_text(result)}"]
    if result.missing:
        lines.append(f"未填报的输入：{len(result.missing)} 项（scoring score --format json 可查看明细）")
    return "\n".join(lines) + "\n"


_FLAG_SHORT = {"missing": "缺填报", "no_document": "缺佐证", "file_missing": "文件缺失",
               "hash_mismatch": "哈希不符", "document_date": "文件日期不符"}

FORMATS: dict[str, Callable[[Result], str]] = {"table": render_table, "json": render_json}
