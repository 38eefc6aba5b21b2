"""Generate realistic center bundles for a star rubric: deterministic for a seed, varied in quality.

    python scripts/generate_centers.py --rubric qingdao_center_stars --count 10000 --seed 1 -o /tmp/centers

Every answer comes from the rubric's own declarations (input types, ranges, the thresholds and branches
its rules name), so the generator knows nothing of a particular standard; the places come from a YAML
file. Each center has a lasting quality (by its number), so a weak center stays weak from year to year,
and documents for every input that needs them (a weaker center leaves some out).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import re
import sys
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from scoring.domain import rules
from scoring.domain.model import Indicator, Input, Rubric
from scoring.loading.rubric import load, resolve
from scoring.pipeline.folder import RubricChoice, find

PLACES = Path(__file__).with_name("qingdao_places.yaml")


def quality(number: int, year: int, seed: int) -> float:
    """A center's lasting quality, with a little change from year to year."""
    base = random.Random(f"{seed}:{number}").betavariate(9, 2)
    return min(1.0, max(0.0, base + random.Random(f"{seed}:{number}:{year}").gauss(0, 0.05)))


def places(path: Path = PLACES) -> list[tuple[str, str]]:
    data = yaml.safe_load(path.read_text("utf-8"))
    return [(district, street) for district, streets in data["districts"].items() for street in streets]


def scale(ind: Indicator, name: str) -> Decimal:
    """The largest target the rubric's rules set on an input: what a strong center reaches."""
    found = [Decimal(str(v)) for node in rules.walk(ind.rule) if node.get("input") == name
             for v in [node.get("target"), *(lv["at"] for lv in node.get("levels") or ())] if v is not None]
    return max(found, default=Decimal(100))


def choice_ranked(ind: Indicator, inp: Input) -> list[str]:
    """A choice's codes, best first by what their branch can earn."""
    worth: dict[str, Decimal] = {}
    for node in rules.walk(ind.rule):
        if node.get("input") == inp.name and isinstance(node.get("points"), dict):
            for code, value in node["points"].items():
                worth[code] = rules.reach(value) if isinstance(value, dict) else Decimal(str(value))
    return sorted((v for v, _ in inp.values), key=lambda v: -worth.get(v, Decimal(0)))


def harmful(rubric: Rubric, ind: Indicator, inp: Input) -> bool:
    """A yes/no fact that costs points or bars a band when yes (an accident), so a good center says no."""
    vetoes = {c.fact for c in rubric.bands.veto} if rubric.bands else set()
    return inp.name in vetoes or any(n["kind"] == "veto" and n.get("input") == inp.name for n in rules.walk(ind.rule))


def answer(rubric: Rubric, ind: Indicator, inp: Input, q: float, rng: random.Random) -> Any:
    good = rng.random() < q
    if inp.type == "bool" and harmful(rubric, ind, inp):
        return rng.random() < 0.04 * (1 - q)
    if inp.type == "bool":
        return good
    if inp.type == "choice":
        ranked = choice_ranked(ind, inp)
        return ranked[0] if good or len(ranked) == 1 else rng.choice(ranked[1:])
    if inp.type == "multi":
        return [v for v, _ in inp.values if rng.random() < min(1.0, q + 0.25)]
    if inp.type == "list":
        return [f"第{k + 1}项" for k in range(int(float(scale(ind, inp.name)) * q))]
    if inp.type == "score":
        node = next(n for n in rules.walk(ind.rule) if n.get("input") == inp.name)
        top, step = Decimal(str(node.get("max", 0))), Decimal(str(node.get("step", 1)))
        share = q if node["kind"] == "judged" else 1 - q
        return float((top * Decimal(share) / step).quantize(Decimal(1)) * step)
    top = scale(ind, inp.name)
    if inp.max is not None:
        top = min(top * Decimal("1.05"), inp.max)
    value = float(top) * min(1.0, max(0.0, 0.35 + 0.75 * q + rng.gauss(0, 0.08)))
    return round(value) if inp.type == "integer" else round(value, 1)


def center_name(street: str) -> str:
    return f"{street}综合养老服务中心" if street.endswith(("镇", "岛")) else f"{street}街道综合养老服务中心"


def center(rubric: Rubric, number: int, district: str, street: str, q: float, seed: int, year: int,
           folder: Path, changes: dict[str, Any] | None = None) -> Path:
    """Write one center bundle: answers from the rubric, a document for every input that needs one."""
    rng = random.Random(f"{seed}:{number}:{year}:answers")
    ident, name = f"QD{number:05d}", center_name(street)
    out = folder / f"{ident}_{name}"
    (out / "documents").mkdir(parents=True, exist_ok=True)
    facts: dict[str, Any] = {}
    inputs: dict[str, dict[str, Any]] = {}
    documents: list[dict[str, Any]] = []

    def cite(title: str) -> list[str]:
        if rng.random() > 0.35 + 0.65 * q:  # a weaker center leaves some claims without their document
            return []
        doc_id = f"D{len(documents) + 1:02d}"
        text = f"{name}{title}佐证材料（{year}年度）\n".encode()
        file = f"documents/{doc_id}.txt"
        (out / file).write_bytes(text)
        documents.append({"id": doc_id, "file": file, "title": f"{name}{title}", "issuer": name,
                          "date": f"{year}-12-20", "sha256": hashlib.sha256(text).hexdigest()})
        return [doc_id]

    for ind in rubric.indicators:
        for inp in ind.inputs:
            target = facts if inp.fact else inputs.setdefault(ind.id, {})
            if inp.name in target or (inp.fact and inp.name == (rubric.bands.requested if rubric.bands else "")):
                continue
            value = (changes or {}).get(inp.name, answer(rubric, ind, inp, q, rng))
            target[inp.name] = {"value": value, "documents": cite(inp.label)} if inp.document else value
            if inp.type == "score":
                target[inp.name] = {"value": value, "reason": "现场检查评定。"}
    manifest = {"rubric": rubric.id,
                "assessee": {"name": name, "id": ident, "district": district, "level": "镇（街道）"},
                "period": {"start": f"{year}-01-01", "end": f"{year}-12-31", "label": f"{year}年度"},
                "documents": documents, "facts": facts, "inputs": {k: v for k, v in inputs.items() if v}}
    (out / "bundle.yaml").write_text(yaml.safe_dump(manifest, allow_unicode=True, sort_keys=False), "utf-8")
    return out


def generate(rubric: Rubric, count: int, seed: int, year: int, folder: Path) -> list[Path]:
    spots = places()
    made = []
    for number in range(1, count + 1):
        district, street = spots[(number - 1) % len(spots)]
        made.append(center(rubric, number, district, street, quality(number, year, seed), seed, year, folder))
        if sys.stderr.isatty() and number % 500 == 0:
            print(f"\r已生成 {number}/{count}", end="", file=sys.stderr, flush=True)
    return made


def committed(rubric_id: str, programme_path: Path, evidence: Path, seed: int = 7) -> None:
    """The committed example set: 26 generated centers and four made to show the programme's hard cases
    (a tie straddling the quota line, a safety veto, a five-star score missing a function, a broken
    bundle), the city's registry, and last year's ratings.json in which weak centers already fell short."""
    import shutil
    import tempfile

    from scoring.jobs import rating
    from scoring.loading import programme as programmes
    from scoring.papers.outputs import render

    rubric_path = resolve(rubric_id)
    rubric = load(rubric_path)
    plan = programmes.load(programme_path, rubric)
    folder = evidence / "qingdao_centers_2023"
    shutil.rmtree(folder, ignore_errors=True)
    everywhere = places()
    spots = [everywhere[(k * 7) % len(everywhere)] for k in range(1, 33)]  # 32 different streets
    for number in range(1, 27):
        district, street = spots[number - 1]
        center(rubric, number, district, street, quality(number, 2023, seed), seed, 2023, folder)
    multi = next(f for f in rubric.facts if f.type == "multi")
    vetoed = next(f.name for f in rubric.facts if f.type == "bool" and rubric.bands and
                  f.name in {c.fact for c in rubric.bands.veto})
    center(rubric, 27, *spots[26], 0.97, seed, 2023, folder, {vetoed: True})
    center(rubric, 28, *spots[27], 1.0, seed, 2023, folder, {multi.name: [v for v, _ in multi.values][:-1]})
    capped = next(i for ind in rubric.indicators for i in ind.inputs if i.max is not None and not i.fact)
    center(rubric, 29, *spots[28], 0.8, seed, 2023, folder, {capped.name: float(capped.max) * 1.8})
    # The tie: a copy of the 15th rewarded center under another name sits on the same score.
    first = rating.rate(find(folder), rubric, RubricChoice(rubric_path), plan, rating.Registry(1000))
    eligible = [c for c in first.centers if c.reward > 0]
    model = next(p for p in folder.iterdir() if p.name.startswith(eligible[14].id))
    district, street = spots[29]
    twin = folder / f"QD00030_{center_name(street)}"
    shutil.copytree(model, twin)
    text = (twin / "bundle.yaml").read_text("utf-8")
    text = text.replace(eligible[14].id, "QD00030").replace(eligible[14].name, center_name(street))
    (twin / "bundle.yaml").write_text(text.replace(f"district: {eligible[14].district}", f"district: {district}"),
                                      "utf-8")
    assessed(folder, rubric_path, plan, range(1, 13))
    # All centers in the city: the 30 here and one not rated, so the quota is 31 × 50% = 15 (rounded down):
    # the line falls between the 15th rewarded center and its twin.
    rows = []
    for p in sorted(d for d in folder.iterdir() if d.is_dir()):
        data = yaml.safe_load((p / "bundle.yaml").read_text("utf-8"))
        rows.append((data["assessee"]["id"], data["assessee"]["name"], data["assessee"]["district"]))
    rows.append(("QD00031", center_name(spots[30][1]), spots[30][0]))
    registry = evidence / "qingdao_centers_registry.csv"
    registry.write_text("\ufeff编号,名称,区（市）\n" + "".join(f"{i},{n},{d}\n" for i, n, d in rows), "utf-8")
    # Last year: the same centers, a year earlier, rated by the same programme.
    with tempfile.TemporaryDirectory() as tmp:
        before = Path(tmp) / "2022"
        for ident, name, district in rows[:-1]:
            number = int(ident[2:])
            street = name.removesuffix("综合养老服务中心").removesuffix("街道")
            center(rubric, number, district, street, quality(number, 2022, seed), seed, 2022, before)
        # Last year's programme: the same measures, under that year's id and title (no file of its own).
        this, last_year = str(plan.year or 2023), str((plan.year or 2023) - 1)
        earlier = replace(plan, id=plan.id.replace(this, last_year), title=plan.title.replace(this, last_year),
                          year=int(last_year), series=plan.family, path="", sha256="")
        last = rating.rate(find(before), rubric, RubricChoice(rubric_path), earlier, rating.read_registry(registry))
        (evidence / "qingdao_centers_2022_ratings.json").write_bytes(render("rating", "json", last))


def assessed(folder: Path, rubric_path: Path, plan: Any, numbers: range) -> None:
    """The third party's assessment of some centers, filed as the rubric's name for the first reviewing
    stage (第三方评估 for 初评; a review with no entry accepts the claims; the committee still rates on the
    supported score)."""
    from scoring.loading.review import blank
    from scoring.pipeline.folder import score_files

    for number in numbers:
        bundle = next(p for p in folder.iterdir() if p.name.startswith(f"QD{number:05d}_"))
        result = score_files(bundle, RubricChoice(rubric_path))
        text = blank(result, "初评", "评估组", "第三方评估机构（示例）")
        text = re.sub(r"(?m)^date: .*$", "date: 2024-03-15", text)
        (folder / f"QD{number:05d}_{result.rubric.stage_name('初评')}.yaml").write_text(text, "utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description="为星级评定细则生成模拟的中心材料包（同一种子得到相同的材料包）。")
    parser.add_argument("--rubric", default="qingdao_center_stars")
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--year", type=int, default=2023)
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--committed", type=Path, metavar="PROGRAMME",
                        help="写出仓库中的示例集（-o 为 evidence 目录）：30 个中心、名册和上一年的评定结果")
    args = parser.parse_args()
    if args.committed:
        committed(args.rubric, args.committed, args.output)
    else:
        generate(load(resolve(args.rubric)), args.count, args.seed, args.year, args.output)


if __name__ == "__main__":
    main()
