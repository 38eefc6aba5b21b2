"""Benchmark the self-evaluation report against WeasyPrint alone (a script, not a test).

Both run as cold processes, as a county runs them: `python -m scoring report BUNDLE -o …` end to end,
and `python -c "import weasyprint; weasyprint.HTML(filename=…).write_pdf(…)"` on the HTML the report
saved. One untimed run first saves that HTML and warms the disk and fontconfig caches; then the two
commands alternate N times and the medians are compared.

    python bench/bench_report.py [BUNDLE] [-n 5] [--rubric FILE]

Targets: ratio ≤ 1.15 (the report adds little to WeasyPrint's own work); the report itself ≤ 1.5 s warm.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "evidence" / "gaoqing_2022_sample"
WEASYPRINT_ALONE = "import sys, weasyprint; weasyprint.HTML(filename=sys.argv[1]).write_pdf(sys.argv[2])"


def timed(command: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command, check=True, cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    return time.perf_counter() - start, done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", nargs="?", type=Path, default=SAMPLE)
    parser.add_argument("-n", "--runs", type=int, default=5)
    parser.add_argument("--rubric", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        pdf, html, alone = Path(tmp, "report.pdf"), Path(tmp, "report.html"), Path(tmp, "alone.pdf")
        report = [sys.executable, "-m", "scoring", "report", str(args.bundle.resolve()), "-o", str(pdf)]
        if args.rubric:
            report += ["--rubric", str(args.rubric.resolve())]
        first, said = timed([*report, "--html", str(html)])
        weasy = [sys.executable, "-c", WEASYPRINT_ALONE, str(html), str(alone)]
        runs: dict[str, list[float]] = {"report": [], "weasyprint": []}
        for _ in range(args.runs):
            runs["report"].append(timed(report)[0])
            runs["weasyprint"].append(timed(weasy)[0])
    report_s, weasy_s = statistics.median(runs["report"]), statistics.median(runs["weasyprint"])
    print(f"bundle: {args.bundle}  (first, untimed run {first:.2f} s: {said.splitlines()[0]})")
    print(f"scoring report (cold process), median of {args.runs}: {report_s:.2f} s   "
          f"[{', '.join(f'{t:.2f}' for t in runs['report'])}]")
    print(f"WeasyPrint alone on the saved HTML, median of {args.runs}: {weasy_s:.2f} s   "
          f"[{', '.join(f'{t:.2f}' for t in runs['weasyprint'])}]")
    print(f"ratio report / WeasyPrint: {report_s / weasy_s:.3f}  (target ≤ 1.15; report target ≤ 1.5 s)")


if __name__ == "__main__":
    main()
