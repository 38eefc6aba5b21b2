"""Benchmark a committee's run (a script, not a test): scoring many generated centers, and their PDFs.

Each measurement is a cold process, as a committee runs it, repeated N times alternately with its
baseline; medians are compared.

    python bench/bench_rate.py [--centers 10000] [--pdfs 1000] [-n 3] [--dir /tmp/county-scoring-bench]

1. Scoring without PDFs: every center scored (both cores), banded, ranked and paid, ratings.json and
   ratings.csv made; against loading the same bundle.yaml files with PyYAML's C loader and nothing else
   (one process). Targets: ≤ 20 s for 10,000 centers, ≤ 2× the bare load.
2. PDFs: `scoring rate --pdfs` minus the same run without it, for 1,000 centers (one- or two-page sheets).
   Target: ≤ 40 s.

The centers are made once by scripts/generate_centers.py (seed 1) and kept in --dir.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROGRAMME = ROOT / "programmes" / "qingdao_center_rewards_2023.yaml"
SCORE = """
import sys
from pathlib import Path
from scoring import programme, rating
from scoring.outputs import render
from scoring.rubric import load, resolve
if __name__ == "__main__":
    path = resolve("qingdao_center_stars")
    plan = programme.load(Path(sys.argv[2]), load(path))
    made = rating.rate(Path(sys.argv[1]), path, plan, rating.Registry(10 ** 6))
    render("rating", "json", made), render("rating", "csv", made)
"""
BARE = """
import sys, yaml
from pathlib import Path
for p in sorted(Path(sys.argv[1]).glob("*/bundle.yaml")):
    yaml.load(p.read_bytes(), Loader=yaml.CSafeLoader)
"""


def centers(folder: Path, count: int) -> Path:
    made = folder / f"centers_{count}"
    if not (made / ".complete").exists():
        shutil.rmtree(made, ignore_errors=True)
        print(f"生成 {count} 个中心的材料包……", file=sys.stderr)
        subprocess.run([sys.executable, str(ROOT / "scripts" / "generate_centers.py"), "--count", str(count),
                        "--seed", "1", "-o", str(made)], check=True)
        (made / ".complete").touch()
    return made


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def pair(a: list[str], b: list[str], runs: int) -> tuple[float, float]:
    """Medians of a and b, run alternately."""
    times_a, times_b = [], []
    for _ in range(runs):
        times_a.append(timed(a))
        times_b.append(timed(b))
    return statistics.median(times_a), statistics.median(times_b)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--centers", type=int, default=10_000)
    parser.add_argument("--pdfs", type=int, default=1_000)
    parser.add_argument("-n", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/county-scoring-bench"))
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    many = centers(args.dir, args.centers)
    python = sys.executable
    scored, bare = pair([python, "-c", SCORE, str(many), str(PROGRAMME)], [python, "-c", BARE, str(many)], args.n)
    print(f"评分 {args.centers} 个中心（不含 PDF）：中位数 {scored:.1f} 秒（目标 ≤ 20 秒）；"
          f"仅 C-YAML 读取：{bare:.1f} 秒；比值 {scored / bare:.2f}（目标 ≤ 2）")
    few = centers(args.dir, args.pdfs)
    scoring = [python, "-m", "scoring", "rate", str(few), "--rubric", "qingdao_center_stars", "--programme",
               str(PROGRAMME), "--centers-total", str(args.pdfs * 2)]
    out = args.dir / "out"
    out.mkdir(exist_ok=True)
    with_pdfs, without = pair([*scoring, "-o", str(out / "a"), "--pdfs"], [*scoring, "-o", str(out / "b")], args.n)
    print(f"{args.pdfs} 份中心评定结果 PDF：{with_pdfs - without:.1f} 秒（整次 {with_pdfs:.1f} 秒，不含 PDF {without:.1f} 秒；"
          f"目标 ≤ 40 秒）")


if __name__ == "__main__":
    main()
