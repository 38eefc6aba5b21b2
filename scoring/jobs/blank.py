"""`scoring init`: a blank bundle listing every input with its Chinese prompt (as YAML here, or as the
fill-in workbook written by workbook.py)."""

from __future__ import annotations

import json
from pathlib import Path

from scoring.base.errors import ScoringError
from scoring.base.files import write_atomic, write_folder
from scoring.base.numbers import fmt
from scoring.domain.inputs import TYPES, hint
from scoring.domain.model import NARRATIVE, Input, Rubric

SIGNOFF = {
    "unit": "填报单位（加盖公章的单位全称）",
    "head": "单位负责人",
    "preparer": "填报人",
    "phone": "联系电话",
    "date": "报告日期（YYYY-MM-DD）",
}


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _line(text: str) -> str:
    """Rubric text made safe for a one-line YAML comment."""
    return " ".join(text.split())


def blank_manifest(rubric: Rubric, assessee: str = "") -> str:
    out = [f"# {_line(rubric.title)}（{_line(rubric.version)}）自评材料清单",
           "# 每个输入下填写 value（取值）；要求佐证的，在 documents 中写所引文件的 id。",
           "# 是否类的输入填 是 或 否（也可写 true、false）；选择类的输入写选项名称或代码均可，如 三档（1分）或 low；",
           "# 多选可写成一行，用“、”分隔。评审意见中更正输入的 value 也一样。",
           "# 未填写（null）的输入不得分，并在结果中列为未填报。",
           f"rubric: {rubric.id}", "assessee:", f"  name: {_q(assessee)}  # 被评估单位名称，如 高青县",
           *(["  # id: 编号        # 全市名册中的编号，星级评定按它对照上一年的结果",
              "  # district: 区（市）  # 兑现奖励的区（市）"] if rubric.bands else []),
           "period:", "  start: 2022-01-01  # 评估期开始日期", "  end: 2022-12-31  # 评估期结束日期",
           "", "# 佐证文件：文件放入 documents 文件夹后运行 scoring docs 本文件夹，自动逐项登记（含 SHA-256），再补充标题、文号等",
           "documents: []", "#  - id: D01", "#    file: documents/文件名.pdf", "#    title: 文件标题",
           "#    number: 文号", "#    issuer: 发文单位", "#    date: 2022-08-26", "#    sha256: …", ""]
    if rubric.facts:
        out += ["# 共用事实：多个指标共用的事实，在此填写一次，使用它的各指标都按这一填报计分", "facts:"]
        banded = rubric.bands.facts if rubric.bands else set()
        for inp in rubric.facts:
            users = "、".join(i.id for i in rubric.indicators if inp.name in i.facts)
            used = [f"指标 {users}" if users else "", "星级评定条件" if inp.name in banded else ""]
            out += _asked(inp, "  ", f"（{'及'.join(u for u in used if u)}使用）")
        out.append("")
    out.append("inputs:")
    for cat in rubric.categories:
        out.append(f"  # {cat.id}、{_line(cat.title)}（共 {fmt(cat.max)} 分）")
        for ind in cat.indicators:
            kind = rubric.natures.noun(ind.mandatory)
            own = [inp for inp in ind.inputs if not inp.fact]
            out += [f"  # {ind.id} {_line(ind.title)}（{kind + '，' if kind else ''}{fmt(ind.max)} 分）",
                    *(f"  # 另按共用事实“{_line(inp.label)}”（facts 中的 {inp.name}）计分"
                      for inp in ind.inputs if inp.fact),
                    f"  {_q(ind.id)}:{'' if own else ' {}'}"]
            for inp in own:
                out += _asked(inp, "    ")
    out += ["", "# 自评报告的文字部分（可写在此处，或写成材料包内的文本文件：overview: {file: narrative/基本情况.txt}）",
            "narrative:"]
    out += [f"  {k}: \"\"  # {h}{'：' + more if more else ''}" for k, h, more in NARRATIVE]
    out += ["", "# 各指标的工作说明（可选），如 \"1.1\": 已建立……", "statements: {}", "", "# 报告落款", "signoff:"]
    out += [f"  # date: 2022-11-20  # {v}" if k == "date" else f"  {k}: \"\"  # {v}" for k, v in SIGNOFF.items()]
    return "\n".join(out) + "\n"


def questions(rubric: Rubric) -> int:
    """How many answers the blank bundle asks for: each shared fact once, and every indicator's own inputs."""
    return len(rubric.facts) + sum(1 for ind in rubric.indicators for inp in ind.inputs if not inp.fact)


def _asked(inp: Input, indent: str, users: str = "") -> list[str]:
    """One input's question, how to answer it, and its empty answer."""
    out = [f"{indent}# {_line(inp.prompt)}{users}", f"{indent}# {_line(hint(inp))}", f"{indent}{inp.name}:",
           f"{indent}  value: null"]
    if TYPES[inp.type].reason:
        out.append(f"{indent}  reason: \"\"")
    if inp.document:
        out.append(f"{indent}  documents: []")
    return out


def write_blank(rubric: Rubric, target: Path, assessee: str = "", xlsx: bool = False) -> Path:
    """A blank bundle in `target`: bundle.yaml, or with `xlsx` the fill-in workbook, beside an empty
    documents/ folder. A new folder is made whole beside its place and then put there, never half."""
    from scoring.loading import workbook

    manifest = target / (workbook.FILE if xlsx else "bundle.yaml")
    for name in ("bundle.yaml", workbook.FILE):
        if (target / name).exists():
            raise ScoringError(f"该目录中已有 {name}，不会覆盖", str(target / name), hint="请换一个空目录")
    if target.exists() and not target.is_dir():
        raise ScoringError("目标不是目录", str(target))
    data = workbook.blank(rubric, assessee) if xlsx else blank_manifest(rubric, assessee).encode()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ScoringError("无法创建材料包目录", str(target), hint="请换一个空目录，并检查写入权限") from exc

    def fill(folder: Path) -> None:
        (folder / "documents").mkdir(exist_ok=True)
        write_atomic(folder / manifest.name, data)

    if target.exists():  # a county's folder, perhaps with its documents already: add only what it lacks
        fill(target)
    else:
        write_folder(target, fill, ())
    return manifest
