"""Every benchmark in one run (a script, not a test): each figure a median of N with its min–max, beside its target.

    python bench/run.py [-n 3] [--quick] [--dir /tmp/county-scoring-bench] [--only help,score,...]

Every measured command is a cold process, as a county, a committee or a reviewer starts it; where a
figure is a ratio or a difference, the command and its baseline run alternately and each pair gives one
value. One untimed run first warms the disk and fontconfig caches. Peak memory is the process's own
maximum resident set (wait4), the child processes' it waits for included.

1. help    `scoring --help` minus `python -c pass`. Target ≤ 0.3 s: no issue sets one; this is what a
           command that answers at once may cost over bare Python.
2. score   the Gaoqing sample scored: `scoring score evidence/gaoqing_2022_sample`. Target < 5 s and
           500 MB (issue #17: any bundle within the limits).
3. report  the sample report against WeasyPrint alone on the HTML the report saved. Targets: ratio ≤ 1.15
           (the report adds little to WeasyPrint's own work), the report ≤ 1.5 s warm.
4. rate    10,000 generated centers scored, banded, ranked and paid, ratings.json and ratings.csv made,
           against loading the same bundle.yaml files with PyYAML's C loader alone. Targets ≤ 20 s, ≤ 2×
           (issue #14).
5. pdfs    `scoring rate --pdfs` minus the same run without it, for 1,000 centers. Target ≤ 40 s (issue #14).
6. worst   a bundle at the documented limits (documents totalling the limit, each as large as a file may
           be, each cited by every answer that takes documents; the manifest at its size limit, filled with
           statements): score and report time and peak memory. Targets: score < 5 s and 500 MB, report
           < 60 s and 1 GB (issue #17). The limits are read by name from the package at run time.
7. texts   a bundle at every text and document limit at once (documents with every field at its longest,
           citations, the answers' reasons and notes filling the text budgets) and two review files at
           theirs (entries, 待复核 included, and their text), from bench/worst.py: `score` with the reviews,
           `report` with them and `diff` (the 意见表), time, CPU time and peak memory, and the pages.
           Targets as for 6. The limits are read by name from the package at run time.
8. desk    `scoring serve` on three sample counties, 200 requests each to the counties list and a county
           page from 20 concurrent clients: median and p99 page time, and errors. Target: no error, p99
           ≤ 1 s (no issue sets a time; a page a reviewer waits for should come within a second).
9. workbook a 填报表.xlsx with its four sheets at WORKBOOK_ROWS × WORKBOOK_COLUMNS, every cell read holding
           text (made from the limits by name): `score` reads it all and refuses its answers. Targets as for
           6's score (issue #27).
10. committee a graded programme at PROGRAMME_BYTES and a registry at REGISTRY_ROWS and REGISTRY_BYTES
           (bench/worst.py): `rate` rates, pays and lists every institution. Targets as for 6's report: it
           writes the committee's paper (issue #27).

Generated centers and the worst bundle are made once and kept in --dir. `--quick` runs everything small,
once, as a sanity check; its figures are not comparable with the targets.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import importlib
import math
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "evidence" / "gaoqing_2022_sample"
PROGRAMME = ROOT / "programmes" / "qingdao_center_rewards_2023.yaml"
PYTHON = sys.executable
SCORING = [str(Path(PYTHON).with_name("scoring"))] if Path(PYTHON).with_name("scoring").exists() \
    else [PYTHON, "-m", "scoring"]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
MB = 1024 * 1024
WEASYPRINT_ALONE = "import sys, weasyprint; weasyprint.HTML(filename=sys.argv[1]).write_pdf(sys.argv[2])"
RATE = """
import sys
from pathlib import Path
from scoring.jobs import rating
from scoring.loading import programme
from scoring.papers.outputs import render
from scoring.pipeline.folder import RubricChoice, find, loaded
if __name__ == "__main__":
    choice = RubricChoice.of("qingdao_center_stars")
    rubric = loaded(choice.named)
    plan = programme.load(Path(sys.argv[2]), rubric)
    made = rating.rate(find(Path(sys.argv[1])), rubric, choice, plan, rating.Registry(10 ** 6))
    render("rating", "json", made), render("rating", "csv", made)
"""
BARE_YAML = """
import sys, yaml
from pathlib import Path
for p in sorted(Path(sys.argv[1]).glob("*/bundle.yaml")):
    yaml.load(p.read_bytes(), Loader=yaml.CSafeLoader)
"""
# Where the limits live (scoring/base/limits.py, every budget in one place).
LIMIT_MODULES = ("scoring.base.limits",)


class TooSlow(Exception):
    pass


@dataclass
class Figures:
    values: list[float]

    def text(self, unit: str = "s", digits: int = 2) -> tuple[str, str]:
        fmt = f"{{:.{digits}f}}"
        med = fmt.format(statistics.median(self.values)) + f" {unit}"
        span = f"{fmt.format(min(self.values))}–{fmt.format(max(self.values))}" if len(self.values) > 1 else ""
        return med, span

    @property
    def median(self) -> float:
        return statistics.median(self.values)


ROWS: list[tuple[str, str, str, str, str]] = []


def row(name: str, figures: Figures | None, target: str = "", ok: bool | None = None, unit: str = "s",
        digits: int = 2, value: str = "") -> None:
    med, span = figures.text(unit, digits) if figures else (value, "")
    mark = "" if ok is None else ("达标" if ok else "未达标")
    ROWS.append((name, med, span, target, mark))
    print(f"  {name}: {med} {f'({span})' if span else ''} {target} {mark}", file=sys.stderr, flush=True)


CPU: list[float] = []  # the CPU seconds of each process `cold` ran, in order (a shared machine's clock lies)


def cold(command: list[str], timeout: float | None = None, cwd: Path = ROOT,
         codes: tuple[int, ...] = (0,)) -> tuple[float, float]:
    """Seconds and peak resident memory (MB) of one process, its waited-for children included; its CPU
    seconds are appended to CPU. An exit code outside `codes` stops the run."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = None if timeout is None else start + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if deadline is not None and time.perf_counter() > deadline:
            proc.kill()
            proc.wait()
            raise TooSlow(f"超过 {timeout:.0f} 秒未结束：{' '.join(command[:3])}")
        time.sleep(0.005)
    seconds = time.perf_counter() - start
    CPU.append(usage.ru_utime + usage.ru_stime)
    proc.returncode = os.waitstatus_to_exitcode(status)
    error = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
    if proc.returncode not in codes:
        raise RuntimeError(f"{' '.join(command)} 退出码 {proc.returncode}：{error[-2000:]}")
    return seconds, usage.ru_maxrss / 1024


def alternate(a: list[str], b: list[str], runs: int) -> tuple[Figures, Figures]:
    times_a, times_b = [], []
    for _ in range(runs):
        times_a.append(cold(a)[0])
        times_b.append(cold(b)[0])
    return Figures(times_a), Figures(times_b)


def repeated(command: list[str], runs: int, timeout: float | None = None) -> tuple[Figures, Figures]:
    done = [cold(command, timeout) for _ in range(runs)]
    return Figures([t for t, _ in done]), Figures([m for _, m in done])


def bench_help(args: argparse.Namespace) -> None:
    print("1. scoring --help", file=sys.stderr)
    cold([*SCORING, "--help"])
    helped, bare = alternate([*SCORING, "--help"], [PYTHON, "-c", "pass"], args.n)
    extra = Figures([h - b for h, b in zip(helped.values, bare.values, strict=True)])
    row("scoring --help", helped, digits=3)
    row("python -c pass", bare, digits=3)
    row("scoring --help 多用时间", extra, "≤ 0.3 s（自定）", extra.median <= 0.3, digits=3)


def bench_score(args: argparse.Namespace) -> None:
    print("2. 高青县样例打分", file=sys.stderr)
    cold([*SCORING, "score", str(SAMPLE)])
    seconds, peak = repeated([*SCORING, "score", str(SAMPLE)], args.n)
    row("高青县样例 score", seconds, "< 5 s", seconds.median < 5)
    row("高青县样例 score 内存峰值", peak, "< 500 MB", peak.median < 500, "MB", 0)


def bench_report(args: argparse.Namespace) -> None:
    print("3. 样例自评报告 / WeasyPrint", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        pdf, html, alone = Path(tmp, "report.pdf"), Path(tmp, "report.html"), Path(tmp, "alone.pdf")
        report = [*SCORING, "report", str(SAMPLE), "-o", str(pdf)]
        cold([*report, "--html", str(html)])
        made, weasy = alternate(report, [PYTHON, "-c", WEASYPRINT_ALONE, str(html), str(alone)], args.n)
    ratio = Figures([r / w for r, w in zip(made.values, weasy.values, strict=True)])
    row("样例 report", made, "≤ 1.5 s", made.median <= 1.5)
    row("WeasyPrint 单独渲染同一 HTML", weasy)
    row("report / WeasyPrint", ratio, "≤ 1.15", ratio.median <= 1.15, unit="×", digits=3)


def centers(folder: Path, count: int) -> Path:
    made = folder / f"centers_{count}"
    if not (made / ".complete").exists():
        shutil.rmtree(made, ignore_errors=True)
        print(f"生成 {count} 个中心的材料包……", file=sys.stderr)
        subprocess.run([PYTHON, str(ROOT / "scripts" / "generate_centers.py"), "--count", str(count),
                        "--seed", "1", "-o", str(made)], check=True, env=ENV)
        (made / ".complete").touch()
    return made


def warm(folder: Path) -> None:
    """Every file of the centers read once, so that no timed run waits for the disk: the scoring run
    reads each center's documents, the bare load only its bundle.yaml."""
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            path.read_bytes()


def bench_rate(args: argparse.Namespace) -> None:
    count = args.centers
    print(f"4. {count} 个中心评分", file=sys.stderr)
    many = centers(args.dir, count)
    rate, bare = [PYTHON, "-c", RATE, str(many), str(PROGRAMME)], [PYTHON, "-c", BARE_YAML, str(many)]
    warm(many)
    scored, loaded = alternate(rate, bare, args.n)
    ratio = Figures([s / b for s, b in zip(scored.values, loaded.values, strict=True)])
    row(f"{count} 个中心评分（不含 PDF）", scored, "≤ 20 s", scored.median <= 20, digits=1)
    row(f"{count} 个 bundle.yaml 仅 C-YAML 读取", loaded, digits=1)
    row("评分 / 仅读取", ratio, "≤ 2", ratio.median <= 2, unit="×")


def bench_pdfs(args: argparse.Namespace) -> None:
    count = args.pdfs
    print(f"5. {count} 份中心 PDF", file=sys.stderr)
    few = centers(args.dir, count)
    warm(few)
    rate = [*SCORING, "rate", str(few), "--rubric", "qingdao_center_stars", "--programme", str(PROGRAMME),
            "--centers-total", str(count * 2)]
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        with_pdfs, without = alternate([*rate, "-o", str(Path(tmp, "a")), "--pdfs"],
                                       [*rate, "-o", str(Path(tmp, "b"))], args.n)
    pdfs = Figures([w - o for w, o in zip(with_pdfs.values, without.values, strict=True)])
    row(f"{count} 份中心 PDF（rate --pdfs 减不含 PDF）", pdfs, "≤ 40 s", pdfs.median <= 40, digits=1)
    row(f"{count} 个中心 rate --pdfs 整次", with_pdfs, digits=1)


def limit(name: str, default: int | None = None) -> int:
    """A documented limit by its name, from wherever the package keeps it; the default if none does (and
    no default: the run stops, naming the limit)."""
    for module in LIMIT_MODULES:
        try:
            found = getattr(importlib.import_module(module), name, None)
        except ImportError:
            continue
        if isinstance(found, int):
            return found
    if default is None:
        raise SystemExit(f"未找到限值 {name}")
    print(f"  未找到限值 {name}，按 {default} 计", file=sys.stderr)
    return default


def bench_worst(args: argparse.Namespace) -> None:
    print("6. 限值内最坏的材料包", file=sys.stderr)
    documents_total = limit("TOTAL_BYTES", 1024 * MB)
    file_max = limit("FILE_BYTES", 50 * MB)
    manifest_max = limit("MANIFEST_BYTES", 2 * MB)
    text_chars, texts_chars = limit("TEXT_CHARS", 20_000), limit("TEXTS_CHARS", 200_000)
    if args.quick:
        documents_total, manifest_max = min(documents_total, 64 * MB), min(manifest_max, 256 * 1024)
    import worst  # bench/, beside this script

    bundle = worst.files_bundle(args.dir, documents_total, file_max, manifest_max, text_chars, texts_chars,
                                limit("CITATIONS"), limit("CITATIONS_PER_DOCUMENT"))
    row("最坏材料包", None, value=f"佐证 {documents_total // MB} MB（单个 ≤ {file_max // MB} MB），"
                               f"清单 {(bundle / 'bundle.yaml').stat().st_size // 1024} KB")
    try:
        cold([*SCORING, "score", str(bundle)], 120)
        seconds, peak = repeated([*SCORING, "score", str(bundle)], args.n, 120)
        row("最坏材料包 score", seconds, "< 5 s", seconds.median < 5)
        row("最坏材料包 score 内存峰值", peak, "< 500 MB", peak.median < 500, "MB", 0)
    except (TooSlow, RuntimeError) as exc:
        row("最坏材料包 score", None, "< 5 s", False, value=str(exc)[:120])
    with tempfile.TemporaryDirectory() as tmp:
        report = [*SCORING, "report", str(bundle), "-o", str(Path(tmp, "worst.pdf"))]
        try:
            seconds, peak = repeated(report, args.n, args.render_timeout)
            row("最坏材料包 report", seconds, "< 60 s", seconds.median < 60, digits=1)
            row("最坏材料包 report 内存峰值", peak, "< 1024 MB", peak.median < 1024, "MB", 0)
            row("最坏材料包 report 页数", None, value=_pages(Path(tmp, "worst.pdf")))
        except (TooSlow, RuntimeError) as exc:
            row("最坏材料包 report", None, "< 60 s", False, value=str(exc)[:120])


def bench_workbook(args: argparse.Namespace) -> None:
    """A 填报表.xlsx with each of its four sheets at WORKBOOK_ROWS × WORKBOOK_COLUMNS, every cell read
    holding text (tests/test_workbook_limits.py makes it from the limits by name): `score` reads every
    sheet to the end and refuses its nonsense answers (exit 1); the reading is the cost."""
    print("9. 限值内最大的填报表", file=sys.stderr)
    sys.path.insert(0, str(ROOT))
    from tests.test_workbook_limits import at_the_limits

    folder = Path(args.dir) / "最大填报表"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    (folder / "填报表.xlsx").write_bytes(at_the_limits())
    score = [*SCORING, "score", str(folder), "--rubric", str(ROOT / "tests" / "fixtures" / "mini.yaml")]
    row("最大填报表", None, value=f"{(folder / '填报表.xlsx').stat().st_size // 1024} KB")
    done = [cold(score, 120, codes=(1,)) for _ in range(args.n)]
    seconds, peak = Figures([t for t, _ in done]), Figures([m for _, m in done])
    row("最大填报表 score", seconds, "< 5 s", seconds.median < 5)
    row("最大填报表 score 内存峰值", peak, "< 500 MB", peak.median < 500, "MB", 0)


def bench_texts(args: argparse.Namespace) -> None:
    print("7. 限值内最坏的文字、佐证目录和评审意见", file=sys.stderr)
    import worst  # bench/, beside this script

    bundle = worst.bundle(args.dir, limit)
    chain = [a for review in worst.reviews(args.dir, bundle, limit) for a in ("--review", str(review))]
    row("文字最坏材料包", None, value=f"佐证 {limit('DOCUMENTS')} 份（标题等填满）、引用 {limit('CITATIONS')} 次、"
        f"报告文字（含理由和备注）{limit('TEXTS_CHARS')} 字；两份评审意见各 {limit('REVIEW_ENTRIES')} 条"
        f"（半数待复核）、{limit('REVIEW_CHARS')} 字")
    with tempfile.TemporaryDirectory() as tmp:
        for name, command, target, timeout in (
                ("score（含评审意见）", ["score", str(bundle), *chain], (5, 500), 120),
                ("report（含评审意见）", ["report", str(bundle), *chain, "-o", str(Path(tmp, "r.pdf"))], (60, 1024),
                 args.render_timeout),
                ("diff 意见表", ["diff", str(bundle), *chain, "-o", str(Path(tmp, "d.pdf"))], (60, 1024),
                 args.render_timeout)):
            try:
                del CPU[:]
                seconds, peak = repeated([*SCORING, *command], args.n, timeout)
            except (TooSlow, RuntimeError) as exc:
                row(f"文字最坏材料包 {name}", None, f"< {target[0]} s", False, value=str(exc)[:120])
                continue
            row(f"文字最坏材料包 {name}", seconds, f"< {target[0]} s", seconds.median < target[0], digits=1)
            row(f"文字最坏材料包 {name} CPU 时间", Figures(CPU[:]), digits=1)
            row(f"文字最坏材料包 {name} 内存峰值", peak, f"< {target[1]} MB", peak.median < target[1], "MB", 0)
            if command[0] != "score":
                row(f"文字最坏材料包 {name} 页数", None, value=_pages(Path(command[-1])))


def bench_committee(args: argparse.Namespace) -> None:
    """A graded programme at PROGRAMME_BYTES and a registry at REGISTRY_ROWS and REGISTRY_BYTES (from
    bench/worst.py): `rate` rates and lists every institution."""
    print("10. 限值内最大的名册和奖补方案", file=sys.stderr)
    import worst  # bench/, beside this script

    programme, registry = worst.committee(args.dir, limit)
    row("最大名册", None, value=f"{limit('REGISTRY_ROWS')} 个养老机构、{registry.stat().st_size // 1024} KB；"
        f"奖补方案 {programme.stat().st_size // 1024} KB")
    with tempfile.TemporaryDirectory() as tmp:
        command = [*SCORING, "rate", "--programme", str(programme), "--registry", str(registry), "-o",
                   str(Path(tmp, "out"))]
        try:
            del CPU[:]
            seconds, peak = repeated(command, args.n, args.render_timeout)
        except (TooSlow, RuntimeError) as exc:
            row("最大名册 rate", None, "< 60 s", False, value=str(exc)[:120])
            return
        row("最大名册 rate", seconds, "< 60 s", seconds.median < 60, digits=1)
        row("最大名册 rate CPU 时间", Figures(CPU[:]), digits=1)
        row("最大名册 rate 内存峰值", peak, "< 1024 MB", peak.median < 1024, "MB", 0)
        row("最大名册 committee.pdf 页数", None, value=_pages(Path(tmp, "out", "committee.pdf")))


def _pages(pdf: Path) -> str:
    found = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout.splitlines()
    return next((line.split()[-1] for line in found if line.startswith("Pages:")), "?")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fetch(url: str) -> tuple[str, float, bool]:
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=60) as answer:
            answer.read()
            good = answer.status == 200
    except OSError:
        good = False
    return url, time.perf_counter() - start, good


def bench_desk(args: argparse.Namespace) -> None:
    print(f"8. 评审工作台：{args.clients} 个并发客户端", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp, "各县材料")
        for name, source in (("高青县", "gaoqing_2022_sample"), ("示例县", "gaoqing_2022_shortfalls"),
                             ("问题县", "gaoqing_2022_evidence_problems")):
            shutil.copytree(ROOT / "evidence" / source, root / name)
        port = free_port()
        address = f"http://127.0.0.1:{port}"
        pages = {"县列表页 /": address + "/", "县页面 /county/高青县": address + "/county/" + urllib.parse.quote("高青县")}
        server = subprocess.Popen([*SCORING, "serve", str(root), "--port", str(port)], env=ENV,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(300):
                if fetch(pages["县列表页 /"])[2] or server.poll() is not None:
                    break
                time.sleep(0.1)
            for url in pages.values():
                fetch(url)
            urls = [url for _ in range(args.requests) for url in pages.values()]
            times: dict[str, list[float]] = {url: [] for url in pages.values()}
            errors = 0
            with concurrent.futures.ThreadPoolExecutor(args.clients) as pool:
                for _ in range(args.n):
                    for url, seconds, good in pool.map(fetch, urls):
                        times[url].append(seconds)
                        errors += not good
        finally:
            server.terminate()
            server.wait(10)
    for name, url in pages.items():
        taken = sorted(times[url])
        p99 = taken[math.ceil(0.99 * len(taken)) - 1]  # nearest rank
        row(f"{name} 中位数", None, value=f"{statistics.median(taken) * 1000:.0f} ms")
        row(f"{name} p99", None, "≤ 1 s（自定）", p99 <= 1, value=f"{p99 * 1000:.0f} ms")
    row(f"{len(urls) * args.n} 个请求中出错", None, "0", errors == 0, value=str(errors))


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory = next((int(line.split()[1]) // 1024 // 1024 for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), 0)
    return (f"{cpu}，{os.cpu_count()} 核，内存 {memory} GB，Python {platform.python_version()}，"
            f"{platform.system()} {platform.release()}，{datetime.date.today().isoformat()}")


BENCHES = {"help": bench_help, "score": bench_score, "report": bench_report, "rate": bench_rate,
           "pdfs": bench_pdfs, "worst": bench_worst, "texts": bench_texts, "desk": bench_desk,
           "workbook": bench_workbook, "committee": bench_committee}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("-n", type=int, default=3, help="每项重复次数（默认 3）")
    parser.add_argument("--quick", action="store_true", help="小规模各跑一次，只作检查")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/county-scoring-bench"), help="生成的材料包存放处")
    parser.add_argument("--only", default=",".join(BENCHES), help="只跑这些项，逗号分隔：" + ",".join(BENCHES))
    parser.add_argument("--render-timeout", type=float, default=300, help="最坏材料包报告的时限（秒）")
    args = parser.parse_args()
    args.centers, args.pdfs, args.requests, args.clients = 10_000, 1_000, 200, 20
    if args.quick:
        args.n, args.centers, args.pdfs, args.requests, args.clients = 1, 200, 20, 40, 10
    args.dir.mkdir(parents=True, exist_ok=True)
    chosen = args.only.split(",")
    unknown = set(chosen) - set(BENCHES)
    if unknown:
        parser.error(f"没有这些项：{', '.join(sorted(unknown))}")
    began = time.perf_counter()
    for name in chosen:
        BENCHES[name](args)
    print(f"机器：{machine()}（共用机器，其他进程可能同时运行）")
    print(f"每项 {args.n} 次的中位数（最小–最大），冷进程；总用时 {time.perf_counter() - began:.0f} 秒"
          + ("；--quick：规模缩小，不与目标比较" if args.quick else ""))
    print()
    print(table(ROWS, judged=not args.quick))


def table(rows: list[Any], judged: bool) -> str:
    head = ("项目", "中位数", "最小–最大", "目标", "")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r if judged else (*r[:4], "")) + " |" for r in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
