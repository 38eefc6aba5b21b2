"""`scoring docs`: files under documents/ registered in bundle.yaml or the workbook, nothing else touched."""

from __future__ import annotations

import difflib
from pathlib import Path

import openpyxl
from click.testing import CliRunner

from scoring.domain.model import Bundle
from scoring.faces.cli import main
from scoring.loading import workbook
from scoring.loading.bundle import open_bundle

from .conftest import MINI, SAMPLE, copy_tree, sha256


def docs(runner: CliRunner, bundle: Path, *args: str) -> str:
    result = runner.invoke(main, ["docs", str(bundle), *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_new_files_join_a_blank_yaml_manifest_and_nothing_else_changes(runner: CliRunner, tmp_path: Path) -> None:
    folder = tmp_path / "县"
    assert runner.invoke(main, ["init", str(MINI), str(folder), "--assessee", "测试县"]).exit_code == 0
    before = (folder / "bundle.yaml").read_text("utf-8")
    (folder / "documents" / "会议纪要.txt").write_bytes("纪要".encode())
    (folder / "documents" / "分项").mkdir()
    (folder / "documents" / "分项" / "台账.txt").write_bytes(b"ledger")
    (folder / "documents" / "~$会议纪要.docx").write_bytes(b"office lock file")
    out = docs(runner, folder)
    assert "新登记 D01 documents/会议纪要.txt" in out and "新登记 D02 documents/分项/台账.txt" in out
    assert "~$" not in out
    after = (folder / "bundle.yaml").read_text("utf-8")
    changed = [line for line in difflib.ndiff(before.splitlines(), after.splitlines()) if line[:1] in "+-"]
    assert changed[0] == "- documents: []" and changed[1] == "+ documents:"
    assert all(line.startswith("+   ") for line in changed[2:]) and len(changed) == 2 + 8  # 4 lines per document
    bundle = open_bundle(folder)
    assert {d.id: (d.file, d.title, d.status) for d in bundle.documents.values()} == {
        "D01": ("documents/会议纪要.txt", "会议纪要", "ok"), "D02": ("documents/分项/台账.txt", "台账", "ok")}


def test_added_changed_and_missing_in_the_sample(runner: CliRunner, tmp_path: Path, sample_bundle: Bundle) -> None:
    folder = copy_tree(SAMPLE, tmp_path / "高青县")
    manifest = folder / "bundle.yaml"
    before = manifest.read_text("utf-8")
    d01 = next(folder.glob("documents/D01_*"))
    d01.write_bytes(d01.read_bytes() + "（修订）".encode())
    d02 = next(folder.glob("documents/D02_*"))
    d02.unlink()
    (folder / "documents" / "D99_补充材料.txt").write_bytes("补充".encode())
    out = docs(runner, folder)
    assert f"内容有变化 D01 documents/{d01.name}" in out and f"文件缺失 D02 documents/{d02.name}" in out
    new_id = f"D{len(sample_bundle.documents) + 1:02d}"
    assert f"新登记 {new_id} documents/D99_补充材料.txt" in out and "--rehash" in out
    after = manifest.read_text("utf-8")
    added = [line for line in difflib.ndiff(before.splitlines(), after.splitlines()) if line[:1] in "+-"]
    assert len(added) == 4 and all(line.startswith("+   ") for line in added)  # D01's hash untouched
    assert open_bundle(folder).documents["D01"].status == "hash_mismatch"

    out = docs(runner, folder, "--rehash")
    assert f"已更新 SHA-256 D01 documents/{d01.name}" in out
    rehashed = manifest.read_text("utf-8")
    diff = [line for line in difflib.ndiff(after.splitlines(), rehashed.splitlines()) if line[:1] in "+-"]
    assert diff == [f'-     sha256: "{sha256(d01.read_bytes()[: -len("（修订）".encode())])}"',
                    f'+     sha256: "{sha256(d01.read_bytes())}"']
    assert open_bundle(folder).documents["D01"].status == "ok"


def test_a_workbook_gets_rows_on_its_documents_sheet(runner: CliRunner, tmp_path: Path) -> None:
    folder = tmp_path / "表"
    assert runner.invoke(main, ["init", str(MINI), str(folder), "--xlsx", "--assessee", "测试县"]).exit_code == 0
    book = folder / workbook.FILE
    (folder / "documents" / "实施方案.txt").write_bytes("方案".encode())
    assert "新登记 D01 documents/实施方案.txt" in docs(runner, folder)
    sheet = openpyxl.load_workbook(book)[workbook.DOCUMENTS]
    assert [c.value for c in sheet[2]] == ["D01", "documents/实施方案.txt", "实施方案", None, None, None,
                                           sha256("方案".encode())]
    registered = book.read_bytes()
    assert "新登记 0 份" in docs(runner, folder) and book.read_bytes() == registered  # nothing new, nothing written

    wb = openpyxl.load_workbook(book)  # the clerk cites it and completes the row
    where = {(str(r[0].value), str(r[8].value)): r[0].row for r in wb[workbook.INPUTS].iter_rows(min_row=2)}
    wb[workbook.INPUTS][f"E{where[('1.1', 'meeting')]}"] = "是"
    wb[workbook.INPUTS][f"F{where[('1.1', 'meeting')]}"] = "D01"
    wb[workbook.DOCUMENTS]["D2"] = "测政发〔2022〕1号"
    wb.save(book)
    (folder / "documents" / "实施方案.txt").write_bytes("方案（修订）".encode())
    assert "内容有变化 D01" in docs(runner, folder)
    docs(runner, folder, "--rehash")
    bundle = open_bundle(folder)
    assert (bundle.documents["D01"].status, bundle.documents["D01"].number) == ("ok", "测政发〔2022〕1号")


def test_a_row_typed_without_its_hash_gets_one(runner: CliRunner, tmp_path: Path) -> None:
    folder = tmp_path / "表"
    assert runner.invoke(main, ["init", str(MINI), str(folder), "--xlsx", "--assessee", "测试县"]).exit_code == 0
    (folder / "documents" / "纪要.txt").write_bytes(b"minutes")
    wb = openpyxl.load_workbook(folder / workbook.FILE)
    for col, value in zip("ABC", ("D05", "documents/纪要.txt", "会议纪要"), strict=True):
        wb[workbook.DOCUMENTS][f"{col}2"] = value
    wb.save(folder / workbook.FILE)
    out = docs(runner, folder)
    assert "新登记 0 份" in out
    assert open_bundle(folder).documents["D05"].sha256 == sha256(b"minutes")


def test_docs_refuses_a_zip(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "b.zip").write_bytes(b"PK")
    result = runner.invoke(main, ["docs", str(tmp_path / "b.zip")])
    assert result.exit_code != 0 and "Traceback" not in result.output
