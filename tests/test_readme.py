"""The README runs as written: its command blocks, in order, in a scratch folder, with the figures it states.

Only what cannot run in a test is left out, each named in SKIPPED: the installer, the test run itself, the
command overview (a list of forms with placeholders) and the desk (a server a person clicks through; the
figures its section states are checked by scoring the 初评 it describes).
"""

from __future__ import annotations

import contextlib
import re
import shlex
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from scoring.domain.model import Bundle, Rubric
from scoring.faces.cli import main

from .conftest import ROOT
from .test_report import pdf_text

pytestmark = pytest.mark.xdist_group("readme")  # the README's commands run once, on one worker

README = ROOT / "README.md"
SKIPPED = ("bash scripts/setup.sh --test", "scoring rubric check", "scoring serve", "工作台材料/高青县_初评.yaml")


def _blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", README.read_text("utf-8"), re.DOTALL)


def _commands(block: str) -> list[str]:
    """The block's commands, continuation lines joined, comments dropped; none for a skipped block."""
    if any(s in block for s in SKIPPED[:2]):
        return []
    joined = re.sub(r"\\\n\s*", "", block)
    out = []
    for line in joined.splitlines():
        line = re.sub(r"\s+#.*$", "", line).strip()
        if line and not line.startswith("#") and not any(s in line for s in SKIPPED[2:]):
            out.append(line.replace("bash scripts/setup.sh && ", ""))
    return out


SCORING = ".venv/bin/scoring "
SHIPPED = ("evidence/", "programmes/")


def _pure(args: list[str]) -> bool:
    """A command that reads only shipped files (each argument naming a path names one), so the same bytes
    whenever it runs: the shared run serves it and the tests that read its papers alike."""
    paths = [a for a, before in zip(args, ["", *args], strict=False) if "/" in a and before != "-o"]
    return bool(paths) and all(p.startswith(SHIPPED) for p in paths)


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory, shared: Any) -> dict[str, str]:
    """Every runnable command, in the README's order, in a folder holding what the commands name. The
    `scoring` commands run in this process as the console command runs them (the console script itself is
    run by tests/test_install.py and tests/test_locale.py); a command reading only shipped files runs once
    for the whole test run, and what it wrote is copied here, where the next commands find it."""
    work = tmp_path_factory.mktemp("readme")
    for name in ("evidence", "programmes"):
        shutil.copytree(ROOT / name, work / name)
    out: dict[str, str] = {}
    for command in (c for block in _blocks() for c in _commands(block)):
        if command in out:  # a section repeats an earlier command (same inputs, so the same bytes): run once
            continue
        if not command.startswith(SCORING):
            done = subprocess.run(["bash", "-c", command], cwd=work, capture_output=True, text=True, check=False)
            assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
            out[command] = done.stdout + done.stderr
            continue
        args = shlex.split(command.removeprefix(SCORING))
        assert not set("&|;<>") & set(command), command  # one command, as the shell would run it
        if _pure(args):
            result = shared(*args)
            for made in result.made():
                copy = shutil.copytree if made.is_dir() else shutil.copy2
                copy(made, work / made.name)
            code, printed = result.code, result.output + result.errors
        else:
            with contextlib.chdir(work):
                done_here = CliRunner().invoke(main, args)
            code, printed = done_here.exit_code, done_here.stdout + done_here.stderr
        assert code == 0, f"{command}\n{printed}"
        out[command] = printed
    out["folder"] = str(work)
    return out


def _output(ran: dict[str, str], start: str) -> str:
    return next(v for k, v in ran.items() if k.startswith(start))


def test_every_block_runs_in_order(ran: dict[str, str]) -> None:
    work = Path(ran["folder"])
    # Copied twice (the flow's and the desk's sections), the bundles are not nested in themselves.
    assert not (work / "各县材料" / "高青县" / "gaoqing_2022_sample").exists()
    assert (work / "工作台材料" / "高青县" / "bundle.yaml").is_file()
    assert (work / "我县材料" / "填报表.xlsx").is_file() and (work / "2023评定结果" / "committee.pdf").is_file()


def test_the_figures_the_readme_states(ran: dict[str, str]) -> None:
    readme = README.read_text("utf-8")
    work = Path(ran["folder"])
    # 自评 84.2 分，达到创建标准: the sample's report.
    assert "# 自评 84.2 分，达到创建标准" in readme
    text = pdf_text(work / "高青县自评报告.pdf")
    assert "自评总分84.2分" in text and "（三）自评结论达到创建标准" in text
    # 初评 82.9（有据 81.9），验收 80.9: the chain's table.
    assert "# 初评 82.9（有据 81.9），验收 80.9；D12 不予采信，2.2 不计为达标" in readme
    chain = _output(ran, ".venv/bin/scoring score evidence/gaoqing_2022_sample --review")
    assert "初评总分：82.9（有据得分 81.9）" in chain and "验收总分：80.9（有据得分 79.9）" in chain
    assert "初评结论：未达到创建标准：强制性指标 2.2 的满分没有初评采信的佐证支持" in chain
    # The summary: 高青县 not recommended (its 初评 does not count 2.2).
    assert "高青县不推荐" in readme
    summary = pdf_text(work / "初评汇总表.pdf")
    assert "高青县84.284.216/1682.981.915/1680.979.915/16验收结论：未达到创建标准" in summary
    # Rushan: 4 institutions graded in the registry, 3 paid; 115,200 + 100,800 + 29,760 = 245,760 元.
    assert "# 4 个养老机构，3 个获补助，合计 245,760 元" in readme
    rushan = _output(ran, ".venv/bin/scoring rate --programme programmes/rushan_institution_subsidy_2023.yaml")
    assert "名册 4 个养老机构" in rushan and "运营补助 3 个，合计 245,760 元" in rushan
    # 一个中心：89 分，四星.
    assert "# 一个中心：89 分，四星" in readme
    center = _output(ran, ".venv/bin/scoring score evidence/qingdao_center_sample")
    assert "89" in center and "四星" in center



def test_the_desk_figures_the_readme_states(gaoqing_rubric: Rubric, sample_bundle: Bundle) -> None:
    """The desk section's steps (2.2 D12 不采信, 4.4 三档) as the 初评 the desk saves and scores; the page shows
    this stage's figures (tests/test_desk.py checks the page against them). By hand
    (evidence/gaoqing_2022_review_city.yaml): 4.4 二档 2 → 三档 1, so 84.2 − 1 = 83.2; rejecting D12 keeps 2.2's
    3 points but takes 1 of its support, so 有据 84.2 − 1 − 1 = 82.2."""
    from scoring.domain import engine
    from scoring.domain.model import Override, Stage

    readme = README.read_text("utf-8")
    assert "在 2.2 “调整本项”中不采信 D12、在 4.4 中把档次改为三档" in readme
    assert "初评 83.2 分（有据 82.2）" in readme
    entries = (Override("2.2", "reject", "D12", None, "核查报告由县民政局自行出具。", "李明", "初评"),
               Override("4.4", "input", "community_facility_level", "low", "实地抽查12处农村幸福院。", "李明", "初评"))
    first = engine.score(gaoqing_rubric, sample_bundle, (Stage("初评", "李明", overrides=entries),)).final
    assert (first.total, first.supported_total) == (Decimal("83.2"), Decimal("82.2"))
