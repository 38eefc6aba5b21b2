"""The package works installed from a wheel, not only as an editable checkout: the shipped rubrics (with
their test cases) and the report templates are package data, found without the source tree."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "evidence" / "gaoqing_2022_sample"
REPORT = ROOT / "tests" / "fixtures" / "report"
# Repository folder -> where it lands in the installed package.
DATA = {"rubrics": "scoring/rubrics", "reports/templates": "scoring/templates"}
SOURCES = ("pyproject.toml", "README.md", "scoring", *DATA)
_JUNK = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")


def _run(args: list[str | Path], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done


def _data_files() -> set[str]:
    """Every shipped data file, as its path inside the wheel."""
    names = set()
    for folder, target in DATA.items():
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                names.add(f"{target}/{path.relative_to(ROOT / folder).as_posix()}")
    return names


@pytest.mark.slow
def test_wheel_installs_and_runs_without_the_checkout(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSAFEPATH")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"

    # Build from a copy of the sources, so the checkout gets no build/ folder (nor stale files from one).
    src = tmp_path / "src"
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=_JUNK)
        else:
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    dist = tmp_path / "dist"
    # The build backend from this environment (the test extras hold setuptools>=68, as pyproject.toml asks):
    # an isolated build would install it anew each time, for several seconds.
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", dist, src],
         tmp_path, env)
    (wheel,) = dist.glob("county_scoring-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        missing = _data_files() - set(zf.namelist())
    assert not missing, f"shipped data missing from the wheel: {sorted(missing)}"

    # A fresh venv with the wheel installed as plain files. Its dependencies come from the running
    # environment's site-packages through a .pth line: such a folder's own .pth files are not processed,
    # so an editable install of the checkout there stays invisible and `scoring` comes from the wheel.
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     tmp_path, env).stdout.strip())
    deps = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    (site / "zz_test_dependencies.pth").write_text("".join(f"{p}\n" for p in deps), "utf-8")
    _run([sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-index", wheel],
         tmp_path, env)

    work = tmp_path / "work"
    work.mkdir()
    where = _run([python, "-c", "import scoring, scoring.base.resources as r; print(scoring.__file__);"
                  "print(r.rubrics_dir()); print(r.templates_dir())"], work, env).stdout.splitlines()
    package, rubrics, templates = (Path(line) for line in where)
    assert package == site / "scoring" / "__init__.py", package
    assert rubrics == site / "scoring" / "rubrics" and templates == site / "scoring" / "templates"

    scoring = env_dir / "bin" / "scoring"
    assert "84.2" in _run([scoring, "score", SAMPLE], work, env).stdout

    # The installed templates at work: the report fixture's bundle, the same templates as the sample's report in
    # 9 pages to its 24.
    _run([scoring, "report", REPORT / "bundle", "--rubric", REPORT / "rubric.yaml", "-o", "x.pdf"], work, env)
    assert (work / "x.pdf").read_bytes().startswith(b"%PDF")

    tested = _run([scoring, "rubric", "test", rubrics / "gaoqing_2022.yaml"], work, env).stdout
    cases = len([p for p in (ROOT / "rubrics" / "gaoqing_2022.tests").iterdir() if p.is_dir()])
    assert re.search(rf"^通过 {cases} 例，未通过 0 例$", tested, re.MULTILINE), tested
