"""`scoring rubric show`: a rubric's indicators, maxima and inputs, as a table or JSON."""

from __future__ import annotations

from typing import Any

from scoring.base.numbers import fmt
from scoring.domain.model import Input, Rubric


def _input(inp: Input) -> dict[str, Any]:
    data: dict[str, Any] = {"name": inp.name, "label": inp.label, "type": inp.type, "prompt": inp.prompt,
                            "document": inp.document}
    if inp.unit:
        data["unit"] = inp.unit
    for key in ("min", "max"):
        value = getattr(inp, key)
        if value is not None:
            data[key] = (value)
    if inp.values:
        data["values"] = [{"value": v, "label": label} for v, label in inp.values]
    return data


def rubric_json(rubric: Rubric) -> dict[str, Any]:
    return {
        "id": rubric.id, "title": rubric.title, "version": rubric.version, "total": (rubric.total),
        "sha256": rubric.sha256,
        **({"extends": rubric.extends, "tailoring": list(rubric.tailoring)} if rubric.extends else {}),
        "categories": [{
            "id": c.id, "title": c.title, "max": (c.max),
            "indicators": [{"id": i.id, "title": i.title, "mandatory": i.mandatory, "max": (i.max),
                            "lead": list(i.lead), "inputs": [_input(x) for x in i.inputs],
                            **({"own": i.own} if i.own else {})}
                           for i in c.indicators],
        } for c in rubric.categories],
        "facts": [_input(f) for f in rubric.facts],
        "bands": None if rubric.bands is None else {
            "levels": [{"name": b.name, "min_total": b.min_total,
                        "category_min": {cid: share for cid, share in b.category_min},
                        "prerequisites": [c.label for c in b.prerequisites]} for b in rubric.bands.levels],
            "veto": [c.label for c in rubric.bands.veto]},
    }


def rubric_table(rubric: Rubric) -> str:
    lines = [f"{rubric.title}（{rubric.version}）  总分 {fmt(rubric.total)}",
             *([f"继承自 {rubric.extends}：标“新增”“修改”的指标为本细则自定"] if rubric.extends else []), ""]
    for c in rubric.categories:
        lines.append(f"{c.id}、{c.title}（{fmt(c.max)} 分）")
        for i in c.indicators:
            kind = rubric.natures.short(i.mandatory)
            own = f"（{i.own}）" if i.own else ""
            lines.append(f"  {i.id:<5} {kind + '  ' if kind else ''}{fmt(i.max):>3} 分  {i.title}{own}")
            lines.extend(f"          · {x.label}（{x.name}，{x.type}{'，需佐证' if x.document else ''}）"
                         for x in i.inputs)
    if rubric.bands is not None:
        lines += ["", "星级："]
        for b in rubric.bands.levels:
            shares = "、".join(f"{cid} ≥ {fmt(share)}%" for cid, share in b.category_min)
            extra = [f"各一级指标得分率 {shares}" if shares else "", *(c.label for c in b.prerequisites)]
            lines.append(f"  {b.name}：总分 ≥ {fmt(b.min_total)}" + "".join(f"；{e}" for e in extra if e))
        lines += [f"  一票否决：{c.label}" for c in rubric.bands.veto]
    return "\n".join(lines) + "\n"
