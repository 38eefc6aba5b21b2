"""Every kind of bad input: a Chinese message naming the file and line or indicator, exit 1,
no traceback, nothing written, the input untouched."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import signal
import stat
import struct
import subprocess
import sys
import zipfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from scoring.base import files, limits, numbers
from scoring.base.errors import ScoringError
from scoring.faces.cli import main
from scoring.loading import bundle as bundle_mod
from scoring.loading import readers, yamlio
from scoring.loading import rubric as rubric_mod
from scoring.pipeline import reviews

from .conftest import MINI, ROOT, make_bundle, sha256


def tree_digest(root: Path) -> str:
    h = hashlib.sha256()
    paths = [root] if root.is_file() else sorted(root.rglob("*"))
    for p in paths:
        h.update(str(p).encode())
        if p.is_symlink():
            h.update(os.readlink(p).encode())
        elif p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


def refused(runner: CliRunner, target: Path, tmp_path: Path, *expected: str) -> str:
    out = tmp_path / "out.json"
    before = tree_digest(target)
    result = runner.invoke(main, ["score", str(target), "--rubric", str(MINI), "--format", "json", "-o", str(out)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.output.startswith("错误：")
    for text in expected:
        assert text in result.output, result.output
    assert not out.exists()
    assert not list(tmp_path.glob(".out.json.*"))
    assert tree_digest(target) == before
    return result.output


def write_manifest(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "b"
    folder.mkdir()
    (folder / "bundle.yaml").write_text(text, "utf-8")
    return folder


HEAD = "rubric: mini\nassessee: {name: 测试县}\nperiod: {start: 2022-01-01, end: 2022-12-31}\n"


def test_malformed_yaml(runner: CliRunner, tmp_path: Path) -> None:
    b = write_manifest(tmp_path, HEAD + "inputs:\n  1.1: {meeting: true\n")
    refused(runner, b, tmp_path, "bundle.yaml", "第 6 行", "YAML 格式错误")


def test_duplicate_key(runner: CliRunner, tmp_path: Path) -> None:
    b = write_manifest(tmp_path, HEAD + "inputs:\n  1.1:\n    meeting: true\n    meeting: false\n")
    refused(runner, b, tmp_path, "bundle.yaml", "第 7 行", "“meeting” 重复出现（第一次在第 6 行）")


def test_unknown_indicator(runner: CliRunner, tmp_path: Path) -> None:
    b = make_bundle(tmp_path / "b", {"9.9": {"x": True}})
    refused(runner, b, tmp_path, "bundle.yaml", "第 ", "没有指标 “9.9”")


def test_unknown_input(runner: CliRunner, tmp_path: Path) -> None:
    b = make_bundle(tmp_path / "b", {"1.1": {"meetings": True}})
    refused(runner, b, tmp_path, "指标 1.1 没有输入 “meetings”", "输入代码有：meeting（建立联席会议制度）、convener（召集人）")


def test_wrong_type(runner: CliRunner, tmp_path: Path) -> None:
    b = make_bundle(tmp_path / "b", {"1.1": {"meeting": "有"}})
    refused(runner, b, tmp_path, "指标 1.1 输入 meeting", "应填 是 或 否", "实际为 “有”")


def test_schema_type_error_names_line(runner: CliRunner, tmp_path: Path) -> None:
    b = write_manifest(tmp_path, HEAD + "documents: {}\n")
    refused(runner, b, tmp_path, "第 4 行", "材料包 documents", "类型错误")


def test_rate_above_100(runner: CliRunner, tmp_path: Path) -> None:
    b = make_bundle(tmp_path / "b", {"2.1": {"coverage": 120}})
    refused(runner, b, tmp_path, "指标 2.1 输入 coverage", "120% 超出范围（0% 至 100%）")


def test_unknown_choice(runner: CliRunner, tmp_path: Path) -> None:
    b = make_bundle(tmp_path / "b", {"1.1": {"convener": "mayor"}})
    refused(runner, b, tmp_path, "取值 “mayor” 无效", "主要负责同志（principal）")


@pytest.mark.parametrize("path", ["../outside.txt", "documents/../../outside.txt", "/etc/passwd",
                                  "C:/Windows/win.ini"])
def test_path_leaving_bundle(runner: CliRunner, tmp_path: Path, path: str) -> None:
    (tmp_path / "outside.txt").write_text("secret")
    b = make_bundle(tmp_path / "b")
    (b / "bundle.yaml").write_text(HEAD + f"documents:\n  - {{id: D1, file: '{path}', title: t, sha256: '{'0' * 64}'}}\n",
                                   "utf-8")
    refused(runner, b, tmp_path, "bundle.yaml", "第 5 行", f"路径 “{path}”")


def test_symlink_out(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("secret")
    b = make_bundle(tmp_path / "b")
    (b / "documents").mkdir()
    (b / "documents" / "link.txt").symlink_to(tmp_path / "secret.txt")
    (b / "bundle.yaml").write_text(
        HEAD + f"documents:\n  - {{id: D1, file: documents/link.txt, title: t, sha256: '{sha256(b'secret')}'}}\n", "utf-8")
    refused(runner, b, tmp_path, "第 5 行", "经符号链接指向材料包之外")


def test_symlinked_manifest_out(runner: CliRunner, tmp_path: Path) -> None:
    real = make_bundle(tmp_path / "real")
    b = tmp_path / "b"
    b.mkdir()
    (b / "bundle.yaml").symlink_to(real / "bundle.yaml")
    refused(runner, b, tmp_path, "经符号链接指向材料包之外")


def _zip(tmp_path: Path, entries: dict[str, bytes], symlink: str | None = None) -> Path:
    path = tmp_path / "bundle.zip"
    with zipfile.ZipFile(path, "w") as z:
        for name, data in entries.items():
            z.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (0o120777 << 16)
            z.writestr(info, "/etc/passwd")
    return path


def test_zip_entry_out(runner: CliRunner, tmp_path: Path) -> None:
    z = _zip(tmp_path, {"bundle.yaml": HEAD.encode(), "../evil.txt": b"x"})
    refused(runner, z, tmp_path, "bundle.zip", "路径 “../evil.txt” 指向材料包之外")


def test_zip_symlink(runner: CliRunner, tmp_path: Path) -> None:
    z = _zip(tmp_path, {"bundle.yaml": HEAD.encode()}, symlink="documents/link.txt")
    refused(runner, z, tmp_path, "bundle.zip", "是符号链接")


def test_zip_bundle_scores(runner: CliRunner, tmp_path: Path) -> None:
    z = _zip(tmp_path, {"b/bundle.yaml": (HEAD + "inputs: {'2.2': {met: true, accident: false}}\n").encode(),
                        "__MACOSX/b/._bundle.yaml": b"\0"})
    result = runner.invoke(main, ["score", str(z), "--rubric", str(MINI)])
    assert result.exit_code == 0, result.output
    assert "2/2" in result.output


def test_not_a_zip(runner: CliRunner, tmp_path: Path) -> None:
    z = tmp_path / "bundle.zip"
    z.write_bytes(b"PK\x03\x04 not really")
    refused(runner, z, tmp_path, "bundle.zip", "不是有效的 zip 压缩包")


def test_missing_bundle(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["score", str(tmp_path / "nope"), "--rubric", str(MINI)])
    assert result.exit_code == 1
    assert "材料包不存在" in result.output and "nope" in result.output


def test_missing_manifest(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    refused(runner, tmp_path / "b", tmp_path, "没有 bundle.yaml", "scoring init")


def test_missing_rubric(runner: CliRunner, tmp_path: Path) -> None:
    b = make_bundle(tmp_path / "b")
    result = runner.invoke(main, ["score", str(b), "--rubric", str(tmp_path / "none.yaml")])
    assert result.exit_code == 1
    assert "无法读取评分细则文件" in result.output and "none.yaml" in result.output


def test_oversized_document(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    b = make_bundle(tmp_path / "b", documents={"D1": ("documents/big.txt", b"x" * 1000, "2022-01-01")})
    monkeypatch.setattr(limits, "FILE_BYTES", 1000)
    bundle_mod.open_bundle(b)
    monkeypatch.setattr(limits, "FILE_BYTES", 999)
    refused(runner, b, tmp_path, "documents/big.txt", "过大", "上限 999 字节")


def test_oversized_manifest(runner: CliRunner, tmp_path: Path) -> None:
    text = HEAD + "# " + "x" * (limits.MANIFEST_BYTES - len(HEAD.encode()) - 3) + "\n"
    b = write_manifest(tmp_path, text)
    assert len(text.encode()) == limits.MANIFEST_BYTES
    bundle_mod.open_bundle(b)
    (b / "bundle.yaml").write_text(text + "\n", "utf-8")
    refused(runner, b, tmp_path, "bundle.yaml", "过大", f"上限 {limits.MANIFEST_BYTES} 字节")


def test_alias_bomb(runner: CliRunner, tmp_path: Path) -> None:
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    b = write_manifest(tmp_path, HEAD + "\n".join(lines) + "\n")
    refused(runner, b, tmp_path, "bundle.yaml", "第 4 行", "不支持 YAML 锚点和别名")


def test_undeclared_document(runner: CliRunner, tmp_path: Path) -> None:
    b = make_bundle(tmp_path / "b", {"1.1": {"meeting": {"value": True, "documents": ["D9"]}}})
    refused(runner, b, tmp_path, "指标 1.1 输入 meeting", "没有的文件编号 “D9”")


def test_impossible_date(runner: CliRunner, tmp_path: Path) -> None:
    b = write_manifest(tmp_path, HEAD.replace("2022-12-31", "2022-02-30"))
    refused(runner, b, tmp_path, "第 3 行", "日期 “2022-02-30” 不存在")


def test_not_utf8(runner: CliRunner, tmp_path: Path) -> None:
    b = tmp_path / "b"
    b.mkdir()
    (b / "bundle.yaml").write_bytes(HEAD.encode("gbk"))
    refused(runner, b, tmp_path, "不是 UTF-8 编码")


@pytest.mark.parametrize("mutate", [
    lambda t: t.replace("max: 4\n", "max: 5\n", 1),
    lambda t: t.replace("{kind: flag, input: meeting, points: 2}", "{kind: flag, input: meetings, points: 2}", 1),
])
def test_broken_rubric_refused_when_scoring(runner: CliRunner, tmp_path: Path, mutate: Callable[[str], str]) -> None:
    rubric = tmp_path / "mini.yaml"
    rubric.write_text(mutate(MINI.read_text("utf-8")), "utf-8")
    b = make_bundle(tmp_path / "b")
    result = runner.invoke(main, ["score", str(b), "--rubric", str(rubric)])
    assert result.exit_code == 1
    assert "mini.yaml" in result.output and "Traceback" not in result.output


def test_bundle_cannot_name_a_rubric_outside_rubrics(runner: CliRunner, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "passwd").write_text("root:x:0:0")
    monkeypatch.chdir(tmp_path)
    b = write_manifest(tmp_path, HEAD.replace("rubric: mini", "rubric: passwd"))
    result = runner.invoke(main, ["score", str(b)])
    assert result.exit_code == 1
    assert "找不到评分细则 “passwd”" in result.output and "root:x" not in result.output


def test_output_inside_bundle_refused(runner: CliRunner, tmp_path: Path) -> None:
    b = make_bundle(tmp_path / "b")
    before = tree_digest(b)
    result = runner.invoke(main, ["score", str(b), "--rubric", str(MINI), "-o", str(b / "bundle.yaml")])
    assert result.exit_code == 1 and "输出文件不能写在材料包内" in result.output
    assert tree_digest(b) == before


def test_output_is_a_directory(runner: CliRunner, tmp_path: Path) -> None:
    b = make_bundle(tmp_path / "b")
    result = runner.invoke(main, ["score", str(b), "--rubric", str(MINI), "-o", str(tmp_path)])
    assert result.exit_code == 1 and "输出路径是一个目录" in result.output


@pytest.mark.parametrize(("text", "message"), [
    ("a: 1\0\n", "第 4 行：文件中有不允许的控制字符 U+0000"),
    ("a: !!int abc\n", "第 4 行：不支持 YAML 标签 “!!int”"),
    ("a: 0x_\n", "第 4 行：数值 0x_ 无法解析"),
    ("a: 1\nb: x\x01\n", "第 5 行：文件中有不允许的控制字符 U+0001"),
    ("a: " + "1" * 5000 + "\n", "位数过多"),
    ("a: 1.0e+9999999\n", "位数过多"),
    ("a: " + "[" * 400 + "]" * 400 + "\n", "嵌套层级过深"),
    ("? [1]\n: 2\n", "键必须是文本"),
    ("- 1\n- 2\n", "类型错误"),
    ("", "类型错误"),
])
def test_hostile_yaml(runner: CliRunner, tmp_path: Path, text: str, message: str) -> None:
    b = write_manifest(tmp_path, HEAD + text if text and not text.startswith("-") else text)
    refused(runner, b, tmp_path, "bundle.yaml", message)


def test_duplicate_zip_entries(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "bundle.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("bundle.yaml", HEAD)
        z.writestr("documents/a.txt", b"1")
        z.writestr("./documents/a.txt", b"2")
    refused(runner, path, tmp_path, "“documents/a.txt” 出现了两次")


def test_repeated_list_items(runner: CliRunner, tmp_path: Path) -> None:
    b = make_bundle(tmp_path / "b", {"1.2": {"policies": ["甲", "甲", "乙"]}})
    refused(runner, b, tmp_path, "指标 1.2 输入 policies", "“甲” 重复出现")


def test_document_cited_many_times_is_read_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = [{"id": f"D{i}", "file": "documents/a.txt", "title": "t", "sha256": sha256(b"x")} for i in range(50)]
    b = make_bundle(tmp_path / "b", documents={"D0x": ("documents/a.txt", b"x", "2022-01-01")})
    import yaml as _yaml
    data = _yaml.safe_load((b / "bundle.yaml").read_text("utf-8"))
    data["documents"] += docs
    (b / "bundle.yaml").write_text(_yaml.safe_dump(data, allow_unicode=True), "utf-8")
    reads: list[str] = []
    original = bundle_mod._Folder.read

    def counting(self: object, rel: str, *args: object) -> bytes | None:
        reads.append(rel)
        return original(self, rel, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(bundle_mod._Folder, "read", counting)
    bundle = bundle_mod.open_bundle(b)
    assert len(bundle.documents) == 51
    assert reads.count("documents/a.txt") == 1


class _LegacyName(zipfile.ZipInfo):
    """An entry name stored as raw bytes without the UTF-8 flag, as older archivers do."""

    def _encodeFilenameFlags(self) -> tuple[bytes, int]:
        return self.filename.encode("cp437"), self.flag_bits


@pytest.mark.parametrize("encoding", ["utf-8", "gbk"])
def test_zip_with_chinese_names_without_utf8_flag(runner: CliRunner, tmp_path: Path, encoding: str) -> None:
    # Info-ZIP writes UTF-8 names without the flag; Windows' own zip writes GBK.
    content = "文件".encode()
    manifest = (HEAD + f"documents:\n  - {{id: D1, file: documents/通知.txt, title: 通知, sha256: '{sha256(content)}'}}\n"
                "inputs: {'2.1': {coverage: {value: 100, documents: [D1]}}}\n")
    path = tmp_path / "bundle.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("b/bundle.yaml", manifest.encode())
        info = _LegacyName("b/documents/通知.txt".encode(encoding).decode("cp437"))
        z.writestr(info, content)
    with zipfile.ZipFile(path) as z:
        assert not any(i.flag_bits & 0x800 for i in z.infolist())
    result = runner.invoke(main, ["score", str(path), "--rubric", str(MINI), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert '"supported_score": 2' in result.output


# Outputs: only a regular file or a new path, never an input, never twice; written all or none.

def score_to(runner: CliRunner, tmp_path: Path, out: Path | str, *extra: str) -> Result:
    b = make_bundle(tmp_path / "b") if not (tmp_path / "b").exists() else tmp_path / "b"
    return runner.invoke(main, ["score", str(b), "--rubric", str(MINI), "--format", "json", "-o", str(out), *extra])


def test_output_fifo_or_device_refused(runner: CliRunner, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for target in (fifo, Path("/dev/null")):
        result = score_to(runner, tmp_path, target)
        assert result.exit_code == 1 and "输出路径不是普通文件" in result.output, result.output
    assert stat.S_ISFIFO(fifo.stat().st_mode) and stat.S_ISCHR(os.stat("/dev/null").st_mode)


@pytest.mark.parametrize(("option", "label"), [("--rubric", "评分细则文件"), ("--review", "评审意见文件")])
def test_output_is_one_of_the_inputs(runner: CliRunner, tmp_path: Path, option: str, label: str) -> None:
    b = make_bundle(tmp_path / "b")
    source = tmp_path / "input.yaml"
    shutil.copy(MINI, source)
    os.link(source, tmp_path / "hard.yaml")
    for out in (source, tmp_path / "hard.yaml"):
        args = ["score", str(b), "--rubric", str(MINI), option, str(source), "--format", "json", "-o", str(out)]
        result = runner.invoke(main, args)
        assert result.exit_code == 1 and f"输出文件不能覆盖{label}" in result.output, result.output
    assert source.read_bytes() == MINI.read_bytes()


def test_two_outputs_of_one_command_are_one_file(runner: CliRunner, tmp_path: Path) -> None:
    b = make_bundle(tmp_path / "b")
    out = tmp_path / "r.pdf"
    result = runner.invoke(main, ["report", str(b), "--rubric", str(MINI), "-o", str(out), "--html", str(out)])
    assert result.exit_code == 1 and "同一命令的两个输出是同一个文件" in result.output
    assert not out.exists()


def test_several_outputs_are_written_all_or_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = tmp_path / "a.pdf", tmp_path / "a.html"
    first.write_bytes(b"old pdf")
    synced: list[int] = []

    def full_on_second(fd: int) -> None:
        synced.append(fd)
        if len(synced) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", full_on_second)
    with pytest.raises(ScoringError, match="磁盘空间不足"):
        files.write_all([(first, b"new pdf"), (second, b"new html")])
    assert first.read_bytes() == b"old pdf" and not second.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.pdf"]


def test_full_disk_is_a_message(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", full)
    result = score_to(runner, tmp_path, tmp_path / "out.json")
    assert result.exit_code == 1 and result.output.startswith("错误：") and "磁盘空间不足" in result.output
    assert not list(tmp_path.glob("*.json")) and not list(tmp_path.glob(".out.json.*"))


def test_long_names_work_and_too_long_ones_are_a_message(runner: CliRunner, tmp_path: Path) -> None:
    legal = tmp_path / ("长" * 80 + ".json")  # 245 bytes: the longest names work, temporary file included
    assert score_to(runner, tmp_path, legal).exit_code == 0 and legal.exists()
    result = score_to(runner, tmp_path, tmp_path / ("长" * 90 + ".json"))
    assert result.exit_code == 1 and "文件名过长" in result.output and "Traceback" not in result.output


SCORING = [sys.executable, "-m", "scoring"]
ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}


def test_sigterm_while_writing_leaves_no_temporary_file(tmp_path: Path) -> None:
    # The signal arrives exactly while the output is being written: from inside os.fsync.
    b = make_bundle(tmp_path / "b")
    code = ("import os, signal, sys; from scoring.faces import cli\n"
            "os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGTERM)\n"
            f"sys.argv = ['scoring', 'score', {str(b)!r}, '--rubric', {str(MINI)!r}, '--format', 'json',"
            f" '-o', {str(tmp_path / 'out.json')!r}]\n"
            "cli.run()\n")
    done = subprocess.run([sys.executable, "-X", "utf8", "-c", code], env=ENV, capture_output=True, timeout=60)
    assert done.returncode == 128 + signal.SIGTERM, done.stderr
    assert b"Traceback" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]


def test_closed_or_full_standard_output_is_a_message(tmp_path: Path) -> None:
    b = make_bundle(tmp_path / "b")
    args = [*SCORING, "score", str(b), "--rubric", str(MINI), "--format", "json"]
    closed = subprocess.Popen(args, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert closed.stdout is not None and closed.stderr is not None
    closed.stdout.close()  # `| head -c0`: the reader is gone before anything is written
    with closed.stderr:
        stderr = closed.stderr.read().decode()
    assert closed.wait(timeout=60) == 1
    assert stderr.startswith("错误：无法写入标准输出：输出已被关闭") and "Traceback" not in stderr, stderr
    with open("/dev/full", "wb") as full:
        done = subprocess.run(args, env=ENV, stdout=full, stderr=subprocess.PIPE, timeout=60)
    assert done.returncode == 1 and done.stderr.decode().startswith("错误：无法写入标准输出：磁盘空间不足"), done.stderr


def test_init_never_leaves_a_half_made_folder(runner: CliRunner, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", full)
    result = runner.invoke(main, ["init", str(MINI), str(tmp_path / "新县")])
    assert result.exit_code == 1 and "磁盘空间不足" in result.output
    assert list(tmp_path.iterdir()) == []


TRICKY = ["\\u0000decimal:2\\u0000", '"quoted" \\ back', "行\u2028分隔\u2029段", "</script>"]


@pytest.mark.parametrize("text", TRICKY)
def test_bundle_text_cannot_forge_json_numbers(runner: CliRunner, tmp_path: Path, text: str) -> None:
    # JSON's exact decimals once went through a placeholder string; bundle text holding it became a number.
    b = make_bundle(tmp_path / "b", {"1.1": {"meeting": {"value": True, "note": text}}}, assessee={"name": text})
    result = runner.invoke(main, ["score", str(b), "--rubric", str(MINI), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    shown = text.replace("\u2028", "\n").replace("\u2029", "\n")  # line breaks are read as newlines
    assert data["assessee"]["name"] == shown
    assert isinstance(data["total"], int | float)
    assert [a["note"] for i in data["indicators"] for a in i["answers"] if a.get("note")] == [shown]


# Control characters other than line breaks are refused where the bundle is read, whatever the manifest
# (YAML's escapes, a workbook cell, a text file), naming the place and showing the character.
@pytest.mark.parametrize("char", ["\0", "\x07", "\x1b", "\x7f", "\x9b"])
def test_control_characters_in_bundle_text_are_refused(runner: CliRunner, tmp_path: Path, char: str) -> None:
    b = make_bundle(tmp_path / "b", {"1.1": {"meeting": {"value": True, "note": f"会议{char}[31m纪要"}}})
    out = refused(runner, b, tmp_path, "bundle.yaml", f"U+{ord(char):04X}", "inputs.1.1.meeting.note")
    assert char not in out and "\x1b" not in out


def test_control_character_in_a_text_file_names_its_line(runner: CliRunner, tmp_path: Path) -> None:
    b = make_bundle(tmp_path / "b", statements={"1.1": {"file": "说明.txt"}})
    (b / "说明.txt").write_text("第一行\n第二行\x07\n", "utf-8")
    refused(runner, b, tmp_path, "说明.txt", "第 2 行", "U+0007")


def test_word_line_and_page_breaks_are_newlines(runner: CliRunner, tmp_path: Path) -> None:
    text = "一\x0b二\x0c三\u2028四\u2029五\x85六"
    b = make_bundle(tmp_path / "b", {"1.1": {"meeting": {"value": True, "note": text}}}, assessee={"name": text})
    result = runner.invoke(main, ["score", str(b), "--rubric", str(MINI), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["assessee"]["name"] == "一\n二\n三\n四\n五\n六"


# Review files, programmes, the registry and last year's ratings reach the same outputs as bundle text, and
# pass the same checks where they are read.


def _review(tmp_path: Path, bundle: Path, reviewer: str, reason: str) -> Path:
    sha = bundle_mod.open_bundle(bundle).sha256
    path = tmp_path / "初评.yaml"
    path.write_text(f"stage: 初评\nreviewer: {reviewer}\nunit: 市民政局\ndate: 2022-12-05\nrubric: mini\n"
                    f"bundle_sha256: {sha}\nentries:\n  \"1.1\":\n    - score: 2\n      reason: {reason}\n", "utf-8")
    return path


def test_right_to_left_review_reason_is_isolated_in_the_report(runner: CliRunner, tmp_path: Path) -> None:
    b = make_bundle(tmp_path / "b")
    path = _review(tmp_path, b, "李明", '"核查\u202e报告有误"')
    html = tmp_path / "r.html"
    result = runner.invoke(main, ["score", str(b), "--rubric", str(MINI), "--review", str(path), "--format", "html",
                                  "-o", str(html)])
    assert result.exit_code == 0, result.output
    assert "理由：\u2068核查\u202e报告有误\u2069（李明）" in html.read_text("utf-8")
    # Written back (the desk saves a stage this way) and read again, it stays isolated once.
    from scoring.domain import engine
    from scoring.loading import review
    built, bundle = rubric_mod.load(MINI), bundle_mod.open_bundle(b)
    stage = reviews.check(review.read(path), built, bundle)
    path.write_text(review.write(stage, engine.score(built, bundle, [stage])), "utf-8")
    assert review.read(path).stage.overrides[0].reason == "\u2068核查\u202e报告有误\u2069"


def test_control_character_in_a_review_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    b = make_bundle(tmp_path / "b")
    path = _review(tmp_path, b, '"李\\a明"', "核查")
    result = runner.invoke(main, ["score", str(b), "--rubric", str(MINI), "--review", str(path)])
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert f"文件 {path}，第 2 行，reviewer：文本中有不允许的控制字符 U+0007" in result.output
    assert "\x07" not in result.output


def test_control_sequence_in_the_registry_or_last_years_ratings_is_refused(runner: CliRunner,
                                                                           tmp_path: Path) -> None:
    from scoring.jobs import rating

    from .test_rating import BANDS, PROGRAMME, center
    center(tmp_path / "centers", "C1", "甲区", 58, 37)
    registry = tmp_path / "名册.csv"
    registry.write_text("编号,名称,区（市）\nC0,\"九水\n中心\",甲区\nC1,\x1b[31m乙中心,甲区\n", "utf-8")
    result = runner.invoke(main, ["rate", str(tmp_path / "centers"), "--rubric", str(BANDS), "--programme",
                                  str(PROGRAMME), "--registry", str(registry), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    # The row starts on line 4: the quoted name above it spans two lines.
    assert f"文件 {registry}，第 4 行，名称：文本中有不允许的控制字符 U+001B" in result.output
    assert "\x1b" not in result.output and not (tmp_path / "out").exists()
    previous = tmp_path / "ratings.json"
    given = (ROOT / "evidence" / "qingdao_centers_2022_ratings.json").read_text("utf-8")
    previous.write_text(given.replace('"name": "', '"name": "\\u001b[31m', 1), "utf-8")
    with pytest.raises(ScoringError, match=r"U\+001B") as caught:
        rating.read_previous(previous)
    assert (caught.value.where, caught.value.line) == ("centers[0].name", given[:given.index('"name": "')].count("\n") + 1)


def test_word_page_break_in_a_programme_is_a_newline(tmp_path: Path) -> None:
    from scoring.loading import programme

    from .test_rating import BANDS, PROGRAMME
    path = tmp_path / "方案.yaml"
    path.write_text(PROGRAMME.read_text("utf-8").replace("title: 示例市养老服务中心评估奖励",
                                                         'title: "示例市养老服务中心\\f评估奖励"'), "utf-8")
    assert programme.load(path, rubric_mod.load(BANDS)).title == "示例市养老服务中心\n评估奖励"


def test_json_writer_matches_json_for_plain_data() -> None:
    data = {"a": [1, True, None, "x\n\"y\"", {}, [], {"b": [{"c": 1.5}]}], 2: "二"}
    assert numbers.dumps(data) == json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    assert numbers.dumps({"d": Decimal("0.10"), "e": Decimal("2E+1")}) == '{\n  "d": 0.1,\n  "e": 20\n}\n'


@pytest.mark.parametrize("tagged", ["!!bool maybe", "!!timestamp abc", "!!timestamp 2022-01-01", "!!int 0x",
                                    "!!float x", "!!binary aGk=", "!!set {x: null}", "!!str 1", "!!null x",
                                    "!!python/object/apply:os.system [ls]", "!custom x", "! 1",
                                    "!<tag:yaml.org,2002:bool> maybe", "[1, !!int 2]"])
def test_yaml_tags_refused(runner: CliRunner, tmp_path: Path, tagged: str) -> None:
    # A tag picks its own constructor (a set, bytes, a date, a KeyError on "maybe"): none is allowed.
    b = write_manifest(tmp_path, HEAD + f"facts:\n  x: {tagged}\n")
    refused(runner, b, tmp_path, "bundle.yaml", "第 5 行", "不支持 YAML 标签")


PARSER_ERRORS = [
    ("inputs: a: b\n", 4, "这里不能写 “键: 值”"),
    ("inputs:\n  x\n  y: 1\n", 6, "这里不能写 “键: 值”"),
    ("inputs: 1\nfacts\nsignoff: {}\n", 5, "找不到键后的冒号"),
    ("inputs:\n\ta: 1\n", 5, "制表符"),
    ("inputs: >\n\tfoo\n", 5, "制表符"),
    ("inputs:\n    a: 1\n  b: 2\n", 6, "请检查缩进是否对齐"),
    ('inputs: "a"b\n', 4, "请检查缩进是否对齐"),
    ("inputs:\n  - a\n  b: 1\n", 6, "列表项缩进不一致"),
    ("inputs: {'a' 1}\n", 4, "花括号"),
    ("inputs: [1, 2\n", 5, "方括号"),
    ("inputs: {a: 1\n", 5, "花括号"),
    ("inputs: 'x\n", 5, "闭合之前就结束"),
    ('inputs: "C:\\q"\n', 4, "转义无效"),
    ("inputs: 1\n---\nx: 2\n", 5, "一个文件只能有一份内容"),
    ("{}}\n", 1, "一个文件只能有一份内容"),
    ("inputs: @x\n", 4, "不能出现在这里的字符"),
    ("inputs: " + "[" * 1100 + "]" * 1100 + "\n", 4, "嵌套层级过深"),
    ("inputs: !x!y z\n", 4, "不支持 YAML 标签"),
]


@pytest.mark.parametrize(("text", "line", "message"), PARSER_ERRORS)
def test_yaml_parser_errors_in_chinese(runner: CliRunner, tmp_path: Path, text: str, line: int, message: str) -> None:
    b = write_manifest(tmp_path, text if text.startswith("{") else HEAD + text)
    output = refused(runner, b, tmp_path, f"bundle.yaml，第 {line} 行：", message)
    assert not re.search("[a-z]{4,}", output.split("bundle.yaml", 1)[1]), output


@pytest.mark.parametrize(("text", "line", "message"), PARSER_ERRORS[:-3])
def test_yaml_problem_table_knows_pure_python_wording(text: str, line: int, message: str) -> None:
    # Without libyaml, PyYAML's own parser words its problems differently; the table covers both.
    with pytest.raises(yaml.MarkedYAMLError) as caught:
        yaml.load(HEAD + text, Loader=yaml.SafeLoader)
    assert yamlio._parser_problem(caught.value), caught.value


JUDGED = "{kind: judged, input: quality, max: 3}"


@pytest.mark.parametrize(("old", "new", "message"), [
    ("{kind: flag, input: meeting, points: 2}", "{kind: flag, input: meeting, points: 1e400}", "应为数字"),
    ("{kind: flag, input: meeting, points: 2}", "{kind: flag, input: meeting, points: 1.0e+400}", "位数过多"),
    ("{kind: flag, input: meeting, points: 2}", "{kind: flag, input: meeting, points: 1.0e-400}", "位数过多"),
    ("{kind: flag, input: meeting, points: 2}",
     "{kind: flag, input: meeting, points: 123456789012345678901234567890}", "位数过多"),
    (JUDGED, "{kind: judged, input: quality, max: 999999999999999, step: 0.000000000000001}", "超过指标分值"),
    ("total: 20\n", "total: 20\njudged_step: 0.000000000000001\n", "超过指标分值"),
])
def test_rubric_with_extreme_decimals(runner: CliRunner, tmp_path: Path, old: str, new: str, message: str) -> None:
    # Decimal's % raised InvalidOperation once max / step outgrew its 28 digits.
    rubric = tmp_path / "r.yaml"
    text = MINI.read_text("utf-8").replace(old, new, 1)
    rubric.write_text(text.replace(JUDGED, JUDGED.replace("max: 3", "max: 999999999999999"))
                      if "judged_step" in new else text, "utf-8")
    b = make_bundle(tmp_path / "b", {"1.2": {"quality": 999999999999999}})
    for args in (["rubric", "check", str(rubric)], ["score", str(b), "--rubric", str(rubric)]):
        result = runner.invoke(main, args)
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output and "Invalid" not in result.output
        assert f"{rubric}，第 " in result.output and message in result.output, result.output



def _packed(tmp_path: Path, method: int, damage: Callable[[bytes], bytes]) -> Path:
    path = tmp_path / "bundle.zip"
    with zipfile.ZipFile(path, "w", compression=method) as z:
        z.writestr("bundle.yaml", HEAD + "".join(f"# 第 {i} 行说明\n" for i in range(200)))
    path.write_bytes(damage(path.read_bytes()))
    return path


def _in_stream(data: bytes) -> bytes:
    """Flip bytes in the middle of the first entry's compressed data."""
    start = 30 + len("bundle.yaml")
    middle = start + (data.index(b"PK\x01\x02") - start) // 2
    return data[:middle] + bytes(b ^ 0x5A for b in data[middle:middle + 8]) + data[middle + 8:]


def _cut_stream(data: bytes) -> bytes:
    """Drop the second half of the first entry's data, its headers still claiming all of it: reading runs
    off the end (an EOFError, once shown as 已取消)."""
    start, central = 30 + len("bundle.yaml"), data.index(b"PK\x01\x02")
    cut = (central - start) // 2
    out = bytearray(data[:start + cut] + data[central:])
    end = out.rindex(b"PK\x05\x06")
    out[end + 16:end + 20] = (central - cut).to_bytes(4, "little")
    return bytes(out)


def _field(data: bytes, signature: bytes, offset: int, value: bytes) -> bytes:
    """Overwrite a field of every local (PK\\3\\4) or central (PK\\1\\2) header."""
    out = bytearray(data)
    at = data.find(signature)
    while at >= 0:
        out[at + offset:at + offset + len(value)] = value
        at = data.find(signature, at + 1)
    return bytes(out)


@pytest.mark.parametrize(("method", "damage", "message"), [
    (zipfile.ZIP_DEFLATED, lambda d: d.replace(b"PK\x03\x04", b"PK\x03\x05", 1), "“bundle.yaml” 已损坏"),
    (zipfile.ZIP_DEFLATED, lambda d: d.replace(b"PK\x01\x02", b"PK\x01\x03", 1), "不是有效的 zip 压缩包"),
    (zipfile.ZIP_DEFLATED, lambda d: d[:len(d) * 2 // 3], "文件不完整"),
    (zipfile.ZIP_DEFLATED, _in_stream, "“bundle.yaml” 已损坏"),
    (zipfile.ZIP_LZMA, _in_stream, "“bundle.yaml” 已损坏"),
    (zipfile.ZIP_BZIP2, _in_stream, "“bundle.yaml” 已损坏"),
    (zipfile.ZIP_STORED, _in_stream, "“bundle.yaml” 已损坏"),  # the CRC no longer matches
    (zipfile.ZIP_LZMA, _cut_stream, "“bundle.yaml” 已损坏"),
    (zipfile.ZIP_BZIP2, _cut_stream, "“bundle.yaml” 已损坏"),
    (zipfile.ZIP_DEFLATED, lambda d: _field(_field(d, b"PK\x03\x04", 8, b"\x63\x00"), b"PK\x01\x02", 10, b"\x63\x00"),
     "不支持的压缩方式 AES 加密（编号 99）"),
    (zipfile.ZIP_DEFLATED, lambda d: _field(_field(d, b"PK\x03\x04", 6, b"\x01\x00"), b"PK\x01\x02", 8, b"\x01\x00"),
     "“bundle.yaml” 已加密"),
])
def test_damaged_zip(runner: CliRunner, tmp_path: Path, method: int, damage: Callable[[bytes], bytes],
                     message: str) -> None:
    z = _packed(tmp_path, method, damage)
    output = refused(runner, z, tmp_path, str(z), message)
    assert "已取消" not in output


def test_zip_name_not_utf8_though_flagged(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "bundle.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("bundle.yaml", HEAD)
        z.writestr("documents/通知.txt", b"x")  # a UTF-8 name: zipfile sets the flag
    data = path.read_bytes().replace("通知".encode(), "通知".encode("gbk") + b"\xff\xfe")
    path.write_bytes(data.replace("通知".encode("gbk") + b"\xff\xfe", b"\xff\xfe\xfd\xfc\xfb\xfa"))
    refused(runner, path, tmp_path, str(path), "文件名的编码无法识别")


# ---------------------------------------------------------------- budgets: each passes at its limit, one over is refused


def at_edge(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, budget: str, used: int,
            target: Path, *expected: str) -> None:
    """`target` spends `used` of `budget`: it loads with the budget at `used` and is refused at one less,
    by a message naming the file and the limit."""
    monkeypatch.setattr(limits, budget, used)
    bundle_mod.open_bundle(target)
    monkeypatch.setattr(limits, budget, used - 1)
    refused(runner, target, tmp_path, *expected, f"上限 {used - 1}")


def test_manifest_lines_budget(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    b = write_manifest(tmp_path, HEAD + "#\n" * 50)
    at_edge(runner, tmp_path, monkeypatch, "MANIFEST_LINES", 54, b, "bundle.yaml", "清单行数过多")


def test_total_bytes_count_text_files_once(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    b = make_bundle(tmp_path / "b", documents={"D1": ("documents/a.txt", b"x" * 100, "2022-01-01"),
                                               "D2": ("documents/b.txt", b"x" * 100, "2022-01-01")},
                    narrative={"overview": {"file": "narrative/o.txt"}},
                    statements={"1.1": {"file": "narrative/o.txt"}, "1.2": {"file": "narrative/o.txt"}})
    (b / "narrative").mkdir()
    (b / "narrative" / "o.txt").write_text("说明" * 25, "utf-8")  # 150 bytes, read once for three references
    at_edge(runner, tmp_path, monkeypatch, "TOTAL_BYTES", 350, b, "bundle.yaml", "合计过大")


def test_text_file_read_once_however_often_it_is_cited(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    b = make_bundle(tmp_path / "b", statements={i: {"file": "s.txt"} for i in ("1.1", "1.2", "2.1", "2.2")},
                    narrative={"overview": {"file": "s.txt"}})
    (b / "s.txt").write_text("说明", "utf-8")
    reads: list[str] = []
    original = bundle_mod._Folder.read

    def counting(self: object, rel: str, *args: object) -> bytes | None:
        reads.append(rel)
        return original(self, rel, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(bundle_mod._Folder, "read", counting)
    assert bundle_mod.open_bundle(b).statements["2.2"] == "说明"
    assert reads.count("s.txt") == 1


def _cited(tmp_path: Path, times: int) -> Path:
    inputs = {"1.1": {"meeting": {"value": True, "documents": ["D1"] * times}},
              "2.1": {"coverage": {"value": 100, "documents": ["D1", "D2"]}}}
    return make_bundle(tmp_path / "b", inputs, documents={"D1": ("documents/a.txt", b"a", "2022-01-01"),
                                                          "D2": ("documents/b.txt", b"b", "2022-01-01")})


def test_citations_of_one_document_budget(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at_edge(runner, tmp_path, monkeypatch, "CITATIONS_PER_DOCUMENT", 31, _cited(tmp_path, 30),
            "bundle.yaml", "指标 2.1 输入 coverage", "“D1” 被引用过多")


def test_citations_in_all_budget(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at_edge(runner, tmp_path, monkeypatch, "CITATIONS", 32, _cited(tmp_path, 30), "bundle.yaml", "引用佐证文件的次数过多")


def test_documents_budget(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = {f"D{i}": (f"documents/{i}.txt", b"x", "2022-01-01") for i in range(12)}
    at_edge(runner, tmp_path, monkeypatch, "DOCUMENTS", 12, make_bundle(tmp_path / "b", documents=docs),
            "bundle.yaml", "登记的佐证文件过多")


def test_list_items_budget(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    b = make_bundle(tmp_path / "b", {"1.2": {"policies": [f"政策{i}" for i in range(40)]}})
    monkeypatch.setattr(limits, "LIST_ITEMS", 40)
    assert runner.invoke(main, ["score", str(b), "--rubric", str(MINI)]).exit_code == 0
    monkeypatch.setattr(limits, "LIST_ITEMS", 39)
    refused(runner, b, tmp_path, "指标 1.2 输入 policies", "列表项过多（40 项，上限 39 项）")


@pytest.mark.parametrize("written", [["甲" * 200], "乙；" + "甲" * 200])
def test_list_item_length_budget(runner: CliRunner, tmp_path: Path, written: object) -> None:
    assert limits.ITEM_CHARS == 200
    b = make_bundle(tmp_path / "b", {"1.2": {"policies": written}})
    assert runner.invoke(main, ["score", str(b), "--rubric", str(MINI)]).exit_code == 0
    b = make_bundle(tmp_path / "c", {"1.2": {"policies": ["甲" * 201]}})
    refused(runner, b, tmp_path, "指标 1.2 输入 policies", "上限 200 字")


def test_long_list_duplicate_check_is_linear(tmp_path: Path) -> None:
    from scoring.domain import inputs
    from scoring.domain.model import Answer
    inp = next(i for c in rubric_mod.load(MINI).categories for ind in c.indicators for i in ind.inputs
               if i.name == "policies")
    items = [f"政策{i}" for i in range(limits.LIST_ITEMS)] * 200  # far beyond the budget, checked fast anyway
    with pytest.raises(inputs.InputProblem):
        inputs.check(inp, Answer(items, (), "", "", None))
    assert inputs.check(inp, Answer(items[:limits.LIST_ITEMS], (), "", "", None)) == items[:limits.LIST_ITEMS]


def test_one_text_budget(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    b = make_bundle(tmp_path / "b", statements={"1.1": "说" * 30})
    at_edge(runner, tmp_path, monkeypatch, "TEXT_CHARS", 30, b, "bundle.yaml", "statements.1.1 的文字过长")


def test_all_texts_budget(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    b = make_bundle(tmp_path / "b", statements={"1.1": "说" * 30}, narrative={"overview": {"file": "o.txt"}})
    (b / "o.txt").write_text("明" * 20, "utf-8")
    at_edge(runner, tmp_path, monkeypatch, "TEXTS_CHARS", 50, b, "bundle.yaml", "报告文字合计过长")


def test_text_lines_budget(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Short lines on one manifest line (escaped), so only the report's own budget can stop them.
    b = make_bundle(tmp_path / "b", narrative={"practices": "段\n\n" * 20 + "段"})
    at_edge(runner, tmp_path, monkeypatch, "TEXT_LINES", 41, b, "bundle.yaml", "报告文字合计行数过多")


def _entries(tmp_path: Path, count: int) -> Path:
    return _zip(tmp_path, {"bundle.yaml": HEAD.encode(), **{f"documents/{i}.txt": b"" for i in range(count - 1)}})


def test_zip_entries_budget_read_from_the_end_record(runner: CliRunner, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    at_edge(runner, tmp_path, monkeypatch, "ZIP_ENTRIES", 20, _entries(tmp_path, 20), "bundle.zip",
            "压缩包内文件过多（20 个")


def test_zip_directory_budget(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    z = _entries(tmp_path, 20)
    size = int.from_bytes(z.read_bytes()[-10:-6], "little")
    at_edge(runner, tmp_path, monkeypatch, "ZIP_DIRECTORY_BYTES", size, z, "bundle.zip", "压缩包的文件目录过大")


@pytest.mark.parametrize(("field", "value", "message"), [
    (slice(-12, -10), (3_000_000 % 65536).to_bytes(2, "little"), "个，上限"),
    (slice(-10, -6), (1500 << 20).to_bytes(4, "little"), "文件目录过大"),
])
def test_zip_directory_refused_before_it_is_parsed(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   field: slice, value: bytes, message: str) -> None:
    z = _entries(tmp_path, 2)
    data = bytearray(z.read_bytes())
    data[field] = value
    z.write_bytes(bytes(data))

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("zipfile parsed a directory beyond the budget")

    monkeypatch.setattr(limits, "ZIP_ENTRIES", 100)
    monkeypatch.setattr(bundle_mod.zipfile, "ZipFile", never)
    refused(runner, z, tmp_path, "bundle.zip", message)


_END = struct.Struct("<4s4H2LH")
_END64 = struct.Struct("<4sQ2H2L4Q")  # signature, size, versions, disks, entries here and in all, directory size, offset
_LOCATOR64 = struct.Struct("<4sLQL")  # signature, disk, where the zip64 end record is, disks


def _as_zip64(z: Path, count: int | None = None, directory: int | None = None, where: int | None = None,
              cut: int = 0) -> Path:
    """The zip's end made a zip64 one, as zipfile writes it for 65,535 entries or more: the classic end record
    says "see the zip64 record" (0xFFFF entries, 0xFFFFFFFF bytes of directory), and a zip64 end record and
    its locator before it give the figures (the true ones unless `count` or `directory` lie). The locator
    points at the record unless `where` says otherwise; `cut` drops bytes from the front of the two."""
    data = z.read_bytes()
    end = data.rindex(b"PK\x05\x06")
    total, size, offset = _END.unpack_from(data, end)[4:7]
    record = _END64.pack(b"PK\x06\x06", _END64.size - 12, 45, 45, 0, 0, count or total, count or total,
                         directory or size, offset)
    locator = _LOCATOR64.pack(b"PK\x06\x07", 0, end if where is None else where, 1)
    z.write_bytes(data[:end] + (record + locator)[cut:]
                  + _END.pack(b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, offset, 0))
    return z


def test_zip64_entries_budget_read_from_the_zip64_end_record(runner: CliRunner, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # zipfile opens the zip at the limit, so the records are as it reads them; one under, the count refused
    # is the zip64 record's 20, not the classic record's 65535.
    at_edge(runner, tmp_path, monkeypatch, "ZIP_ENTRIES", 20, _as_zip64(_entries(tmp_path, 20)), "bundle.zip",
            "压缩包内文件过多（20 个")


_DECOY = _END64.pack(b"PK\x06\x06", 44, 45, 45, 0, 0, 2, 2, 100, 0)  # a zip64 end record claiming a small zip


@pytest.mark.parametrize(("lie", "message"), [
    ({"count": 3_000_000}, "压缩包内文件过多（3000000 个，上限 100 个）"),
    ({"directory": 150 << 20}, "压缩包的文件目录过大（157286400 字节"),
    # The locator points past the end, or at a decoy record in a stored document; zipfile reads the record
    # right before the locator, so that one counts too.
    ({"count": 3_000_000, "where": 2**64 - 1}, "压缩包内文件过多（3000000 个"),
    ({"directory": 150 << 20, "where": "decoy"}, "压缩包的文件目录过大（157286400 字节"),
    # Truncated: half a locator, or a locator without its record, behind an end record that says "see zip64".
    ({"cut": _END64.size + 10}, "压缩包不完整或已损坏：找不到 zip64 目录记录"),
    ({"cut": _END64.size}, "压缩包不完整或已损坏：找不到 zip64 目录记录"),
], ids=["count", "directory", "locator-past-the-end", "locator-at-a-decoy", "half-a-locator", "no-record"])
def test_a_lying_or_truncated_zip64_end_is_refused_before_the_directory_is_parsed(
        runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lie: dict[str, Any], message: str) -> None:
    z = _zip(tmp_path, {"bundle.yaml": HEAD.encode(), "documents/decoy.bin": _DECOY})
    if lie.get("where") == "decoy":
        lie["where"] = z.read_bytes().index(_DECOY)
    _as_zip64(z, **lie)

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("zipfile parsed a directory beyond the budget")

    monkeypatch.setattr(limits, "ZIP_ENTRIES", 100)
    monkeypatch.setattr(bundle_mod.zipfile, "ZipFile", never)
    output = refused(runner, z, tmp_path, str(z), message)
    assert "Traceback" not in output and "已取消" not in output


def test_workbook_parts_budget_read_from_the_end_record(monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w") as z:
        for i in range(5):
            z.writestr(f"{i}.xml", "")
    readers.check_zip_directory(io.BytesIO(raw.getvalue()), "填报表.xlsx", 5, "填报表")
    with pytest.raises(ScoringError, match=r"填报表内文件过多（5 个，上限 4 个）"):
        readers.check_zip_directory(io.BytesIO(raw.getvalue()), "填报表.xlsx", 4, "填报表")


def _special(tmp_path: Path, kind: str) -> Path:
    if kind == "fifo":
        os.mkfifo(tmp_path / "fifo.yaml")
        return tmp_path / "fifo.yaml"
    return Path("/dev/zero") if kind == "device" else tmp_path


@pytest.mark.parametrize("kind", ["fifo", "device", "folder"])
@pytest.mark.parametrize(("option", "label"), [("--rubric", "评分细则文件"), ("--review", "评审意见文件")])
def test_named_input_must_be_a_regular_file(runner: CliRunner, tmp_path: Path, kind: str, option: str,
                                            label: str) -> None:
    b = make_bundle(tmp_path / "b")
    special = str(_special(tmp_path, kind))
    rubric = special if option == "--rubric" else str(MINI)
    review = ["--review", special] if option == "--review" else []
    result = runner.invoke(main, ["score", str(b), "--rubric", rubric, *review])
    assert result.exit_code != 0 and "Traceback" not in result.output, result.output
    assert label in result.output or kind == "folder", result.output  # click itself refuses a folder


@pytest.mark.parametrize("reader", ["programme", "registry", "previous", "rubric", "review"])
def test_every_named_file_is_read_within_its_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    reader: str) -> None:
    from scoring.jobs import rating
    from scoring.loading import programme, review
    read, budget = {"programme": (lambda p: programme.load(p, rubric_mod.load(MINI)), "PROGRAMME_BYTES"),
                    "registry": (rating.read_registry, "REGISTRY_BYTES"),
                    "previous": (rating.read_previous, "MANIFEST_BYTES"),
                    "rubric": (rubric_mod.read, "MANIFEST_BYTES"),
                    "review": (review.read, "MANIFEST_BYTES")}[reader]
    with pytest.raises(ScoringError, match="不是普通文件"):
        read(Path("/dev/zero"))
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(ScoringError, match="不是普通文件"):
        read(tmp_path / "fifo")
    (tmp_path / "f").write_bytes(b"#" * 10)
    monkeypatch.setattr(limits, budget, 9)
    with pytest.raises(ScoringError, match="上限 9 字节") as caught:
        read(tmp_path / "f")
    assert caught.value.file == str(tmp_path / "f")


def test_budgets_are_documented() -> None:
    text = (Path(__file__).parent.parent / "docs" / "bundles.md").read_text("utf-8")
    for name, value in vars(limits).items():
        if name.isupper() and isinstance(value, int) and name != "MIB":
            assert f"`{name}` | {value:,} |" in text, name


def test_terminal_control_sequences_are_shown_escaped(runner: CliRunner, tmp_path: Path) -> None:
    # A name or title holding ESC [ 2 J (clear the screen) or OSC (retitle the window) must not act on the
    # terminal that shows the error: a path is shown escaped, a rubric's title refused naming it.
    result = runner.invoke(main, ["score", str(tmp_path / "县\x1b[2J\x9b0m\x07"), "--rubric", str(MINI)])
    assert result.exit_code == 1
    assert "县<U+001B>[2J<U+009B>0m<U+0007>" in result.output and "\x1b" not in result.output
    rubric = tmp_path / "mini.yaml"
    rubric.write_text(MINI.read_text("utf-8").replace("title: 测试用评分细则", 'title: "细则\\e]0;假标题\\a\\r"', 1), "utf-8")
    result = runner.invoke(main, ["score", str(make_bundle(tmp_path / "b")), "--rubric", str(rubric)])
    assert result.exit_code == 1, result.output  # a rubric's text is checked like a bundle's
    assert f"{rubric}，第 3 行，title：文本中有不允许的控制字符 U+001B" in result.output
    assert not any(c in result.output for c in "\x1b\x07\r")


@pytest.mark.parametrize("text", [
    "rubric: " + "m" * 200_000 + "\nassessee: {name: 测试县}\n",  # a rubric id, quoted in the message
    "rubric: mini\nassessee:\n  name: 测试县\n  ? " + "k" * 200_000 + "\n  : 1\n",  # an unknown key, and its path
    "rubric: mini\nassessee: {name: 测试县}\ninputs: {'1.1': {meeting: {value: true, documents: [" + "D" * 200_000 + "]}}}\n",
])
def test_a_long_bad_value_is_quoted_as_an_excerpt(runner: CliRunner, tmp_path: Path, text: str) -> None:
    # One bad value once made a 1.5 MB message.
    b = write_manifest(tmp_path, text + "period: {start: 2022-01-01, end: 2022-12-31}\n")
    out = refused(runner, b, tmp_path, "bundle.yaml", "…（共 200")
    assert len(out) < 1000, len(out)


@pytest.mark.slow
def test_text_fast_paths_agree_with_the_character_rules() -> None:
    import unicodedata

    from scoring.base import text

    everything = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    refused = {ch for ch in everything if text.is_control(ch) and ch not in text.LINE_BREAKS}
    assert {ch for ch in everything if text.refused(ch)} == refused
    rtl = {ch for ch in everything if unicodedata.bidirectional(ch) in text._RTL}
    assert all(text._MAYBE_RTL.match(ch) for ch in rtl)
    assert {ch for ch in everything if not text.ordinary(ch)} >= refused | rtl | set(text.LINE_BREAKS)
    assert all(text.clean(ch) == ch and not text.refused(ch) for ch in everything if text.ordinary(ch))


@pytest.mark.parametrize(("escaped", "shown"), [
    ("\\u202e", "\u2068县\u202e名\u2069"),  # right-to-left override: isolated
    ("\\L", "县\n名"),  # Unicode's line separator: a newline
    ("\\N", "县\n名"),  # NEL
])
def test_characters_written_as_yaml_escapes_are_treated_as_written(runner: CliRunner, tmp_path: Path,
                                                                     escaped: str, shown: str) -> None:
    # The file itself holds only plain characters; the escape in double quotes makes the character.
    b = write_manifest(tmp_path, HEAD.replace("{name: 测试县}", f'{{name: "县{escaped}名"}}'))
    result = runner.invoke(main, ["score", str(b), "--rubric", str(MINI), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["assessee"]["name"] == shown


def test_a_control_character_written_as_a_yaml_escape_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    b = write_manifest(tmp_path, HEAD.replace("{name: 测试县}", '{name: "县\\e[31m名"}'))
    refused(runner, b, tmp_path, "bundle.yaml", "U+001B", "assessee.name")


def test_rubric_text_gets_bundle_texts_treatment(runner: CliRunner, tmp_path: Path) -> None:
    # A rubric may come from another city: its words reach the report like a bundle's.
    rubric = tmp_path / "r.yaml"
    rubric.write_text(MINI.read_text("utf-8").replace("title: 联席会议", 'title: "联席\\u202e会议"', 1), "utf-8")
    b = make_bundle(tmp_path / "b", {"1.1": {"meeting": True}})
    result = runner.invoke(main, ["score", str(b), "--rubric", str(rubric), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["indicators"][0]["title"] == "\u2068联席\u202e会议\u2069"
    rubric.write_text(MINI.read_text("utf-8").replace("title: 联席会议", 'title: "联席\\a会议"', 1), "utf-8")
    result = runner.invoke(main, ["rubric", "check", str(rubric)])
    assert result.exit_code == 1 and "\a" not in result.output
    assert f"{rubric}，第 14 行" in result.output and "U+0007" in result.output, result.output
