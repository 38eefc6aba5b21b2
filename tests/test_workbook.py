"""The fill-in workbook: written by `scoring init --xlsx`, filled as a clerk would, read back into the same
manifest data as bundle.yaml, and refused cell by cell when a cell is wrong."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner

from scoring.faces.cli import main
from scoring.loading import workbook

from .conftest import MINI, make_bundle, sha256

DOCS = {"D01": ("documents/综合文件.txt", "2021年出台的综合性文件".encode(), "2021-05-01"),
        "D02": ("documents/覆盖率统计.txt", "覆盖率统计表".encode(), "2022-06-30")}

# What the clerk types, by (indicator, input): answer, cited documents, reason.
CLERK: dict[tuple[str, str], tuple[Any, str | None, str | None]] = {
    ("1.1", "meeting"): ("是", "D01", None),
    ("1.1", "convener"): ("主要负责同志", None, None),
    ("1.2", "cases"): (1, None, None),
    ("1.2", "policies"): ("高龄津贴政策；护理补贴政策", None, None),
    ("1.2", "quality"): (1.5, None, "补贴标准高于省定标准"),
    ("2.1", "coverage"): (85.7, "D02", None),
    ("2.2", "met"): ("是", None, None),
    ("2.2", "accident"): ("否", None, None),
    ("2.3", "policy"): ("是", "D01", None),
    ("2.3", "level"): ("中", None, None),
}
# The same answers as a county writes them in bundle.yaml.
YAML = {
    "1.1": {"meeting": {"value": True, "documents": ["D01"]}, "convener": "principal"},
    "1.2": {"cases": 1, "policies": ["高龄津贴政策", "护理补贴政策"],
            "quality": {"value": Decimal("1.5"), "reason": "补贴标准高于省定标准"}},
    "2.1": {"coverage": {"value": Decimal("85.7"), "documents": ["D02"]}},
    "2.2": {"met": True, "accident": False},
    "2.3": {"policy": {"value": True, "documents": ["D01"]}, "level": "fair"},
}


def blank(runner: CliRunner, folder: Path) -> Path:
    result = runner.invoke(main, ["init", str(MINI), str(folder), "--xlsx", "--assessee", "测试县"])
    assert result.exit_code == 0, result.output
    assert "已生成空白材料包" in result.output and (folder / "documents").is_dir()
    return folder / workbook.FILE


def rows(ws: Any) -> dict[tuple[str, str], int]:
    """The row of each input on 指标填报, by (indicator, input code)."""
    return {(str(r[0].value), str(r[8].value)): r[0].row for r in ws.iter_rows(min_row=2) if r[8].value}


def fill(book: Path, answers: dict[tuple[str, str], tuple[Any, str | None, str | None]],
         documents: dict[str, tuple[str, bytes, str]] | None = None) -> dict[tuple[str, str], int]:
    """Fill the workbook as a clerk would: answers, cited documents, reasons and the documents sheet."""
    wb = openpyxl.load_workbook(book)
    ws = wb[workbook.INPUTS]
    where = rows(ws)
    for key, (value, docs, reason) in answers.items():
        r = where[key]
        ws[f"E{r}"], ws[f"F{r}"], ws[f"G{r}"] = value, docs, reason
    sheet = wb[workbook.DOCUMENTS]
    for k, (ident, (file, content, day)) in enumerate((documents or {}).items(), start=2):
        (book.parent / file).write_bytes(content)
        for col, value in zip("ABCDEFG", (ident, file, f"文件{ident}", None, "测试县民政局", day, sha256(content)),
                              strict=True):
            sheet[f"{col}{k}"] = value
    wb.save(book)
    return where


def scored(runner: CliRunner, bundle: Path, rubric: Path = MINI) -> dict[str, Any]:
    result = runner.invoke(main, ["score", str(bundle), "--rubric", str(rubric), "--format", "json"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def refusal(runner: CliRunner, bundle: Path) -> str:
    result = runner.invoke(main, ["score", str(bundle), "--rubric", str(MINI)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    return result.output


def test_a_filled_workbook_scores_as_the_same_answers_in_yaml(runner: CliRunner, tmp_path: Path) -> None:
    book = blank(runner, tmp_path / "表")
    fill(book, CLERK, DOCS)
    yaml_bundle = make_bundle(tmp_path / "yaml", YAML, documents=DOCS)
    from_sheet, from_yaml = scored(runner, book.parent), scored(runner, yaml_bundle)
    assert from_sheet["assessee"]["name"] == "测试县"
    points = {i["id"]: (i["score"], i["supported_score"]) for i in from_sheet["indicators"]}
    assert points == {i["id"]: (i["score"], i["supported_score"]) for i in from_yaml["indicators"]}
    # 1.1: 2 + 2 (主要负责同志); 1.2: 1 − 0.3 + 2 × 0.5 + 1.5; 2.1: 85.7% short of 100%; 2.2: 2; 2.3: 2 + 2 (中)
    assert points == {"1.1": (4, 4), "1.2": (3.2, 3.2), "2.1": (0, 0), "2.2": (2, 2), "2.3": (4, 4)}
    assert from_sheet["total"] == from_yaml["total"] == 13.2


def test_the_blank_workbook_is_the_same_bytes_every_time(runner: CliRunner, tmp_path: Path) -> None:
    assert blank(runner, tmp_path / "a").read_bytes() == blank(runner, tmp_path / "b").read_bytes()


def test_the_blank_workbook_validates_answers_itself(runner: CliRunner, tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(blank(runner, tmp_path / "表"))
    ws = wb[workbook.INPUTS]
    where = rows(ws)
    rules = {cell: dv for dv in ws.data_validations.dataValidation for rng in dv.sqref.ranges for cell in [rng.coord]}
    assert rules[f"E{where[('1.1', 'meeting')]}"].formula1 == '"是,否"'
    convener = rules[f"E{where[('1.1', 'convener')]}"]
    options = wb[workbook.OPTIONS]
    row = int(convener.formula1.rsplit("$", 1)[1])
    assert [c.value for c in options[row]][1:4] == ["主要负责同志", "负责同志", "其他"]
    coverage = rules[f"E{where[('2.1', 'coverage')]}"]
    assert (coverage.type, coverage.operator, coverage.formula1, coverage.formula2) == ("decimal", "between", "0", "100")
    assert rules[f"E{where[('1.2', 'cases')]}"].type == "whole"
    assert ws.freeze_panes == "B2" and ws.page_setup.orientation == "landscape"
    assert "单位：%" in ws[f"D{where[('2.1', 'coverage')]}"].value


def test_cells_read_as_exact_decimals(runner: CliRunner, tmp_path: Path) -> None:
    book = blank(runner, tmp_path / "表")
    where = fill(book, {("2.1", "coverage"): (85.7, None, None), ("1.2", "quality"): (0.1 + 0.2, None, None)})
    wb = openpyxl.load_workbook(book)
    ws = wb[workbook.INPUTS]
    ws[f"E{where[('2.2', 'met')]}"] = 0.857
    ws[f"E{where[('2.2', 'met')]}"].number_format = "0.0%"  # typed as 85.7%
    wb.save(book)
    data = workbook.read(book.read_bytes(), str(book)).data
    assert data["inputs"]["2.1"]["coverage"]["value"] == Decimal("85.7")
    assert str(data["inputs"]["2.1"]["coverage"]["value"]) == "85.7"
    assert data["inputs"]["1.2"]["quality"]["value"] == Decimal("0.3")  # what the cell shows, not 0.30000000000000004
    assert data["inputs"]["2.2"]["met"]["value"] == Decimal("85.7")


@pytest.mark.parametrize(("key", "value", "expected"), [
    (("1.1", "meeting"), "有", "应填 是 或 否"),
    (("2.1", "coverage"), 120, "120% 超出范围（0% 至 100%）"),
    (("1.1", "convener"), "县长", "取值 “县长” 无效"),
    (("1.2", "cases"), 1.5, "应为整数"),
    (("2.1", "coverage"), "八十", "应为数字"),
])
def test_a_bad_answer_names_its_cell(runner: CliRunner, tmp_path: Path, key: tuple[str, str], value: Any,
                                     expected: str) -> None:
    book = blank(runner, tmp_path / "表")
    where = fill(book, {key: (value, None, None)})
    out = refusal(runner, book.parent)
    assert f"{workbook.FILE}，{workbook.INPUTS}!E{where[key]}，指标 {key[0]} 输入 {key[1]}" in out
    assert expected in out


def test_a_judged_score_without_reason_names_its_cell(runner: CliRunner, tmp_path: Path) -> None:
    book = blank(runner, tmp_path / "表")
    where = fill(book, {("1.2", "quality"): (1, None, None)})
    out = refusal(runner, book.parent)
    assert f"{workbook.INPUTS}!E{where[('1.2', 'quality')]}" in out and "酌情打分必须写明理由" in out


def test_a_formula_without_its_saved_value_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    book = blank(runner, tmp_path / "表")
    where = fill(book, {("1.2", "cases"): ("=1+1", None, None)})  # openpyxl saves no value for a formula
    out = refusal(runner, book.parent)
    assert f"{workbook.INPUTS}!E{where[('1.2', 'cases')]}" in out and "没有保存计算结果" in out


def test_a_document_row_without_its_hash_names_the_cell(runner: CliRunner, tmp_path: Path) -> None:
    book = blank(runner, tmp_path / "表")
    fill(book, {}, DOCS)
    wb = openpyxl.load_workbook(book)
    wb[workbook.DOCUMENTS]["G3"] = None
    wb.save(book)
    out = refusal(runner, book.parent)
    assert f"{workbook.DOCUMENTS}!G3" in out and "scoring docs" in out


def test_an_unknown_document_cited_names_the_cell(runner: CliRunner, tmp_path: Path) -> None:
    book = blank(runner, tmp_path / "表")
    where = fill(book, {("1.1", "meeting"): ("是", "D09", None)})
    out = refusal(runner, book.parent)
    assert f"{workbook.INPUTS}!E{where[('1.1', 'meeting')]}" in out and "D09" in out


def test_a_moved_column_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    book = blank(runner, tmp_path / "表")
    wb = openpyxl.load_workbook(book)
    wb[workbook.INPUTS].insert_cols(2)
    wb.save(book)
    out = refusal(runner, book.parent)
    assert f"{workbook.INPUTS}!B1" in out and "请不要插入、删除或移动列" in out


def test_a_blank_assessee_names_its_cell(runner: CliRunner, tmp_path: Path) -> None:
    folder = tmp_path / "表"
    assert runner.invoke(main, ["init", str(MINI), str(folder), "--xlsx"]).exit_code == 0
    out = refusal(runner, folder)
    assert f"{workbook.INFO}!B3" in out and "“被评估单位” 未填写" in out and "如 高青县" in out


def test_not_a_workbook(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / workbook.FILE).write_bytes(b"PK\x03\x04 not really a zip")
    assert "不是有效的 .xlsx 文件" in refusal(runner, tmp_path / "b")


def test_both_manifests_are_refused(runner: CliRunner, tmp_path: Path) -> None:
    book = blank(runner, tmp_path / "表")
    (book.parent / "bundle.yaml").write_text("rubric: mini\n", "utf-8")
    assert "同时有 bundle.yaml 和 填报表.xlsx" in refusal(runner, book.parent)


def test_shared_facts_and_multi_answers_from_a_workbook(runner: CliRunner, tmp_path: Path) -> None:
    from .test_language import CENTER

    folder = tmp_path / "中心"
    assert runner.invoke(main, ["init", str(CENTER), str(folder), "--xlsx", "--assessee", "某中心"]).exit_code == 0
    wb = openpyxl.load_workbook(folder / workbook.FILE)
    where = rows(wb[workbook.INPUTS])
    assert any(ident == workbook.FACT for ident, _ in where)
    wb[workbook.INPUTS][f"E{where[('2.1', 'activities')]}"] = "文化娱乐、体育健身"
    wb.save(folder / workbook.FILE)
    result = runner.invoke(main, ["score", str(folder), "--rubric", str(CENTER), "--format", "json"])
    assert result.exit_code == 0, result.output
    by_id = {i["id"]: i for i in json.loads(result.stdout)["indicators"]}
    assert by_id["2.1"]["score"] == 40  # 2 activities × 20


def _as_typed(inp: Any, value: Any) -> Any:
    """A YAML answer as a clerk types it: 是/否, the choice's label, items on one line, a plain number."""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return ("、" if inp.type == "multi" else "；").join(inp.choice_label(v) for v in value)
    if isinstance(value, Decimal):
        return float(value)
    return inp.choice_label(value) if inp.type == "choice" else value


def test_the_gaoqing_sample_typed_into_the_workbook_scores_the_same(runner: CliRunner, tmp_path: Path) -> None:
    from scoring.loading.bundle import open_bundle
    from scoring.loading.rubric import load

    from .conftest import GAOQING, SAMPLE

    rubric, sample = load(GAOQING), open_bundle(SAMPLE)
    folder = tmp_path / "高青县"
    assert runner.invoke(main, ["init", "gaoqing_2022", str(folder), "--xlsx", "--assessee", "高青县"]).exit_code == 0
    wb = openpyxl.load_workbook(folder / workbook.FILE)
    ws, where = wb[workbook.INPUTS], rows(wb[workbook.INPUTS])
    for ind in rubric.indicators:
        for inp in ind.inputs:
            ans = sample.facts.get(inp.name) if inp.fact else sample.answers.get(ind.id, {}).get(inp.name)
            if ans is None:
                continue
            r = where[(workbook.FACT, inp.name) if inp.fact else (ind.id, inp.name)]
            ws[f"E{r}"] = _as_typed(inp, ans.value)
            ws[f"F{r}"] = "、".join(ans.documents) or None
            ws[f"G{r}"] = ans.reason or None
    docs = wb[workbook.DOCUMENTS]
    for k, d in enumerate(sample.documents.values(), start=2):
        (folder / d.file).parent.mkdir(parents=True, exist_ok=True)
        (folder / d.file).write_bytes((SAMPLE / d.file).read_bytes())
        for col, value in zip("ABCDEFG", (d.id, d.file, d.title, d.number or None, d.issuer or None,
                                          d.date or None, d.sha256), strict=True):
            docs[f"{col}{k}"] = value
    wb.save(folder / workbook.FILE)
    from_sheet, from_yaml = scored(runner, folder, GAOQING), scored(runner, SAMPLE, GAOQING)
    assert [(i["id"], i["score"], i["supported_score"]) for i in from_sheet["indicators"]] == \
        [(i["id"], i["score"], i["supported_score"]) for i in from_yaml["indicators"]]
    assert from_sheet["total"] == 84.2 and from_sheet["mandatory"]["met"] == 16  # as worked in the sample's header


def test_a_clerk_cannot_break_the_blank_workbook_by_accident(runner: CliRunner, tmp_path: Path) -> None:
    from scoring.loading.bundle import open_bundle

    book = blank(runner, tmp_path / "表")
    wb = openpyxl.load_workbook(book)
    info = wb[workbook.INFO]
    labels = {info[f"A{r}"].value: r for r in range(2, info.max_row + 1)}
    rubric, phone, code = (info[f"B{labels[x]}"] for x in ("评分细则", "联系电话", "行政区划代码"))
    # Phone numbers and codes are text cells: 05336961532 typed in Excel or WPS keeps its 0.
    assert phone.number_format == "@" and code.number_format == "@"
    # The rubric's id is locked and not the sheet's "fill here" yellow; the county's cells are open.
    assert rubric.protection.locked and rubric.fill.fgColor.rgb != "00FFF2CC"
    assert not phone.protection.locked and phone.fill.fgColor.rgb == "00FFF2CC"
    inputs = wb[workbook.INPUTS]
    row = next(r for r in range(2, inputs.max_row + 1) if inputs[f"I{r}"].value)
    assert not inputs[f"E{row}"].protection.locked and inputs[f"I{row}"].protection.locked  # 输入代码（勿改）
    for ws in wb.worksheets:
        assert ws.protection.sheet and not ws.protection.password  # an expert may unprotect it
    assert info["A2"].font.name == "等线"
    phone.value = "05336961532"
    wb.save(book)
    assert open_bundle(book.parent).signoff.phone == "05336961532"


def test_an_edited_rubric_cell_is_named_in_the_clerks_words(runner: CliRunner, tmp_path: Path) -> None:
    book = blank(runner, tmp_path / "表")
    wb = openpyxl.load_workbook(book)
    wb[workbook.INFO]["B2"] = "mini 2022!"
    wb.save(book)
    said = refusal(runner, book.parent)
    assert "基本信息!B2：“评分细则”一格应为评分细则的编号，现为 “mini 2022!”" in said and "请勿修改" in said
    assert "应匹配" not in said and "^[A-Za-z]" not in said


def test_an_edited_input_code_is_named_in_the_clerks_words(runner: CliRunner, tmp_path: Path) -> None:
    book = blank(runner, tmp_path / "表")
    wb = openpyxl.load_workbook(book)
    ws = wb[workbook.INPUTS]
    row = rows(ws)[("1.1", "meeting")]
    ws[f"E{row}"], ws[f"I{row}"] = "是", "meetings"
    wb.save(book)
    said = refusal(runner, book.parent)
    # The cell that was edited (I, 输入代码), not the answer beside it (E), with the codes it may hold in words.
    assert f"指标填报!I{row}，输入代码：指标 1.1 没有输入 “meetings”" in said
    assert "该指标的输入代码有：meeting（建立联席会议制度）、convener（召集人）；请改回原来的代码" in said
    assert f"!E{row}" not in said
