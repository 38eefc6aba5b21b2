from __future__ import annotations

import hashlib
import multiprocessing
import os
import pkgutil
import shutil
import sys
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
class Rendered:
    pdf: Path
    output: str  # what the command printed on standard output
    errors: str  # and on standard error


@pytest.fixture(scope="session")
def sample_report(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    """The sample's self-evaluation report as `scoring report --final` writes it, made once for the whole
    run (the test processes share it through their common temporary folder): for tests that only read it
    (the file is theirs to read, not to change)."""
    import fcntl

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    out = shared / "sample_report" / "高青县自评报告.pdf"
    with (shared / "sample_report.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not out.exists():
            out.parent.mkdir(exist_ok=True)
            result = CliRunner().invoke(main, ["report", str(SAMPLE), "-o", str(out), "--final"])
            assert result.exit_code == 0, result.output
            out.with_suffix(".out").write_text(result.stdout, "utf-8")
            out.with_suffix(".err").write_text(result.stderr, "utf-8")
    return Rendered(out, out.with_suffix(".out").read_text("utf-8"), out.with_suffix(".err").read_text("utf-8"))


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
