"""A committee's run: every center bundle in a folder scored (with its reviews, matched by SHA-256) on
every core, then the programme applied: rewards by band and score, the quota among all centers in the
city with every tie at the line listed, who pays, the exit rule over consecutive years, the city's target.

A broken bundle is a center with its error: it is ranked nowhere, rewarded nothing, and changes no one
else's result.
"""

from __future__ import annotations

import csv
import functools
import io
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from scoring.base import limits
from scoring.base.errors import ScoringError
from scoring.base.numbers import ZERO, dec, fmt, grouped
from scoring.domain.model import Rubric
from scoring.domain.records import (
    RATING_SCHEMA_VERSION,
    CenterRating,
    DistrictTotals,
    LastYear,
    Programme,
    Rating,
    unsent,
)
from scoring.loading import grades, readers, validate
from scoring.loading.yamlio import load_yaml
from scoring.pipeline import batch
from scoring.pipeline.folder import Found, RubricChoice, Scored, read_reviews, score_folder, unmatched
from scoring.pipeline.reviews import on_evidence


@dataclass(frozen=True)
class Registry:
    """All centers in the city, from a registry file, or just their number."""

    total: int
    centers: tuple[tuple[str, str, str], ...] = ()  # (id, name, district)
    file: str = ""
    head: tuple[str, ...] = ()  # every column's name, for a programme that reads more of them (grade)
    rows: tuple[tuple[int, tuple[str, ...]], ...] = ()  # each center's line and cells, in `centers` order


def rate(found: Found, rubric: Rubric, choice: RubricChoice, programme: Programme, registry: Registry,
         previous: LastYear | None = None) -> Rating:
    """The committee's run over the centers `found` (pipeline.folder.find), each scored against `rubric`,
    the one file `choice` names (loaded again once in each worker). Last year's file must be of the same
    programme series and an earlier year."""
    if previous is not None and programme.year is not None:
        check_previous(previous, programme, programme.year)  # refused before any work when the year is known
    if rubric.stage_names and not programme.stage_names:  # the papers call a stage what the review files do
        programme = replace(programme, stage_names=rubric.stage_names)
    filed, problems = read_reviews(found.review_files)
    problems = [*found.outside, *problems]
    job = functools.partial(_center, counted=tuple(f for f, _ in programme.base_per_fact))
    scored = score_folder(found, filed, choice, job, "评定")
    bands = tuple(b.name for b in rubric.bands.levels) if rubric.bands else ()
    centers = [replace(c, reward=amount(programme, rubric.total, bands, c)) for c in scored]
    centers = [replace(c, formula=formula(programme, rubric.total, c)) for c in centers]
    problems += unmatched(filed, {c.sha256 for c in centers})
    if registry.total < len(centers):
        raise ScoringError(f"全市养老服务中心总数 {registry.total} 个，少于参评的 {len(centers)} 个",
                           hint="请核对 --centers-total 或名册文件")
    centers, unrated = _registered(centers, registry, problems)
    year = programme.year or max((int(c.period_end[:4]) for c in centers if c.period_end[:4].isdigit()), default=None)
    made = settle(programme, bands, centers, registry, previous, problems, year)
    noun = rubric.bands.noun if rubric.bands else "等级"
    return replace(made, rubric_title=f"{rubric.title}（{rubric.version}）", rubric_id=rubric.id, unrated=unrated,
                   noun=noun)


def rate_graded(programme: Programme, registry: Registry, previous: LastYear | None = None) -> Rating:
    """The committee's run when the grades come from the registry (an external grading already done):
    nothing is scored or ranked; the amounts, payers, exit rule and target follow as for scored centers."""
    grade = programme.grade
    assert grade is not None, "a programme graded from the registry"
    if previous is not None and programme.year is not None:
        check_previous(previous, programme, programme.year)
    units = grades.read_units(programme, registry.file, registry.head, registry.rows, registry.centers)
    units = [replace(u, reward=amount(programme, ZERO, grade.levels, u)) for u in units]
    units = [replace(u, formula=formula(programme, ZERO, u)) for u in units]
    problems = [f"名册中{u.name}（{u.id}）的区（市）为空：{programme.money}暂不计入任何区（市），请补全名册"
                for u in units if not u.district]
    made = settle(programme, grade.levels, units, registry, previous, problems, programme.year)
    title = f"{grade.by or grade.column}（{grade.noun}取自名册 {grades.file_name(registry.file)} 的“{grade.column}”列）"
    order = {row[0]: k for k, row in enumerate(registry.centers)}  # nothing is ranked: the registry's order
    listed = sorted(made.centers, key=lambda u: order[u.id])
    return replace(made, centers=tuple(replace(u, rank=None) for u in listed), rubric_title=title,
                   noun=grade.noun, none=grade.none)


def settle(programme: Programme, bands: tuple[str, ...], centers: list[CenterRating], registry: Registry,
           previous: LastYear | None, problems: list[str], year: int | None) -> Rating:
    """What follows from the centers' bands and amounts: last year's file checked, the quota, who pays, the
    exit rule and the districts' totals."""
    if previous is not None:
        gap = check_previous(previous, programme, year)
        problems += [gap] if gap else []
    ranked, quota, cut, ties = _quota(programme, centers, registry.total)
    before = dict(previous.years_below) if previous else {}
    ranked = [_pay(programme, _exit(programme, bands, c, before)) for c in ranked]
    order = tuple(r[2] for r in registry.centers)
    return Rating(programme, "", bands, tuple(ranked), registry.total, quota, cut, ties, _districts(ranked, order),
                  (), tuple(problems), year, "", previous)


# ---------------------------------------------------------------- one center, in a worker


def _center(path: Path, scored: Scored | ScoringError, counted: tuple[str, ...]) -> CenterRating:
    if isinstance(scored, ScoringError):
        return CenterRating(path.name, "", path.stem, "", None, None, None, None, (), "", (), error=str(scored))
    result = scored.result
    b, last, rated = result.bundle, result.final, on_evidence(result)  # rated on the latest stage's evidence
    flags = tuple(f"{i.id} {f.message}" for i in result.indicators for f in i.final.flags)
    counts = tuple((name, last.facts.get(name)) for name in counted)
    verdict = rated.verdict
    return CenterRating(path.name, b.assessee.get("id", ""), b.assessee.get("name", "").strip(),
                        b.assessee.get("district", ""), rated.total, rated.total, verdict.band, verdict.next,
                        verdict.held,
                        last.stage, flags, sha256=b.sha256,
                        counted=tuple((n, ZERO if v is None else dec(v)) for n, v in counts),
                        categories=tuple((c.title, c.score, c.max) for c in rated.categories),
                        period_end=b.period["end"], claimed=last.total, claimed_band=last.verdict.band,
                        further=tuple((f.band, f.held) for f in verdict.further),
                        by_total=verdict.by_total_text(rated.total))


# ---------------------------------------------------------------- the programme


def amount(p: Programme, total: Decimal, bands: Sequence[str], c: CenterRating) -> Decimal:
    """The reward a center's band and score earn before the quota: base × factor, rounded half up."""
    if c.error or (c.score is None and not p.graded):
        return ZERO
    if p.base_per_fact or p.base_per_column:
        rates = dict(p.base_per_fact or p.base_per_column)
        base = sum((rates[name] * value for name, value in c.counted), ZERO)
    elif p.base_column:
        base = dict(p.base_by_column).get(c.kind, ZERO)
    else:
        base = dict(p.base_by_band).get(c.band or "", ZERO)
    if p.factor == "score" and c.score is not None:
        base = base * c.score / total
    elif p.factor == "band":
        base = base * dict(p.factor_by_band).get(c.band or "", p.factor_none) / 100
    return round_to(base, p.round_to)


def formula(p: Programme, total: Decimal, c: CenterRating) -> str:
    """How the amount before the quota is computed, in words and figures (600,000 × 91 ÷ 100 = 546,000)."""
    if c.error or c.reward <= 0:
        return ""
    if p.base_per_fact or p.base_per_column:
        rates = dict(p.base_per_fact or p.base_per_column)
        base = " + ".join(f"{grouped(rates[n])} × {fmt(v)}" for n, v in c.counted if v)
        base = f"（{base}）" if p.factor else base
    elif p.base_column:
        base = f"{grouped(dict(p.base_by_column)[c.kind])}（{c.kind}）"
    else:
        base = grouped(dict(p.base_by_band)[c.band or ""])
    if p.factor == "score" and c.score is not None:
        base = f"{base} × {fmt(c.score)} ÷ {fmt(total)}"
    elif p.factor == "band":
        base = f"{base} × {fmt(dict(p.factor_by_band).get(c.band or '', p.factor_none))}%"
    return f"{base} = {grouped(c.reward)}"


def round_to(value: Decimal, unit: Decimal) -> Decimal:
    return (value / unit).quantize(Decimal(1), ROUND_HALF_UP) * unit


def _quota(p: Programme, centers: list[CenterRating], city_total: int
           ) -> tuple[list[CenterRating], int | None, Decimal | None, tuple[str, ...]]:
    """Rank by score (then id, for the listing only); reward the eligible in order up to the quota. A tie on
    the score at the line is rewarded whole or not at all, as the programme declares, and always listed."""
    ok = sorted((c for c in centers if not c.error), key=lambda c: (-(c.score or ZERO), c.id, c.source))
    broken = sorted((c for c in centers if c.error), key=lambda c: (not c.submitted, c.source, c.id))
    eligible = [c for c in ok if c.reward > 0]
    quota = None if p.quota_share is None else int((city_total * p.quota_share / 100).to_integral_value(ROUND_DOWN))
    cut: Decimal | None = None
    ties: tuple[str, ...] = ()
    chosen = {id(c) for c in eligible}
    if quota is not None and len(eligible) > quota:
        cut = eligible[quota - 1].score if quota else None
        if cut is not None and eligible[quota].score == cut:
            ties = tuple(c.id or c.source for c in eligible if c.score == cut)
            chosen = {id(c) for c in eligible
                      if (c.score or ZERO) > cut or (p.ties == "include" and c.score == cut)}
        else:
            chosen = {id(c) for c in eligible[:quota]}
    tied = set(ties)
    first: dict[Decimal | None, int] = {}  # competition ranking: equal scores share a place (1, 2, 2, 4)
    for k, c in enumerate(ok, start=1):
        first.setdefault(c.score, k)
    places = {id(c): k for k, c in enumerate(eligible, start=1)}
    ranked = [replace(c, rank=first[c.score], rewarded=id(c) in chosen, reward=c.reward if id(c) in chosen else ZERO,
                      tie=(c.id or c.source) in tied, place=places.get(id(c))) for c in ok]
    return [*ranked, *broken], quota, cut, ties


def _pay(p: Programme, c: CenterRating) -> CenterRating:
    refund = round_to(c.reward * p.refund_percent / 100, p.round_to)
    if refund == c.refund and c.reward - refund == c.payer_share:
        return c  # nothing to pay (a registry center without a bundle, one of 100,000): no copy made
    return replace(c, refund=refund, payer_share=c.reward - refund)


def _exit(p: Programme, bands: Sequence[str], c: CenterRating, previous: Mapping[str, int]) -> CenterRating:
    """Consecutive years below the exit band. A submission that is missing or cannot be read counts as
    below unless the programme keeps last year's count (exit.unreadable: keep)."""
    if not p.exit_below:
        return c
    before = previous.get(c.id, 0) if c.id else 0
    if c.error and p.exit_unreadable == "keep":
        return replace(c, years_below=before)
    good = set(bands[: bands.index(p.exit_below) + 1])
    years = before + 1 if c.error or c.band not in good else 0
    return replace(c, years_below=years, exit=years >= p.exit_years)


def _districts(centers: Sequence[CenterRating], order: Sequence[str]) -> tuple[DistrictTotals, ...]:
    """Per payer district, every center with a bundle (an unreadable one included, rewarded nothing), in
    the registry's order, then districts the registry does not name, then "" (to be settled)."""
    out = []
    present = [c for c in centers if c.submitted]
    names = {c.district for c in present}
    ordered = [d for d in dict.fromkeys(order) if d in names and d]
    ordered += sorted(names - set(ordered) - {""}) + ([""] if "" in names else [])
    for d in ordered:
        mine = [c for c in present if c.district == d]
        out.append(DistrictTotals(d, len(mine), sum(1 for c in mine if c.rewarded),
                                  sum((c.reward for c in mine), ZERO), sum((c.payer_share for c in mine), ZERO),
                                  sum((c.refund for c in mine), ZERO)))
    return tuple(out)


# ---------------------------------------------------------------- the registry decides who a center is and who pays


def _registered(centers: Sequence[CenterRating], registry: Registry, problems: list[str]
                ) -> tuple[list[CenterRating], tuple[tuple[str, str, str], ...]]:
    """Each center known by the registry (an unreadable bundle by its folder name), its payer district the
    registry's; every disagreement appended to `problems`; a registry center without a bundle added as
    not submitted. Returns the centers and the registry rows without a bundle."""
    problems += _registry_problems(centers, registry)
    rows = {r[0]: r for r in registry.centers}
    out = [_payer(_known(c, registry) if c.error else c, rows, problems, bool(rows)) for c in centers]
    seen = {c.id for c in out}
    unrated = tuple(r for r in registry.centers if r[0] not in seen)
    out += [CenterRating("", i, n, d, None, None, None, None, (), "", (), error="未报送材料包", submitted=False)
            for i, n, d in unrated]
    problems += [unsent(i, n) for i, n, _ in unrated]
    return out, unrated


def _known(c: CenterRating, registry: Registry) -> CenterRating:
    """An unreadable bundle's center: the registry's whose id its folder or zip name is, or starts with
    (编号_名称); without one, the name's part before the first "_"."""
    stem = Path(c.source).stem if c.source.endswith(".zip") else c.source
    row = next((r for r in registry.centers if stem == r[0] or stem.startswith(f"{r[0]}_")), None)
    if row is None:
        return replace(c, id=stem.split("_", 1)[0])
    return replace(c, id=row[0], name=row[1], district=row[2])


def _payer(c: CenterRating, rows: Mapping[str, tuple[str, str, str]], problems: list[str],
           registered: bool) -> CenterRating:
    """The district that pays: the registry's when there is one (a blank cell or a center it does not list
    pays nowhere until settled); without a registry, the bundle's."""
    label, bundle = f"{c.name or c.source}（{c.id or c.source}）", c.district if not c.error else ""
    if not registered:
        if not bundle and not c.error:
            problems.append(f"{label}：材料包没有填写区（市），奖励暂不计入任何区（市），请核实")
        return replace(c, bundle_district=bundle)
    row = rows.get(c.id)
    district = row[2] if row else ""
    if row is not None and not district:
        problems.append(f"名册中{label}的区（市）为空：奖励暂不计入任何区（市），请补全名册")
    elif row is not None and bundle and bundle != district:
        problems.append(f"{label}：材料包填写的区（市）为“{bundle}”，名册为“{district}”；按名册由{district}兑现，请核实")
    elif row is not None and not bundle and not c.error:
        problems.append(f"{label}：材料包没有填写区（市），按名册由{district}兑现")
    return replace(c, district=district, bundle_district=bundle)


def _registry_problems(centers: Sequence[CenterRating], registry: Registry) -> list[str]:
    out = [f"材料包 {c.source} 没有填写被评估单位编号（assessee.id），无法与名册和上一年的结果对照"
           for c in centers if not c.error and not c.id]
    ids = [c.id for c in centers if c.id]
    out += [f"编号 {i} 出现在多个材料包中" for i in sorted(i for i, n in Counter(ids).items() if n > 1)]
    if registry.centers:
        known = {r[0] for r in registry.centers}
        out += [f"{c.name or c.source}（{c.id}）不在名册中：奖励暂不计入任何区（市），请核实名册"
                for c in centers if c.id and c.id not in known]
    return out


# ---------------------------------------------------------------- inputs: registry and last year's result


def read_registry(path: Path) -> Registry:
    """A CSV (UTF-8, as Excel or WPS saves it) with columns 编号, 名称, 区（市） (or id, name, district)."""
    raw = readers.read_regular(path, limits.REGISTRY_BYTES, "名册文件")
    rows: list[tuple[int, list[str]]] = []  # each row with the line it starts on (a quoted cell may span lines)
    text = readers.decode_utf8(raw, str(path), "在 Excel/WPS 中另存为“CSV UTF-8”")
    try:
        reader = csv.reader(io.StringIO(text))
        line = 1
        for row in reader:
            rows.append((line, row))
            line = reader.line_num + 1
            if len(rows) > limits.REGISTRY_ROWS + 1:  # the header, then at most REGISTRY_ROWS centers
                raise ScoringError(f"名册超过 {limits.REGISTRY_ROWS:,} 行（每行一个中心）", str(path), rows[-1][0],
                                   hint="一个城市的名册不会有这么多行：请检查是否把其他表格一并导出")
    except csv.Error as exc:
        raise ScoringError("名册文件应为 UTF-8 编码的 CSV", str(path), hint="在 Excel/WPS 中另存为“CSV UTF-8”") from exc
    if not rows:
        raise ScoringError("名册文件是空的", str(path))
    head = [h.strip() for h in _cells(rows[0][1], (), str(path), 1)]
    cols = [_column(head, names, str(path)) for names in (("编号", "id"), ("名称", "name"), ("区（市）", "区", "district"))]
    cells = tuple((k, tuple(_cells(r, head, str(path), k))) for k, r in rows[1:] if any(x.strip() for x in r))
    centers = tuple(_registry_row(list(r), cols, str(path), k) for k, r in cells)
    ids = [c[0] for c in centers]
    dup = sorted(i for i, n in Counter(ids).items() if n > 1)
    if dup:
        raise ScoringError(f"名册中编号重复：{'、'.join(dup[:10])}", str(path))
    return Registry(len(centers), centers, str(path), tuple(head), cells)


def _cells(row: list[str], head: Sequence[str], file: str, line: int) -> list[str]:
    """A registry row's cells, each with a control character refused (naming its column) and shown safely."""
    return [validate.clean_text(cell, file, lambda _: line, head[j] if j < len(head) and head[j] else f"第 {j + 1} 列")
            for j, cell in enumerate(row)]


def _registry_row(row: list[str], cols: list[int], file: str, line: int) -> tuple[str, str, str]:
    """One center of the registry; a row short of a column, or without an id, is refused with its line."""
    if len(row) <= max(cols) or not row[cols[0]].strip():
        raise ScoringError("名册这一行缺少编号、名称或区（市）", file, line, hint="每行应为：编号,名称,区（市）")
    return row[cols[0]].strip(), row[cols[1]].strip(), row[cols[2]].strip()


def _column(head: list[str], names: Sequence[str], file: str) -> int:
    for name in names:
        if name in head:
            return head.index(name)
    raise ScoringError(f"名册缺少“{names[0]}”列", file, 1, hint="第一行应为列名：编号,名称,区（市）")


def read_previous(path: Path) -> LastYear:
    """Last year's ratings.json: whose and which year it is, each center's consecutive years below the exit
    band by id. A file of an older format records neither programme series nor year and is refused."""
    hint = "应为上一年度用同一奖补方案运行 scoring rate 写出的 ratings.json"
    raw = readers.read_regular(path, limits.MANIFEST_BYTES, "上一年的评定结果", hint)
    doc = load_yaml(raw, str(path))  # JSON is YAML: the same safe reader, with lines for errors
    version = doc.data.get("schema_version") if isinstance(doc.data, dict) else None
    if version != RATING_SCHEMA_VERSION:
        raise ScoringError(f"上一年的评定结果不是本版本写出的 ratings.json（schema_version 应为 {RATING_SCHEMA_VERSION}，"
                           f"此文件为 {version}），没有记录奖补方案和评定年度", str(path), doc.line(("schema_version",)),
                           hint="请用上一年度的材料包和奖补方案重新运行 scoring rate")
    validate.check(doc, "rating", "上一年的评定结果")
    d = validate.clean(doc.data, doc)  # every string: control characters refused, shown safely
    if d["year"] is None:
        raise ScoringError("上一年的评定结果没有记录评定年度，无法确认是上一年的", str(path), doc.line(("year",)), hint=hint)
    return LastYear(str(path), d["programme"]["id"], d["programme"]["series"], d["year"], d["rubric_id"],
                    tuple((c["id"], c["years_below"]) for c in d["centers"] if c["id"]))


def check_previous(last: LastYear, p: Programme, year: int | None) -> str:
    """Refuse last year's file of another programme series, or of this year or a later one; word a gap."""
    if last.series != p.family:
        raise ScoringError(f"上一年的评定结果属于奖补方案 “{last.programme}”，与本次的 “{p.id}” 不是同一方案"
                           f"（方案系列 {last.series} ≠ {p.family}）", last.file,
                           hint="请给出同一奖补方案上一年度的 ratings.json；方案逐年更名时，在方案中写明相同的 series")
    if year is None:
        raise ScoringError("无法确定本次评定的年度，不能与上一年的结果对照", p.path, hint="请在奖补方案中写明 year")
    if last.year >= year:
        raise ScoringError(f"上一年的评定结果是 {last.year} 年度的，不早于本次评定的 {year} 年度", last.file,
                           hint=f"请给出 {year - 1} 年度的 ratings.json")
    if last.year < year - 1:
        return (f"上一年的评定结果 {Path(last.file).name} 是 {last.year} 年度的，与本次 {year} 年度之间缺 "
                f"{year - last.year - 1} 个年度的评定；连续未达标年数按这两次评定相连计算，请评定委员会确认")
    return ""



# ---------------------------------------------------------------- the outputs, all or nothing

REPORTS = "评定报告"
OUTPUTS = ("ratings.json", "ratings.csv", "ratings.xlsx", "committee.pdf", REPORTS)


def write(rating: Rating, outdir: Path, pdfs: bool = False) -> None:
    """ratings.json, ratings.csv, committee.pdf and, with `pdfs`, one two-page 评定结果 per center, rendered
    in full into a temporary folder that then takes OUTDIR's place."""
    from scoring.base.files import write_folder
    from scoring.papers.outputs import center_archives, render

    made = {name: render("rating", name.rsplit(".", 1)[1], rating) for name in OUTPUTS[:-1]}

    def fill(tmp: Path) -> None:
        for name, data in made.items():
            (tmp / name).write_bytes(data)
        if pdfs:
            from scoring.papers.report.committee import sheet_contexts

            (tmp / REPORTS).mkdir()
            sheets, archives = sheet_contexts(rating), center_archives(rating)
            names = [str(tmp / REPORTS / report_name(c)) for c in rating.centers if not c.error]
            size = max(1, min(SHEETS_PER_RENDER, -(-len(sheets) // 2)))  # both cores busy, few renders each
            jobs = [(sheets[k:k + size], names[k:k + size], archives[k:k + size]) for k in range(0, len(sheets), size)]
            batch.run(_sheets, jobs, "生成评定结果")

    write_folder(outdir, fill, OUTPUTS)


SHEETS_PER_RENDER = 100  # one layout of this many sheets, split into a PDF each


def report_name(c: CenterRating) -> str:
    stem = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in (c.id or Path(c.source).stem))
    name = "".join(ch for ch in c.name if ch.isalnum())[:30]
    return f"{stem}_{name}.pdf" if name else f"{stem}.pdf"


def _sheets(job: tuple[Sequence[Any], Sequence[str], Sequence[Any]]) -> int:
    from scoring.papers.report.committee import sheet_pdfs

    sheets, names, archives = job
    for name, pdf in zip(names, sheet_pdfs(sheets, None, archives), strict=True):
        Path(name).write_bytes(pdf)
    return len(names)
