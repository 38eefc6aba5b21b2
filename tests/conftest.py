from __future__ import annotations

import hashlib
import io
import logging
import multiprocessing
import os
import pickle
import pkgutil
import shutil
import sys
import tempfile
import threading
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from scoring.domain import engine
from scoring.domain.model import Bundle, Rubric
from scoring.domain.results import Result
from scoring.faces.cli import main
from scoring.loading.bundle import open_bundle
from scoring.loading.rubric import load

# Each test process (and each command a test starts) compiles a module once and keeps it in __pycache__,
# even where the environment asks not to: compiling the test modules (with pytest's assertion rewriting)
# and the package again in every process costs seconds per run.
sys.dont_write_bytecode = False
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
MINI = FIXTURES / "mini.yaml"
GAOQING = ROOT / "rubrics" / "gaoqing_2022.yaml"
SAMPLE = ROOT / "evidence" / "gaoqing_2022_sample"
# SCORING_LONG_TESTS=1: the fuzzing tests (generated and damaged inputs, mutated manifests) run their long
# counts, as before a release; by default each runs a fixed, shorter set of the same checks.
LONG_TESTS = os.environ.get("SCORING_LONG_TESTS") == "1"


# libyaml's emitter when PyYAML has it: the same text as the pure-Python one for every document the tests
# write, several times faster (the property tests write hundreds of generated rubrics and bundles).
class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    def ignore_aliases(self, data: Any) -> bool:
        return True  # the loader refuses anchors: one object used twice is written out twice


def _decimal(dumper: Any, value: Decimal) -> yaml.ScalarNode:
    # Plain scalars only: a whole number as an int, so no explicit tag (refused by the loader) is written.
    if value == value.to_integral_value():
        return dumper.represent_scalar("tag:yaml.org,2002:int", str(int(value)))
    return dumper.represent_scalar("tag:yaml.org,2002:float", str(value))


_Dumper.add_representer(Decimal, _decimal)


def dump(data: Any) -> str:
    """YAML as a person writes it: plain scalars, exact decimals, Chinese as it is."""
    return yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False)


def pytest_configure(config: pytest.Config) -> None:
    # Commands that score many bundles (rate, review summary) do it in a pool of processes forked from a
    # forkserver. Modules the forkserver has imported are already there in every worker it forks, instead of
    # being imported again by each worker of each pool, several times per test. The same pool, the same code
    # path: only the imports happen once per test process. A name that no longer imports is skipped.
    package = Path(__file__).resolve().parent.parent / "scoring"
    jobs = [f"scoring.{layer}.{m.name}" for layer in ("pipeline", "jobs")
            for m in pkgutil.iter_modules([str(package / layer)])]
    multiprocessing.set_forkserver_preload([*jobs, "weasyprint"])


def pytest_sessionstart(session: pytest.Session) -> None:
    # One folder for the whole run, shared by the test processes: commands run once (run_shared), page
    # texts read from PDFs (pdf_pages) and papers laid out (_RenderedOnce).
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        os.environ[_RUN] = tempfile.mkdtemp(prefix="scoring-tests-")
    _RenderedOnce.install(Path(os.environ[_RUN]) / "renders")


def pytest_sessionfinish(session: pytest.Session) -> None:
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        shutil.rmtree(os.environ.pop(_RUN, ""), ignore_errors=True)


_RUN = "SCORING_TEST_RUN_FOLDER"


class _RenderedOnce:
    """Each paper laid out by WeasyPrint once per test run, in the test processes: a render asked for again
    with the same HTML, template folders and attached result, whose resources read back the same bytes,
    gets the PDF the first render wrote (and WeasyPrint's log lines from it, told again). The same input
    gives the same bytes (test_report's two renders in two processes, never kept here, check that), so
    what a test reads is what a render would give; tests of our code after the render see every call.
    Renders that fail are not kept. Commands a test starts as processes render for themselves."""

    def __init__(self, folder: Path) -> None:
        from scoring.papers.report import render

        self.folder, self.render, self.local = folder, render, threading.local()
        self.pdf, self.parts, self.read = render.render_pdf, render.render_parts, render._read

    @classmethod
    def install(cls, folder: Path) -> None:
        folder.mkdir(exist_ok=True)
        kept = cls(folder)
        kept.render.render_pdf = kept.render_pdf
        kept.render.render_parts = kept.render_parts
        kept.render._read = kept.reading

    def render_pdf(self, html: str, dirs: Any, read_extra: Any = None, archive: Any = None) -> Any:
        return self.kept(("pdf", html, [str(d) for d in dirs], archive), dirs, read_extra,
                         lambda: self.pdf(html, dirs, read_extra, archive))

    def render_parts(self, html: str, dirs: Any, starts: Any, archives: Any = ()) -> Any:
        return self.kept(("parts", html, [str(d) for d in dirs], list(starts), list(archives)), dirs, None,
                         lambda: self.parts(html, dirs, starts, archives))

    def reading(self, url: str, dirs: Any, read_extra: Any) -> bytes:
        data: bytes = self.read(url, dirs, read_extra)
        reads = getattr(self.local, "reads", None)
        if reads is not None:
            reads.append((url, sha256(data)))
        return data

    def kept(self, key: Any, dirs: Any, read_extra: Any, make: Any) -> Any:
        file = self.folder / f"{hashlib.sha256(pickle.dumps(key)).hexdigest()}.pickle"
        if file.exists():
            made, reads, said = pickle.loads(file.read_bytes())
            try:
                same = all(sha256(self.render._read(url, dirs, read_extra)) == digest for url, digest in reads)
            except Exception:
                same = False
            if same:
                for level, message in said:
                    logging.getLogger("weasyprint").log(level, "%s", message)
                return made
        heard = _Heard()
        self.local.reads = reads = []
        logging.getLogger("weasyprint").addHandler(heard)
        try:
            made = make()
        finally:
            logging.getLogger("weasyprint").removeHandler(heard)
            self.local.reads = None
        _write_whole(file, pickle.dumps((made, reads, heard.said)))
        return made


class _Heard(logging.Handler):
    """WeasyPrint's log lines said in this thread."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.thread, self.said = threading.get_ident(), []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.said.append((record.levelno, record.getMessage()))


def pdf_pages(path: Path) -> list[str]:
    """Each page's text as pypdf extracts it (about 0.1 s a page). Several tests read the same papers: the
    texts of a PDF are kept by its SHA-256 for the rest of the run, for every test process."""
    import json

    from pypdf import PdfReader

    data = path.read_bytes()
    if not os.environ.get(_RUN):  # outside a test run
        return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]
    kept = Path(os.environ[_RUN]) / f"{sha256(data)}.json"
    if kept.exists():
        pages: list[str] = json.loads(kept.read_text("utf-8"))
        return pages
    pages = [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]
    _write_whole(kept, json.dumps(pages).encode())
    return pages


def _write_whole(file: Path, data: bytes) -> None:
    """A file of the run's folder written whole or not at all, whichever test process is first."""
    partial = file.with_suffix(f".{os.getpid()}")
    partial.write_bytes(data)
    partial.replace(file)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    # `-n auto`: one test process more than there are cores. Some tests spend seconds waiting (on a browser,
    # a desk server, a slow client they play, a pool of processes) and the extra process uses that core time.
    return len(os.sched_getaffinity(0)) + 1


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The slow tests first (the sort keeps the order otherwise): the workers share out the many short tests
    # after them, and finish together instead of one running a long test while the other has none left.
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


# ---------------------------------------------------------------- shared, made once per test process
# Rubrics, bundles and results are frozen dataclasses: a test may read them, never change them.


@pytest.fixture(scope="session")
def gaoqing_rubric() -> Rubric:
    return load(GAOQING)


@pytest.fixture(scope="session")
def sample_bundle() -> Bundle:
    return open_bundle(SAMPLE)


@pytest.fixture(scope="session")
def sample_result(gaoqing_rubric: Rubric, sample_bundle: Bundle) -> Result:
    return engine.score(gaoqing_rubric, sample_bundle)


@dataclass(frozen=True)
class Ran:
    """A command run in its own folder (beside copies of evidence/ and programmes/): what it wrote there,
    its exit code and what it printed on standard output and standard error."""

    folder: Path
    code: int
    output: str
    errors: str

    def made(self) -> list[Path]:
        """The files and folders the command wrote, by name."""
        return sorted(p for p in self.folder.iterdir() if p.name not in _INPUTS)


_INPUTS = ("evidence", "programmes")


def run_shared(*args: str) -> Ran:
    """`scoring ARGS` as typed in a folder holding the shipped evidence/ and programmes/, run once for the
    whole test run: the test processes share it through the run's folder, under a lock. For
    commands that read only shipped files (the same inputs give the same bytes, as tests of their own
    check), so that the README's commands and the tests reading their papers render each paper once. What
    a command made is the callers' to read, not to change."""
    import contextlib
    import fcntl
    import json

    base = Path(os.environ[_RUN])
    key = hashlib.sha256("\0".join(args).encode()).hexdigest()[:16]
    folder, record = base / "commands" / key, base / "commands" / f"{key}.ran"
    folder.parent.mkdir(exist_ok=True)
    with (base / "commands" / f"{key}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not record.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            for name in _INPUTS:
                shutil.copytree(ROOT / name, folder / name)
            with contextlib.chdir(folder):
                result = CliRunner().invoke(main, list(args))
            assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
            record.write_text(json.dumps([result.exit_code, result.stdout, result.stderr]), "utf-8")
    code, output, errors = json.loads(record.read_text("utf-8"))
    return Ran(folder, code, output, errors)


@pytest.fixture(scope="session")
def shared() -> Any:
    return run_shared


# Papers of the shipped samples, each made exactly as the README's command makes it.
SAMPLE_REPORT = ("report", "evidence/gaoqing_2022_sample", "-o", "高青县自评报告.pdf")
CHAIN_REPORT = ("report", "evidence/gaoqing_2022_sample", "-o", "高青县自评报告_评审.pdf",
                "--review", "evidence/gaoqing_2022_review_city.yaml",
                "--review", "evidence/gaoqing_2022_review_province.yaml")
QINGDAO_RATE = ("rate", "evidence/qingdao_centers_2023", "--rubric", "qingdao_center_stars",
                "--programme", "programmes/qingdao_center_rewards_2023.yaml",
                "--registry", "evidence/qingdao_centers_registry.csv",
                "--previous", "evidence/qingdao_centers_2022_ratings.json", "-o", "2023评定结果", "--pdfs")
DIFF = ("diff", "evidence/gaoqing_2022_sample", "--review", "evidence/gaoqing_2022_review_city.yaml",
        "--review", "evidence/gaoqing_2022_review_province.yaml", "-o", "验收意见表.pdf")


@dataclass(frozen=True)
class Rendered:
    pdf: Path
    output: str  # what the command printed on standard output
    errors: str  # and on standard error


def rendered(ran: Ran) -> Rendered:
    assert ran.code == 0, ran.output + ran.errors
    (pdf,) = (p for p in ran.made() if p.suffix == ".pdf")
    return Rendered(pdf, ran.output, ran.errors)


@pytest.fixture(scope="session")
def sample_report(shared: Any) -> Rendered:
    """The sample's self-evaluation report as the README's first command writes it, made once for the whole
    run: for tests that only read it."""
    return rendered(shared(*SAMPLE_REPORT))


@pytest.fixture(scope="session")
def diff_report(shared: Any) -> Rendered:
    """The sample's 验收意见表 with the shipped 初评 and 验收, as the README's command writes it."""
    return rendered(shared(*DIFF))


@pytest.fixture(scope="session")
def chain_report(shared: Any) -> Rendered:
    """The sample's report with the shipped 初评 and 验收, as the README's command writes it."""
    return rendered(shared(*CHAIN_REPORT))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_bundle(folder: Path, inputs: dict[str, Any] | None = None, rubric: str = "mini",
                documents: dict[str, tuple[str, bytes, str]] | None = None, **extra: Any) -> Path:
    """Write a bundle: documents maps id -> (file, content, date)."""
    folder.mkdir(parents=True, exist_ok=True)
    docs = []
    for ident, (file, content, date) in (documents or {}).items():
        (folder / file).parent.mkdir(parents=True, exist_ok=True)
        (folder / file).write_bytes(content)
        docs.append({"id": ident, "file": file, "title": f"文件{ident}", "date": date, "sha256": sha256(content)})
    manifest = {"rubric": rubric, "assessee": {"name": "测试县"},
                "period": {"start": "2022-01-01", "end": "2022-12-31"},
                "documents": docs, "inputs": inputs or {}, **extra}
    (folder / "bundle.yaml").write_text(dump(manifest), "utf-8")
    return folder


def copy_tree(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst
