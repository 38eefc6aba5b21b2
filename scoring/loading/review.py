"""Review files: a reviewing stage's (初评, 验收) changes to one bundle's self-score, each with a reason.

A review file is YAML, untrusted like a bundle: read through the one safe reader, checked against
scoring/schemas/review.schema.json, then against the rubric and the bundle it names (by id and by the
bundle's SHA-256). What comes out is a model.Stage of Overrides for the engine; nothing here scores.
`blank` writes the blank review that `scoring review init` hands a reviewer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date as Date
from decimal import Decimal
from pathlib import Path
from typing import Any

from scoring.base import limits
from scoring.base.errors import ScoringError
from scoring.base.numbers import fmt
from scoring.domain.model import FLAGS, SELF, STAGES, Bundle, Completion, Override, Rubric, Stage
from scoring.domain.results import IndicatorResult, Result
from scoring.loading import budgets, readers, validate
from scoring.loading.yamlio import YamlDoc, load_yaml

ACTIONS = ("score", "input", "reject")  # an entry's key saying what it does, in the model's words
REVIEWING = STAGES[1:]


@dataclass(frozen=True)
class Review:
    """A review file as read: the stage it makes and what it was made against."""

    file: str
    stage: Stage
    rubric: str
    bundle_sha256: str
    rubric_line: int | None
    sha_line: int | None
    stage_line: int | None
    fingerprints: dict[str, str]  # indicator -> fingerprint of its answers and documents when reviewed


def read(path: Path) -> Review:
    """Read and schema-check a review file; the checks against rubric and bundle are `check`'s."""
    name = str(path)
    raw = readers.read_regular(path, limits.MANIFEST_BYTES, "评审意见文件", "请检查路径，或先用 scoring review init 生成")
    return parse(raw, name)


def parse(raw: bytes, name: str) -> Review:
    """A review file's bytes, read and schema-checked as `read` does (the desk checks what it is about
    to write this way, before writing it)."""
    doc = load_yaml(raw, name)
    validate.check(doc, "review", "评审意见")
    data = validate.clean(doc.data, doc)  # every string: control characters refused, shown safely
    stage_name = data["stage"]
    reviewer = (data.get("reviewer") or "").strip()
    when = data.get("date") or ""
    if when:
        try:
            Date.fromisoformat(when)
        except ValueError as exc:
            raise ScoringError(f"日期 “{when}” 不存在", name, doc.line(("date",)),
                               hint="日期格式为 YYYY-MM-DD，如 2022-12-05") from exc
    overrides, pending = _entries(data, doc, name, reviewer)
    budgets.check_review([(f"指标 {o.indicator}", o.line, _text(o)) for o in sorted(
        (*overrides, *pending), key=lambda o: o.line or 0)], name)
    if overrides and not reviewer:
        raise ScoringError("有评审意见，但没有填写评审人（reviewer）", name, doc.line(("reviewer",)),
                           hint="请填写评审人姓名")
    if overrides and not when:
        raise ScoringError("有评审意见，但没有填写评审日期（date）", name, doc.line(("date",)),
                           hint="日期格式为 YYYY-MM-DD，如 2022-12-05")
    stage = Stage(stage_name, reviewer, (data.get("unit") or "").strip(), when, tuple(overrides), tuple(pending),
                  _completed(data, doc, name, pending))
    return Review(name, stage, data["rubric"], data["bundle_sha256"].lower(), doc.line(("rubric",)),
                  doc.line(("bundle_sha256",)), doc.line(("stage",)), dict(data.get("fingerprints") or {}))


def _completed(data: dict[str, Any], doc: YamlDoc, name: str, pending: list[Override]) -> Completion | None:
    """The stage marked finished, when it is: only with the header filled and no entry waiting to be re-checked."""
    done = data.get("completed")
    if not done:
        return None
    line = doc.line(("completed",))
    if not (data.get("reviewer") or "").strip() or not data.get("date"):
        raise ScoringError(f"{data['stage']}已标记完成（completed），但没有填写评审人或评审日期", name, line,
                           hint="请填写评审人和评审日期，或删去 completed 一节")
    if pending:
        listed = "、".join(dict.fromkeys(o.indicator for o in pending))
        raise ScoringError(f"{data['stage']}已标记完成（completed），但指标 {listed} 还有待复核的意见", name, line,
                           hint="请先复核这些意见（删去 recheck 一行或删去该意见），或删去 completed 一节")
    return Completion(done["reviewer"].strip(), (done.get("unit") or "").strip(), done["at"])


def _entries(data: dict[str, Any], doc: YamlDoc, name: str, reviewer: str) -> tuple[list[Override], list[Override]]:
    """A review's entries as overrides: those in force, and those waiting to be re-checked."""
    stage_name = data["stage"]
    overrides: list[Override] = []
    pending: list[Override] = []
    for ind, entries in (data.get("entries") or {}).items():
        for k, entry in enumerate(entries or ()):
            line = doc.line(("entries", ind, k))
            where = f"指标 {ind}"
            given = [a for a in ACTIONS if a in entry]
            if len(given) != 1:
                what = "、".join(given) if given else "无"
                raise ScoringError(f"每条评审意见只能做一件事，应有 score、input、reject 中的一项（实际：{what}）",
                                   name, line, where, hint="要做几件事就写几条，每条各写理由")
            if not entry["reason"].strip():
                raise ScoringError("理由（reason）不能为空", name, doc.line(("entries", ind, k, "reason")), where,
                                   hint="每条评审意见都要写明理由")
            action = given[0]
            value = entry.get("value") if action == "input" else entry.get("score")
            target = "" if action == "score" else str(entry[action])
            made = Override(indicator=ind, action=action, target=target, value=value,
                            reason=entry["reason"].strip(), author=(entry.get("reviewer") or "").strip() or reviewer,
                            stage=stage_name, file=name, line=line, at=entry.get("at") or "")
            (pending if entry.get("recheck") else overrides).append(made)
    return overrides, pending


def canonical(review: Review, rubric: Rubric) -> Review:
    """The review with its stage as the engine knows it: a file may say 初评 or 验收, or the name the
    rubric gives one of them (stages: {初评: 第三方评估}); any other name is refused, naming the file."""
    said = review.stage.name
    if said in REVIEWING:
        return review
    named = {name: stage for stage, name in rubric.stage_names}
    if said not in named:
        known = "、".join(rubric.stage_name(s) if rubric.stage_name(s) == s else f"{s}（{rubric.stage_name(s)}）"
                         for s in REVIEWING)
        raise ScoringError(f"评审阶段“{said}”无效：应为 {known} 之一", review.file, review.stage_line,
                           hint="评审阶段的名称可在评分细则的 stages 中另行规定，如 stages: {初评: 第三方评估}")
    stage = named[said]
    moved = replace(review.stage, name=stage, overrides=tuple(replace(o, stage=stage) for o in review.stage.overrides),
                    pending=tuple(replace(o, stage=stage) for o in review.stage.pending))
    return replace(review, stage=moved)


def _text(o: Override) -> str:
    """What an entry asks the papers to print beyond its fixed wording: its reason, target, value and author."""
    return o.reason + o.target + ("" if o.value is None else _value_text(o.value)) + o.author


def check_order(reviews: Sequence[Review]) -> None:
    """Stages in the order 自评 → 初评 → 验收, each once: a 验收 comes after the city's 初评."""
    names = [r.stage.name for r in reviews]
    for k, r in enumerate(reviews):
        before = names[:k]
        if r.stage.name in before:
            first = Path(reviews[before.index(r.stage.name)].file).name
            raise ScoringError(f"评审阶段“{r.stage.name}”给了两次（另一份是 {first}）", r.file, r.stage_line,
                               hint="每个评审阶段只能有一份评审意见：请合并两份文件，或移走其中一份")
        expected = REVIEWING[k] if k < len(REVIEWING) else None
        if r.stage.name != expected:
            order = " → ".join(STAGES)
            if r.stage.name == REVIEWING[-1] and REVIEWING[0] not in names:
                text = f"只有“{r.stage.name}”而没有“{REVIEWING[0]}”：省级验收在市级初评推荐之后"
                hint = f"请先给出{REVIEWING[0]}的评审意见：--review 初评文件 --review 验收文件"
            else:
                text = f"评审阶段顺序不对：应为 {order}，实际为 {' → '.join((SELF, *names))}"
                hint = "请按阶段顺序给出 --review"
            raise ScoringError(text, r.file, r.stage_line, hint=hint)


# ---------------------------------------------------------------- writing review files


def fingerprint(i: IndicatorResult, bundle: Bundle) -> str:
    """What a reviewer's ruling on an indicator rests on: its answers and the documents they cite."""
    answers = [[inp.name, _value_text(a.value), list(a.documents), a.reason] for inp, a in i.answers if a is not None]
    documents = [[d, bundle.documents[d].file, bundle.documents[d].sha256] for d in i.cited()]
    text = json.dumps([answers, documents], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def blank(result: Result, stage: str, reviewer: str = "", unit: str = "") -> str:
    """A review file with the header filled and, for each indicator, the county's claim as comments and
    an empty list to fill: unsupported claims first, then mandatory indicators, then the rest."""
    if stage not in REVIEWING:
        raise ScoringError(f"评审阶段 “{stage}” 无效，应为 {'、'.join(REVIEWING)} 之一")
    return _write(result, Stage(stage, reviewer, unit), {}, set())


def carry(review: Review, result: Result) -> tuple[str, tuple[str, ...]]:
    """The review moved onto a resubmitted bundle's result, and the indicators whose answers or cited
    documents changed: their entries are marked 待复核 (not applied until re-checked) and they are listed
    first; the other entries keep their ruling."""
    if review.rubric != result.rubric.id:
        raise ScoringError(f"评审意见对应的评分细则是 “{review.rubric}”，新材料包用的是 “{result.rubric.id}”",
                           review.file, review.rubric_line)
    review = canonical(review, result.rubric)
    if not review.fingerprints:
        raise ScoringError("评审意见中没有各指标的材料指纹（fingerprints），无法判断哪些指标有变化", review.file,
                           hint="请用 scoring review init 生成的评审意见文件（它记录了指纹）")
    changed = {i.id for i in result.indicators if review.fingerprints.get(i.id) != fingerprint(i, result.bundle)}
    waiting = set(map(id, review.stage.pending))
    entries: dict[str, list[tuple[Override, bool]]] = {}
    for o in sorted((*review.stage.overrides, *review.stage.pending), key=lambda o: o.line or 0):
        entries.setdefault(o.indicator, []).append((o, o.indicator in changed or id(o) in waiting))
    stage = replace(review.stage, completed=None) if changed else review.stage  # changed material: not finished
    return _write(result, stage, entries, changed), tuple(i.id for i in result.indicators if i.id in changed)


def write(stage: Stage, result: Result) -> str:
    """A stage's entries written back in `review init`'s format, for the bundle `result` scored: entries
    in the order they were read (new ones, without a line, last); those waiting to be re-checked keep
    their mark and their indicators stay listed first."""
    return _write(result, stage, entries(stage), {o.indicator for o in stage.pending})


def entries(stage: Stage) -> dict[str, list[tuple[Override, bool]]]:
    """A stage's entries by indicator, each with whether it waits to be re-checked, in the order `write`
    writes them: as read from the file, new ones (without a line) last."""
    waiting = set(map(id, stage.pending))
    out: dict[str, list[tuple[Override, bool]]] = {}
    for o in sorted((*stage.overrides, *stage.pending), key=lambda o: (o.line is None, o.line or 0)):
        out.setdefault(o.indicator, []).append((o, id(o) in waiting))
    return out


def groups(result: Result, changed: set[str]) -> list[tuple[str, list[IndicatorResult]]]:
    """The order a reviewer works in, as titled groups (empty ones left out): indicators whose material
    changed since the review, then claims short of evidence, then mandatory indicators, then the rest."""
    first = [i for i in result.indicators if i.id in changed]
    unsupported = [i for i in result.indicators if i.own.supported < i.own.points and i not in first]
    mandatory = [i for i in result.indicators if i.indicator.mandatory and i not in unsupported and i not in first]
    rest = [i for i in result.indicators if i not in first and i not in unsupported and i not in mandatory]
    found = [("县里重新报送后材料有变化、待复核的指标", first), ("有据得分低于自评得分的指标（佐证不足）", unsupported),
             (result.rubric.natures.must, mandatory), ("其余指标", rest)]
    return [(title, items) for title, items in found if items]


def _write(result: Result, stage: Stage, entries: dict[str, list[tuple[Override, bool]]], changed: set[str]) -> str:
    """The review file: header, then each indicator's claim as comments and its entries (with whether
    each waits to be re-checked), changed indicators first, and the fingerprints for a later carry."""
    r, b = result.rubric, result.bundle
    out = [
        f"# {r.stage_name(stage.name)}评审意见：{_comment(b.assessee.get('name', ''))}  {_comment(r.title)}（{_comment(r.version)}）",
        f"# 材料包自评总分 {fmt(result.own.total)} 分，有据得分 {fmt(result.own.supported_total)} 分。",
        "# 填写方法：在要调整的指标下，把 [] 换成一条或几条评审意见，每条都要写理由（reason）：",
        "#   - score: 1.5              直接给出本项得分（0 至分值之间，且为该指标分值步长的整数倍）",
        "#     reason: 理由",
        "#   - input: 输入名            更正县里的填报值，按细则重新计分",
        "#     value: 更正后的值",
        "#     reason: 理由",
        "#   - reject: D07              不采信所引文件，引用它的填报不计入有据得分",
        "#     reason: 理由",
        "# 不调整的指标保持 [] 即可。评审人和评审日期在有评审意见时必须填写。",
        "# 标有 recheck: true（待复核）的意见暂不生效：县里已改动该指标的材料，复核后删去该行即生效。",
        f"stage: {r.stage_name(stage.name)}",
        f"reviewer: {_quoted(stage.author)}",
        f"unit: {_quoted(stage.unit)}",
        f"date: {stage.date}" if stage.date else "date:                       # 评审日期，如 2022-12-05",
        *_completion(stage),
        f"rubric: {r.id}",
        f"bundle_sha256: \"{b.sha256}\"   # 所评材料包的 SHA-256，请勿修改",
        "entries:",
    ]
    for title, items in groups(result, changed):
        out += ["", f"  # ==================== {title}：{len(items)} 项"]
        out += [line for i in items for line in _block(result, i, entries.get(i.id, []))]
    out += ["", "# 以下为评审时各指标材料的指纹，供县里重新报送后结转评审意见（scoring review carry），请勿修改。",
            "fingerprints:"]
    out += [f"  {_quoted(i.id)}: \"{fingerprint(i, b)}\"" for i in result.indicators]
    return "\n".join(out) + "\n"


def _completion(stage: Stage) -> list[str]:
    """The header's lines saying the stage is finished (none while the review goes on)."""
    done = stage.completed
    if done is None:
        return []
    return [f"completed:                    # {stage.name}已完成；要修改，请在评审工作台中重新打开（或删去这一节）",
            f"  reviewer: {_quoted(done.reviewer)}", f"  unit: {_quoted(done.unit)}", f"  at: {_quoted(done.at)}"]


def _comment(text: str) -> str:
    """Bundle text made safe for a YAML comment: one line, never ending the comment early."""
    for ch in "\r\n\x85\u2028\u2029\x0b\x0c":
        text = text.replace(ch, " ")
    text = "".join(c for c in text if c == "\t" or c >= " ")
    return text if len(text) <= 120 else text[:119] + "…"


def _quoted(text: str) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is YAML's)."""
    return json.dumps(text, ensure_ascii=False)


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return fmt(value)
    if isinstance(value, list):
        return "[" + "，".join(str(v) for v in value) + "]"
    return str(value)


def _yaml_value(value: Any) -> str:
    """A value as YAML that reads back the same: strings quoted, numbers exact, lists in flow style."""
    if value is None:
        return "null"
    if isinstance(value, bool | int | Decimal):
        return _value_text(value)
    if isinstance(value, list):
        return "[" + ", ".join(_yaml_value(v) for v in value) + "]"
    return _quoted(str(value))


def _entry(o: Override, recheck: bool) -> list[str]:
    head = {"score": f"score: {_yaml_value(o.value)}", "input": f"input: {_quoted(o.target)}",
            "reject": f"reject: {_quoted(o.target)}"}[o.action]
    lines = [f"    - {head}"]
    if o.action == "input":
        lines.append(f"      value: {_yaml_value(o.value)}")
    lines.append(f"      reason: {_quoted(o.reason)}")
    if o.at:  # made in the review desk: by whom and when
        lines += [f"      reviewer: {_quoted(o.author)}", f"      at: {_quoted(o.at)}"]
    if recheck:
        lines.append("      recheck: true          # 待复核：材料已变化，复核后删去此行")
    return lines


def _block(result: Result, i: IndicatorResult, entries: Sequence[tuple[Override, bool]]) -> list[str]:
    ind, natures = i.indicator, result.rubric.natures
    nature = f"{natures.short(ind.mandatory)}，" if natures.mandatory else ""
    lines = ["", f"  # ---- {ind.id} {_comment(ind.title)}（{nature}{fmt(ind.max)} 分）",
             f"  # 自评得分 {fmt(i.own.points)}，有据得分 {fmt(i.own.supported)}"
             + (f"（定分步长 {fmt(step)} 分）" if (step := ind.step) is not None else "")]
    for inp, ans in i.answers:
        if ans is None:
            lines.append(f"  # {inp.name}（{_comment(inp.label)}）：未填报")
            continue
        docs = f"，引用 {'、'.join(ans.documents)}" if ans.documents else ""
        lines.append(f"  # {inp.name}（{_comment(inp.label)}）= {_comment(_value_text(ans.value))}{docs}")
    for flag in i.own.flags:
        lines.append(f"  # 标记：{FLAGS[flag.code].short}——{_comment(flag.message)}")
    if not entries:
        return [*lines, f"  {_quoted(ind.id)}: []"]
    return [*lines, f"  {_quoted(ind.id)}:", *(line for o, recheck in entries for line in _entry(o, recheck))]
