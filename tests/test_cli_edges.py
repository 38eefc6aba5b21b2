"""The command at its edges: standard output closed, paths that cannot be opened, click's own words, a
write killed mid-way, and the committee's paper with a registry far larger than the folder."""

from __future__ import annotations

import ast
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from scoring.base import files
from scoring.faces.chinese import WORDS
from scoring.faces.cli import main

from .conftest import MINI, make_bundle

SCORING = [sys.executable, "-m", "scoring"]
ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
ENGLISH = ("Usage", "Error:", "No such", "is a directory", "does not exist", "Did you mean", "Missing", "Invalid",
           "Try ", "Options", "Show this", "does not take", "is not one of", "not a valid", "Traceback")


def closed_stdout(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The command run as `scoring ARGS >&-`: standard output closed before it starts."""
    return subprocess.run(["sh", "-c", 'exec "$@" >&-', "sh", *SCORING, *args], cwd=cwd, env=ENV,
                          capture_output=True, text=True, timeout=120)


# ---------------------------------------------------------------- standard output closed


def test_closed_stdout_is_quiet_when_the_outputs_are_files(tmp_path: Path) -> None:
    b = make_bundle(tmp_path / "b", {"1.1": {"meeting": True, "convener": "leader"}})
    done = closed_stdout("score", "b", "--rubric", str(MINI), "--format", "json", "-o", "out.json", cwd=tmp_path)
    assert done.returncode == 0 and done.stderr == "已写入 out.json\n", done.stderr  # its usual line, no more
    on_screen = CliRunner().invoke(main, ["score", str(b), "--rubric", str(MINI), "--format", "json"])
    assert (tmp_path / "out.json").read_text("utf-8") == on_screen.stdout
    assert json.loads(on_screen.stdout)["assessee"]["name"] == "测试县"
    # review init says what it wrote on standard output: closed, that line is lost and nothing else is.
    done = closed_stdout("review", "init", "b", "--rubric", str(MINI), "-o", "初评.yaml", cwd=tmp_path)
    assert done.returncode == 0 and done.stderr == "" and (tmp_path / "初评.yaml").is_file()


def test_closed_stdout_without_a_file_is_one_chinese_line(tmp_path: Path) -> None:
    make_bundle(tmp_path / "b", {"1.1": {"meeting": True, "convener": "leader"}})
    done = closed_stdout("score", "b", "--rubric", str(MINI), "--format", "json", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("错误：无法写入标准输出：输出已被关闭") and done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.stderr and sorted(p.name for p in tmp_path.iterdir()) == ["b"]


# ---------------------------------------------------------------- inputs that cannot be opened


def test_a_path_too_long_is_said_as_such(runner: CliRunner, tmp_path: Path) -> None:
    long = str(tmp_path / ("材" * 100))  # 300 bytes in one name: over the 255 a file system allows
    for args in (["score", long, "--rubric", str(MINI)], ["score", str(make_bundle(tmp_path / "b")), "--rubric",
                                                             long + ".yaml"]):
        result = runner.invoke(main, args)
        assert result.exit_code == 1 and "路径过长" in result.output and "材" * 100 in result.output, result.output
        assert "标准输出" not in result.output and "Traceback" not in result.output


def test_a_loop_of_links_or_a_folder_for_a_file_is_said_as_such(runner: CliRunner, tmp_path: Path) -> None:
    loop = tmp_path / "loop.yaml"
    loop.symlink_to(loop)  # ELOOP, whoever opens it (chmod would not stop root)
    b = make_bundle(tmp_path / "b")
    cases = {("score", str(loop), "--rubric", str(MINI)): "材料包无法打开：符号链接循环",
             ("score", str(b), "--rubric", str(loop)): "无法读取评分细则文件：符号链接循环",
             ("score", str(b), "--rubric", str(MINI), "--review", str(loop)): "评审意见文件无法读取：符号链接循环",
             ("score", str(b), "--rubric", str(tmp_path)): "评分细则文件是目录"}
    for args, said in cases.items():
        result = runner.invoke(main, list(args))
        assert result.exit_code == 1 and said in result.output, result.output
        assert "标准输出" not in result.output and "Traceback" not in result.output


# ---------------------------------------------------------------- click's own words


def test_every_string_click_shows_has_its_chinese() -> None:
    """Each message id click looks up (its `_` and `ngettext` calls) has a Chinese wording, but those that
    only a programmer's mistake in declaring a command can reach."""
    programmer = {"Arguments take exactly one parameter declaration, got {length}: {decls}.",
                  "Boolean option {decl!r} cannot use the same flag for true/false.", "Choice({choices})",
                  "Could not determine name for option with declarations {decls!r}", "Name '{name}' defined twice",
                  "No options defined but a name was passed ({name}). Did you mean to declare an argument instead?"
                  " Did you mean to pass '--{name}'?", "Unknown color {colour!r}", "Unknown standard stream '{name}'"}
    ids = set()
    for source in Path(click.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text("utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("_", "ngettext"):
                ids |= {a.value for a in node.args[:2] if isinstance(a, ast.Constant) and isinstance(a.value, str)}
    assert len(ids) > 60  # the scan found click's strings
    assert sorted(ids - programmer - set(WORDS)) == []


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [path]
    for name, command in group.commands.items():
        out += _commands(command, (*path, name)) if isinstance(command, click.Group) else [(*path, name)]
    return out


def test_usage_errors_and_help_have_no_english(runner: CliRunner, tmp_path: Path) -> None:
    b = str(make_bundle(tmp_path / "b"))
    wrong = [["nosuch"], ["scor"], ["review", "ini"], ["score"], ["init"], ["score", b, "--formt", "json"],
             ["score", b, "--format", "doc"], ["score", b, "--review", str(tmp_path)], ["docs", str(MINI)],
             ["report", b, "-o", "a.pdf", "--templates", str(tmp_path / "none")], ["serve", b, "--port", "abc"],
             ["serve", b, "--port", "99999"], ["score", b, "-o"], ["score", b, "--strict=1"], ["score", b, "x"],
             ["review", "init", b], ["rate", b], ["rubric"]]
    for args in wrong:
        result = runner.invoke(main, args)
        assert result.exit_code == 2 and "错误：" in result.output or args == ["rubric"], (args, result.output)
        assert not [w for w in ENGLISH if w in result.output], (args, result.output)
    assert "没有命令 scor（是否要用 score？）" in runner.invoke(main, ["scor"]).output
    assert "参数 '--review' 的取值无效：文件 " in runner.invoke(main, wrong[7]).output
    assert "'abc' 不是有效的整数" in runner.invoke(main, wrong[10]).output
    for command in _commands(main):
        shown = runner.invoke(main, [*command, "--help"]).output
        assert shown.startswith("用法：") and not [w for w in ENGLISH if w in shown], (command, shown)


# ---------------------------------------------------------------- a write killed mid-way


def _killed_while_writing(out: Path, unnamed: bool) -> None:
    """A child writing 8 MB to `out` through the one atomic writer, killed by SIGKILL in the middle (it
    waits, inside fsync, until the signal comes)."""
    code = ("import os, sys, time\nfrom pathlib import Path\nfrom scoring.base import files\n"
            + ("" if unnamed else "del os.O_TMPFILE\n")
            + "def held(fd): print('writing', flush=True); time.sleep(60)\n"
            f"os.fsync = held\nfiles.write_atomic(Path({str(out)!r}), b'x' * 8_000_000)\n")
    child = subprocess.Popen([sys.executable, "-c", code], env=ENV, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline() == "writing\n"
    os.kill(child.pid, signal.SIGKILL)
    assert child.wait(timeout=30) == -signal.SIGKILL
    child.stdout.close()


def test_sigkill_while_writing_leaves_no_file(tmp_path: Path) -> None:
    try:
        os.close(os.open(tmp_path, os.O_TMPFILE | os.O_WRONLY))
    except (AttributeError, OSError):
        pytest.skip("this file system has no unnamed files (O_TMPFILE)")
    out = tmp_path / "结果.json"
    out.write_text("上一次的结果", "utf-8")
    _killed_while_writing(out, unnamed=True)
    assert [p.name for p in tmp_path.iterdir()] == ["结果.json"] and out.read_text("utf-8") == "上一次的结果"


def test_a_named_temporary_left_by_sigkill_goes_with_the_next_write(tmp_path: Path) -> None:
    out = tmp_path / "结果.json"
    _killed_while_writing(out, unnamed=False)
    left = [p.name for p in tmp_path.iterdir()]
    assert len(left) == 1 and left[0].startswith(files.TEMP_PREFIX) and "结果.json" in left[0]
    files.write_atomic(tmp_path / "其他.json", b"{}")  # its writer is gone: ours, so removed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["其他.json"]
    alive = tmp_path / f"{files.TEMP_PREFIX}{files._HOST}.{os.getpid()}.结果.json.abcd"
    others = tmp_path / ".结果.json.abcd1234.tmp"
    for kept in (alive, others):
        kept.write_bytes(b"")
    files.write_atomic(out, b"{}")  # a write in progress (this process's) and a name not ours are kept
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["其他.json", "结果.json", alive.name, others.name])


# ---------------------------------------------------------------- a registry far larger than the folder


@pytest.mark.xdist_group("rating")  # beside test_rating.py: its worker has the pool of scorers started
def test_the_committee_paper_stays_short_however_long_the_registry(tmp_path: Path) -> None:
    """Seven centers sent bundles; the registry lists them and 20,000 more (R1…R20000, odd ones in 甲区,
    even ones in 乙区). The paper names the first UNRATED_LISTED of those and counts the rest by district;
    ratings.json lists all 20,000."""
    from scoring.jobs import rating
    from scoring.loading import programme as programmes
    from scoring.papers.formats import rating_data
    from scoring.papers.report import papers
    from scoring.papers.report.committee import UNRATED_LISTED, committee_context
    from scoring.pipeline.folder import RubricChoice, find, loaded

    from .test_rating import BANDS, PROGRAMME, seven_centers

    choice = RubricChoice.of(str(BANDS))
    rubric = loaded(choice.named)
    rows = (*((f"C{k}", f"C{k}中心", "甲区" if k % 2 else "乙区") for k in range(1, 8)),
            *((f"R{k}", f"R{k}中心", "甲区" if k % 2 else "乙区") for k in range(1, 20_001)))
    made = rating.rate(find(seven_centers(tmp_path / "c")), rubric, choice, programmes.load(PROGRAMME, rubric),
                       rating.Registry(len(rows), rows))
    paper = committee_context(made)
    assert paper.unrated_count == 20_000 and len(paper.unrated) == UNRATED_LISTED == 50
    assert paper.unrated[-1] == "R50中心（R50，乙区）"
    assert paper.unrated_rest.startswith("等，另有 19,950 个不在此列出（全部 20,000 个按区（市）：甲区 10,000 个、乙区 10,000 个）")
    assert len(paper.problems) == len(made.problems) - 20_000  # each counted once, in that paragraph
    html = papers.html("rating", made)
    assert "R50中心" in html and "R51中心" not in html and "R20000中心" not in html
    assert len(html) < 40_000  # the seven centers' paper; the 20,000 names alone take 148,894 characters
    assert len(rating_data(made)["unrated"]) == 20_000


def test_a_long_list_of_problems_is_cut_with_a_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file can hold a problem per line or cell (a workbook of nonsense, 100,000 of them): the first are
    listed, then how many more, so the list stays readable and costs little to print."""
    from scoring.faces import command

    monkeypatch.setattr(command, "ERRORS_SHOWN", 2)
    folder = tmp_path / "县"
    folder.mkdir()
    documents = "".join(f"  - {{id: D{k}, file: documents/{k}.pdf, title: 文件, date: 2022-13-0{k}, sha256: x}}\n"
                        for k in range(1, 5))  # four documents, each with a date no calendar has
    (folder / "bundle.yaml").write_text("rubric: mini\nassessee: {name: 测试县}\nperiod: {start: 2022-01-01, "
                                        f"end: 2022-12-31}}\ndocuments:\n{documents}", "utf-8")
    result = CliRunner().invoke(main, ["score", str(folder), "--rubric", str(MINI)])
    assert result.exit_code == 1
    listed = [line for line in result.stderr.splitlines() if line.startswith("错误：")]
    assert len(listed) == 2 and "……另有 2 处问题未列出" in result.stderr, result.stderr


def test_a_registry_past_its_rows_is_refused_at_the_line(tmp_path: Path) -> None:
    """REGISTRY_ROWS centers after the header are read; the next row is refused naming its line (the
    header is line 1, so the first row too many is line REGISTRY_ROWS + 2)."""
    from scoring.base import limits
    from scoring.base.errors import ScoringError
    from scoring.jobs.rating import read_registry

    rows = "".join(f"R{k},R{k}中心,甲区\n" for k in range(1, limits.REGISTRY_ROWS + 1))
    (tmp_path / "full.csv").write_text("编号,名称,区（市）\n" + rows, "utf-8")
    assert read_registry(tmp_path / "full.csv").total == limits.REGISTRY_ROWS
    (tmp_path / "over.csv").write_text("编号,名称,区（市）\n" + rows + "R0,R0中心,乙区\n", "utf-8")
    with pytest.raises(ScoringError) as caught:
        read_registry(tmp_path / "over.csv")
    assert caught.value.line == limits.REGISTRY_ROWS + 2 and f"名册超过 {limits.REGISTRY_ROWS:,} 行" in caught.value.message
