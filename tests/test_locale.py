"""Any locale: scores, messages and outputs are byte for byte those of a UTF-8 run, whatever LC_ALL or
PYTHONIOENCODING say (file names, arguments and standard output are always UTF-8)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from .conftest import MINI, ROOT, SAMPLE

pytestmark = pytest.mark.xdist_group("locale")  # the runs under UTF-8 (utf8) are made once, on one worker

LOCALES = ["C", "zh_CN.GB18030", "zh_CN.GBK", "en_US.ISO-8859-1"]
SCRIPT = Path(sys.executable).parent / "scoring"


@cache
def installed() -> frozenset[str]:
    listed = subprocess.run(["locale", "-a"], capture_output=True, text=True, check=False).stdout
    return frozenset(name.replace("-", "").lower() for name in listed.split())


def env(lc_all: str, **extra: str) -> dict[str, str]:
    if lc_all != "C" and lc_all.replace("-", "").lower() not in installed():
        pytest.skip(f"区域设置 {lc_all} 未生成（scripts/setup.sh --test 会用 localedef 生成）")
    keep = {k: v for k, v in os.environ.items()
            if not k.startswith("LC_") and k not in ("LANG", "LANGUAGE", "PYTHONUTF8", "PYTHONIOENCODING")}
    return {**keep, "LC_ALL": lc_all, "PYTHONPATH": str(ROOT), **extra}


def run(command: list[str], folder: Path, environ: dict[str, str], *args: str | bytes) -> tuple[int, bytes, bytes]:
    done = subprocess.run([*command, *args], cwd=folder, env=environ, capture_output=True, timeout=120)
    return done.returncode, done.stdout, done.stderr


# The commands of one locale's run in one process: started as the `scoring` command starts (in Python's
# UTF-8 mode, run again in it when the locale is not UTF-8), its modules imported once, then each command
# in a child forked from it, as the command runs it (cli.run, its own standard output and error, its exit
# code). The locale decides only what the process starts with, which the children inherit; the UTF-8 runs
# and the console script's runs below are whole processes, a command each, and must say the same bytes.
FORKED = """
import json, os, sys, traceback
from scoring.__main__ import utf8_mode
utf8_mode()
import scoring.faces.cli
codes = []
for n, args in enumerate(json.loads(sys.argv[1])):
    pid = os.fork()
    if pid == 0:
        for fd, stream in ((1, "out"), (2, "err")):
            os.dup2(os.open(f"{sys.argv[2]}/{n}.{stream}", os.O_WRONLY | os.O_CREAT | os.O_TRUNC), fd)
        sys.argv, code = ["scoring", *args], 0
        try:
            scoring.faces.cli.run()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
        except BaseException:
            traceback.print_exc()
            code = 1
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    codes.append(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
print(json.dumps(codes))
"""


def forked(folder: Path, environ: dict[str, str], commands: list[list[str]]) -> list[tuple[int, bytes, bytes]]:
    streams = folder.parent / "streams"
    streams.mkdir()
    done = subprocess.run([sys.executable, "-c", FORKED, json.dumps(commands), str(streams)], cwd=folder,
                          env=environ, capture_output=True, timeout=120)
    assert done.returncode == 0 and not done.stderr, done.stderr.decode(errors="replace")
    codes = json.loads(done.stdout)
    return [(code, (streams / f"{n}.out").read_bytes(), (streams / f"{n}.err").read_bytes())
            for n, code in enumerate(codes)]


def everything(folder: Path, environ: dict[str, str], command: list[str] | None) -> dict[str, object]:
    """One run of each kind in a fresh folder with Chinese names (relative paths, so runs compare): a
    process for each command, or with no command given, the commands forked from one process."""
    folder.mkdir()
    shutil.copytree(SAMPLE, folder / "高青县")
    (folder / "结果").mkdir()
    commands = {"table": ["score", "高青县"], "file": ["score", "高青县", "--format", "json", "-o", "结果/评分.json"],
                "missing": ["score", "没有这个县"], "init": ["init", str(MINI), "新县", "--assessee", "测试县"]}
    ran = (forked(folder, environ, list(commands.values())) if command is None
           else [run(command, folder, environ, *args) for args in commands.values()])
    seen: dict[str, object] = dict(zip(commands, ran, strict=True))
    seen["files"] = {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None
                     for p in sorted(folder.rglob("*")) if "高青县" not in p.parts}
    return seen


@pytest.fixture(scope="module")
def utf8(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    seen = everything(tmp_path_factory.mktemp("utf8") / "运行", env("C.UTF-8"), [sys.executable, "-m", "scoring"])
    assert b'"supported_total": 84.2' in seen["files"]["结果/评分.json"]  # type: ignore[index]
    return seen


@pytest.mark.parametrize(("lc_all", "extra"), [*((name, {}) for name in LOCALES),
                                               ("C.UTF-8", {"PYTHONIOENCODING": "latin-1"}),
                                               ("C", {"PYTHONUTF8": "0"})])
def test_same_bytes_in_every_locale(utf8: dict[str, object], tmp_path: Path, lc_all: str,
                                    extra: dict[str, str]) -> None:
    assert everything(tmp_path / "运行", env(lc_all, **extra), None) == utf8


def test_the_console_script_too(utf8: dict[str, object], tmp_path: Path) -> None:
    assert everything(tmp_path / "运行", env("zh_CN.GB18030"), [str(SCRIPT)]) == utf8


@pytest.mark.parametrize("lc_all", ["C.UTF-8", "zh_CN.GBK"])
def test_an_argument_that_is_not_utf8_is_a_message(tmp_path: Path, lc_all: str) -> None:
    code, out, err = run([sys.executable, "-m", "scoring"], tmp_path, env(lc_all),
                         "init", str(MINI), "新县", "--assessee", "高青".encode("gbk"))
    assert code == 2 and out == b""
    assert err.decode() == ("错误：命令行参数 “\\xb8\\xdf\\xc7\\xe0” 含有不是 UTF-8 编码的字节"
                            "（请把终端设为 UTF-8 编码，如 LC_ALL=zh_CN.UTF-8，再重新输入）\n")
    assert list(tmp_path.iterdir()) == []
