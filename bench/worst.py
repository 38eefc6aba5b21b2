"""The sample bundle grown to every text and document limit at once, and two review files at theirs: the
worst cases bench/run.py times and tests/test_text_costs.py renders with SCORING_LONG_TESTS=1.

Each limit is given by the caller, read by name from scoring/base/limits.py, so a raised limit grows the case.
Text is Chinese: each character takes a full em of the page (a Latin letter about half), and with every
document's fields cut to what the papers print, the manifest has room for it. Written once into a folder
named by the limits and kept.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import random
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "evidence" / "gaoqing_2022_sample"
SCHEMA = ROOT / "scoring" / "schemas" / "bundle.schema.json"
MB = 1024 * 1024
WORDS = "关于进一步完善县域养老服务体系建设的实施方案和工作安排，"


def words(chars: int, salt: int = 0) -> str:
    """`chars` characters of text, each text different (`salt` first)."""
    return (f"{salt}" + WORDS * (chars // len(WORDS) + 2))[:chars]


def field_limits() -> dict[str, int]:
    """The longest title, 文号 and issuer the bundle schema takes."""
    props = json.loads(SCHEMA.read_text("utf-8"))["$defs"]["document"]["properties"]
    return {k: int(props[k]["maxLength"]) for k in ("title", "number", "issuer")}


def files_bundle(folder: Path, documents_total: int, file_max: int, manifest_max: int, text_chars: int,
                 texts_chars: int, citations: int, per_document: int) -> Path:
    """The sample bundle grown to the limits: documents totalling `documents_total` bytes, each at most
    `file_max`, cited by the answers that take documents (`citations` in all, `per_document` each at
    most); statements as long as one text may be and all texts together may be, within `manifest_max`
    bytes. Kept in `folder` for the next run."""
    made = folder / f"worst_{documents_total}_{file_max}_{manifest_max}_{text_chars}_{texts_chars}_{citations}"
    if (made / ".complete").exists():
        return made
    print("生成限值内最坏的材料包……", file=sys.stderr)
    shutil.rmtree(made, ignore_errors=True)
    shutil.copytree(SAMPLE, made)
    data = yaml.safe_load((SAMPLE / "bundle.yaml").read_text("utf-8"))
    # Documents and the narrative's text files count toward the total alike; keep a megabyte spare.
    room = documents_total - MB - sum(f.stat().st_size for f in made.rglob("*") if f.is_file()
                                      and f.name != "bundle.yaml")
    for number in range(1, room // file_max + 2):
        size = min(file_max, room)
        if size <= 0:
            break
        room -= size
        ident, rel = f"Z{number:02d}", f"documents/Z{number:02d}_附件.bin"
        block, digest = random.Random(number).randbytes(MB), hashlib.sha256()
        with (made / rel).open("wb") as out:
            for start in range(0, size, MB):
                chunk = block[: min(MB, size - start)]
                out.write(chunk)
                digest.update(chunk)
        data["documents"].append({"id": ident, "file": rel, "title": f"佐证附件第{number}册",
                                  "issuer": data["assessee"]["name"], "date": datetime.date(2022, 6, 30),
                                  "sha256": digest.hexdigest()})
    _cite(data, citations, per_document)
    filler = "".join(data["statements"].values())
    statements, keys = data["statements"], list(data["inputs"])

    def dumped() -> bytes:
        return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100).encode()

    margin = 4096
    from scoring.loading.bundle import open_bundle

    sample = open_bundle(SAMPLE)  # the narrative, as read, and the answers' reasons and notes
    used = sum(map(len, sample.narrative.values())) + sum(len(a.reason) + len(a.note) for given in
                                                           sample.answers.values() for a in given.values()) + 1000
    each = min((manifest_max - margin - len(dumped())) // len(keys), 3 * text_chars,
               3 * (texts_chars - used) // len(keys))
    for key in keys:
        text = statements.get(key, "")
        chars = max(0, each // 3 - len(text))
        statements[key] = text + (filler * (chars // len(filler) + 1))[:chars]
    raw = dumped()
    while len(raw) > manifest_max:
        statements[keys[-1]] = statements[keys[-1]][: -(len(raw) - manifest_max) // 3 - 100]
        raw = dumped()
    (made / "bundle.yaml").write_bytes(raw)
    (made / ".complete").touch()
    return made


def bundle(folder: Path, limit: Callable[[str], int]) -> Path:
    """DOCUMENTS documents with every printed field at its longest, cited CITATIONS times (at most
    CITATIONS_PER_DOCUMENT each) by the answers that take documents, and TEXTS_CHARS of reasons and notes
    (each at most TEXT_CHARS, within TEXT_LINES), the manifest within MANIFEST_BYTES and MANIFEST_LINES."""
    names = ("DOCUMENTS", "CITATIONS", "CITATIONS_PER_DOCUMENT", "TEXT_CHARS", "TEXTS_CHARS", "TEXT_LINES",
             "MANIFEST_BYTES", "MANIFEST_LINES")
    made = folder / ("worst_zh_" + "_".join(str(limit(n)) for n in names))
    if (made / ".complete").exists():
        return made
    shutil.rmtree(made, ignore_errors=True)
    shutil.copytree(SAMPLE, made)
    data = yaml.safe_load((SAMPLE / "bundle.yaml").read_text("utf-8"))
    sizes = field_limits()
    for k in range(len(data["documents"]), limit("DOCUMENTS")):
        content = f"附件 {k}\n".encode()
        rel = f"documents/Z{k:05d}.txt"
        (made / rel).write_bytes(content)
        data["documents"].append({"id": f"Z{k:05d}", "file": rel, "title": words(sizes["title"], k),
                                  "number": words(sizes["number"], k), "issuer": words(sizes["issuer"], k),
                                  "date": datetime.date(2022, 6, 30), "sha256": hashlib.sha256(content).hexdigest()})
    _cite(data, limit("CITATIONS"), limit("CITATIONS_PER_DOCUMENT"))
    _explain(data, limit("TEXT_CHARS"), limit("TEXTS_CHARS") - _narrative_chars(), limit("TEXT_LINES"))
    raw = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=10_000).encode()
    lines = raw.count(b"\n") + 1
    if len(raw) > limit("MANIFEST_BYTES") or lines > limit("MANIFEST_LINES"):
        raise SystemExit(f"生成的清单超出限值：{len(raw)} 字节，{lines} 行")
    (made / "bundle.yaml").write_bytes(raw)
    (made / ".complete").touch()
    return made


def _answers(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Every answer as a mapping (a bare value made one), those that take documents first."""
    out = []
    for given in data["inputs"].values():
        for name, answer in given.items():
            if not isinstance(answer, dict):
                given[name] = answer = {"value": answer}
            out.append(answer)
    return sorted(out, key=lambda a: not a.get("documents"))


def _cite(data: dict[str, Any], total: int, each: int) -> None:
    """Citations up to `total` (or every pair there is): the new documents in turn, each by a different
    answer that cites documents on each round, at most `each` citations a document."""
    citing = [a for a in _answers(data) if a.get("documents")]
    used = sum(len(a["documents"]) for a in citing)
    counts: dict[str, int] = {}
    for a in citing:
        for ref in a["documents"]:
            counts[ref] = counts.get(ref, 0) + 1
    spare = [d["id"] for d in data["documents"] if d["id"].startswith("Z")]
    for turn in range(len(citing)):
        for k, ref in enumerate(spare):
            answer = citing[(k + turn) % len(citing)]
            if used >= total:
                return
            if counts.get(ref, 0) < each and ref not in answer["documents"]:
                answer["documents"].append(ref)
                counts[ref] = counts.get(ref, 0) + 1
                used += 1


def _narrative_chars() -> int:
    from scoring.loading.bundle import open_bundle

    sample = open_bundle(SAMPLE)
    return sum(map(len, (*sample.narrative.values(), *sample.statements.values())))


def _explain(data: dict[str, Any], one: int, room: int, lines: int) -> None:
    """Reasons and notes spending `room` characters, each at most `one`, each on one line."""
    answers = _answers(data)
    existing = sum(len(a.get(k, "")) for a in answers for k in ("reason", "note"))
    room -= existing
    for k, answer in enumerate(a for a in answers for _ in (0, 1)):
        key = "reason" if k % 2 == 0 else "note"
        if room <= 0:
            break
        extra = min(one - len(answer.get(key, "")), room)
        answer[key] = answer.get(key, "") + words(extra, k)
        room -= extra


def reviews(folder: Path, worst: Path, limit: Callable[[str], int]) -> tuple[Path, Path]:
    """A 初评 and a 验收 of `worst`, each with REVIEW_ENTRIES entries (every other one 待复核) and
    REVIEW_CHARS of reasons: each entry rejects a document its indicator cites."""
    from scoring.domain import engine
    from scoring.loading.bundle import open_bundle
    from scoring.loading.rubric import load, resolve

    entries, chars = limit("REVIEW_ENTRIES"), limit("REVIEW_CHARS")
    made = folder / f"{worst.name}_reviews_{entries}_{chars}"
    if (made / ".complete").exists():
        return made / "初评.yaml", made / "验收.yaml"
    shutil.rmtree(made, ignore_errors=True)
    made.mkdir(parents=True)
    opened = open_bundle(worst)
    rubric = load(resolve(opened.rubric))
    cited = [[(ind.id, ref) for ref in sorted({d for a in engine.answers_of(opened, ind).values() for d in a.documents})]
             for ind in rubric.indicators]
    pairs = [c[k] for k in range(100) for c in cited if k < len(c)]  # in turn: a review takes 100 per indicator
    reviewer, each = "李明", chars // entries
    for stage, day in (("初评", "2022-12-05"), ("验收", "2023-01-10")):
        by: dict[str, list[dict[str, Any]]] = {}
        for k, (ind, ref) in enumerate(pairs[:entries]):
            reason = words(each - len(ref) - len(reviewer), k)
            by.setdefault(ind, []).append({"reject": ref, "reason": reason, **({"recheck": True} if k % 2 else {})})
        head = {"stage": stage, "reviewer": reviewer, "date": day, "rubric": rubric.id,
                "bundle_sha256": opened.sha256, "entries": by}
        (made / f"{stage}.yaml").write_text(yaml.safe_dump(head, allow_unicode=True, sort_keys=False), "utf-8")
    (made / ".complete").touch()
    return made / "初评.yaml", made / "验收.yaml"


def committee(folder: Path, limit: Callable[[str], int]) -> tuple[Path, Path]:
    """Rushan's graded programme and a registry at their limits: the registry has REGISTRY_ROWS
    institutions (every one rated and listed: graded, paid, or ungraded and unpaid) in at most
    REGISTRY_BYTES, names as long as the room allows; the programme is padded with comment lines to
    PROGRAMME_BYTES. `rate` reads both whole and writes a row per institution."""
    rows, most, programme_max = limit("REGISTRY_ROWS"), limit("REGISTRY_BYTES"), limit("PROGRAMME_BYTES")
    made = folder / f"committee_{rows}_{most}_{programme_max}"
    if (made / ".complete").exists():
        return made / "方案.yaml", made / "名册.csv"
    shutil.rmtree(made, ignore_errors=True)
    made.mkdir(parents=True)
    head = "编号,名称,区（市）,等级,收住中度失能老年人数,收住重度失能老年人数\n"
    grades = ["五星级", "四星级", "三星级", "二星级", "一星级", ""]
    short = [f"R{k:06d},,{'区' * 10},{grades[k % len(grades)]},{k % 60},{k % 25}\n" for k in range(1, rows + 1)]
    name_chars = (most - len(head.encode()) - len("".join(short).encode()) - 3) // (3 * rows)  # 3 bytes a character
    lines = [line.replace(",,", f",{words(name_chars, k)},", 1) for k, line in enumerate(short, start=1)]
    registry = made / "名册.csv"
    registry.write_text("\ufeff" + head + "".join(lines), "utf-8")
    assert registry.stat().st_size <= most, registry.stat().st_size
    text = (ROOT / "programmes" / "rushan_institution_subsidy_2023.yaml").read_text("utf-8")
    pad = "# " + words(300) + "\n"
    room = programme_max - len(text.encode()) - 1024
    programme = made / "方案.yaml"
    programme.write_text(pad * (room // len(pad.encode())) + text, "utf-8")
    assert programme.stat().st_size <= programme_max
    (made / ".complete").touch()
    return programme, registry
