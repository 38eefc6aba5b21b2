"""The reviewers' papers: the 意见表 (scoring diff) in every format, the report with the chain, and the
city's summary (scoring review summary). Figures are the shipped 初评 and 验收 of the sample, worked
by hand in evidence/gaoqing_2022_review_*.yaml."""

from __future__ import annotations

import csv
import io
import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from scoring.faces.cli import main

from .conftest import ROOT, SAMPLE, Rendered, copy_tree
from .test_report import pdf_text, squeeze

pytestmark = pytest.mark.xdist_group("papers")  # the city folder and the diff PDF are made once, on one worker

EVIDENCE = ROOT / "evidence"
CITY = EVIDENCE / "gaoqing_2022_review_city.yaml"
PROVINCE = EVIDENCE / "gaoqing_2022_review_province.yaml"
CHAIN = ("--review", str(CITY), "--review", str(PROVINCE))
# Each change with its reason, as the reviewers wrote them (the first words of each reason).
REASONS = {"2.2": "配建养老服务设施核查情况报告由县民政局自行出具", "2.3": "现场抽查发现，除自查报告所列1家外",
           "4.4": "实地抽查12处农村幸福院", "7.1": "农村“长者食堂+邻里互助”助餐模式"}


def invoke(*args: str) -> Any:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result


def csv_rows(path: Path) -> list[list[str]]:
    text = path.read_bytes().decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


@pytest.fixture(scope="module")
def diff_pdf(diff_report: Rendered) -> str:
    return pdf_text(diff_report.pdf)


def test_the_diff_lists_every_change_with_its_reason(diff_pdf: str) -> None:
    assert "高青县养老服务体系创新示范县创建验收意见表" in diff_pdf
    for reason in REASONS.values():
        assert squeeze(reason) in diff_pdf
    # Before → after, by hand: 2.2 keeps 3 but its support falls to 2 (D12 rejected); 2.3 1.7 → 1.4;
    # 4.4 2 → 1; 7.1 4 → 2 at the 验收.
    for row in ("2.2设施配建“四同步”机制（分值3分）3→33→2", "2.3优惠扶持政策落实（分值2分）1.7→1.41.7→1.4",
                "4.4社区（村）养老服务载体（分值3分）2→12→1", "7.1特色创新（分值6分）4→24→2"):
        assert row in diff_pdf
    assert "更正“发现未落实扶持政策的例数”：1例→2例" in diff_pdf
    assert "不采信D12《高青县新建居住小区配建养老服务设施核查情况报告》" in diff_pdf
    assert "（一）初评：调整3项指标" in diff_pdf and "（二）验收：调整1项指标" in diff_pdf
    assert "评审人：李明" in diff_pdf and "评审人：王芳" in diff_pdf


def test_the_diff_gives_totals_and_compliance_before_and_after(diff_pdf: str) -> None:
    # 初评 rejects D12, the only evidence for 2.2's 1 point of 100% compliance: 2.2 keeps its 3 points (total
    # 82.9) but only 2 are supported, so at 初评 and 验收 the mandatory 2.2 is not met: 16 − 1 = 15 of 16.
    for row in ("自评84.284.216/16无达到创建标准", "初评82.981.915/162.2未达到创建标准",
                "验收80.979.915/162.2未达到创建标准"):
        assert row in diff_pdf
    assert "初评不计为达标的强制性指标：2.2设施配建“四同步”机制：初评得分3分，其中有据2分" in diff_pdf
    assert "评审阶段的强制性指标须有该阶段采信的佐证支持满分，才计为达标" in diff_pdf
    assert "无：自评中有据得分低于自评得分的指标，均已在评审中处理。" in diff_pdf
    assert "得分80.9分（有据得分79.9分），未达到创建标准：强制性指标2.2的满分没有验收采信的佐证支持，不计为达标。" \
           "意见：不予通过验收。" in diff_pdf
    sign = diff_pdf[diff_pdf.index("评审单位（盖章）"):]
    assert "山东省民政厅" in sign and "评审人王芳（签字）日期2023年1月10日" in sign


def test_the_diff_as_csv_and_json(tmp_path: Path) -> None:
    out = tmp_path / "意见表.csv"
    invoke("diff", str(SAMPLE), *CHAIN, "-o", str(out))
    rows = csv_rows(out)
    assert rows[0][:8] == ["阶段", "评审人", "指标", "名称", "调整前得分", "调整后得分", "调整前有据得分", "调整后有据得分"]
    changes = [(r[0], r[2], r[4], r[5], r[6], r[7]) for r in rows[1:5]]
    assert changes == [("初评", "2.2", "3", "3", "3", "2"), ("初评", "2.3", "1.7", "1.4", "1.7", "1.4"),
                       ("初评", "4.4", "2", "1", "2", "1"), ("验收", "7.1", "4", "2", "4", "2")]
    assert all(r[9].startswith(REASONS[r[2]]) for r in rows[1:5])
    assert [r[:8] + r[9:] for r in rows[5:]] == [
        ["初评", "李明", "合计", "自评 → 初评", "84.2", "82.9", "84.2", "81.9", "不推荐"],
        ["验收", "王芳", "合计", "初评 → 验收", "82.9", "80.9", "81.9", "79.9", "不予通过验收"]]
    out = tmp_path / "x.data"
    invoke("diff", str(SAMPLE), "--review", str(CITY), "-o", str(out), "--format", "json")
    data = json.loads(out.read_text("utf-8"))
    (stage,) = data["stages"]
    assert (stage["before"]["total"], stage["after"]["total"], stage["after"]["supported_total"]) == (84.2, 82.9, 81.9)
    assert [c["indicator"] for c in stage["changes"]] == ["2.2", "2.3", "4.4"]
    assert stage["changes"][1]["entries"][0]["value"] == 2 and stage["outcome"] == "不推荐"


def test_the_diff_lists_unsupported_claims_no_stage_addressed(tmp_path: Path) -> None:
    bundle = EVIDENCE / "gaoqing_2022_evidence_problems"
    claims = json.loads(invoke("score", str(bundle), "--format", "json").stdout)
    short = [i["id"] for i in claims["indicators"] if i["supported_score"] < i["score"]]
    assert short  # the sample's point: claims its documents do not support
    blank = tmp_path / "初评.yaml"
    invoke("review", "init", str(bundle), "-o", str(blank))
    out = tmp_path / "d.json"
    invoke("diff", str(bundle), "--review", str(blank), "-o", str(out))
    assert [u["indicator"] for u in json.loads(out.read_text("utf-8"))["unaddressed"]] == short
    # A ruling on the first of them takes it off the list.
    text = blank.read_text("utf-8").replace(f'  "{short[0]}": []', f'  "{short[0]}":\n    - score: 0\n'
                                            "      reason: 佐证材料不足，不予计分。")
    blank.write_text(text.replace("reviewer: \"\"", "reviewer: 李明").replace(
        "date:                       # 评审日期，如 2022-12-05", "date: 2022-12-05"), "utf-8")
    invoke("diff", str(bundle), "--review", str(blank), "-o", str(out))
    assert [u["indicator"] for u in json.loads(out.read_text("utf-8"))["unaddressed"]] == short[1:]


@pytest.mark.parametrize(("args", "expected"), [
    ((), "没有给出评审意见文件"), (("--review", str(CITY), "-o", "x.docx"), "无法从文件名"),
])
def test_diff_refusals(tmp_path: Path, args: tuple[str, ...], expected: str) -> None:
    args = tuple(str(tmp_path / a) if a == "x.docx" else a for a in args)
    result = CliRunner().invoke(main, ["diff", str(SAMPLE), *(args or ("-o", str(tmp_path / "d.pdf")))])
    assert result.exit_code == 1 and expected in result.output and "Traceback" not in result.output
    assert not list(tmp_path.iterdir())


# ---------------------------------------------------------------- the report with the chain


def test_the_report_shows_the_chain_and_keeps_the_self_score(sample_report: Rendered, chain_report: Rendered) -> None:
    before, after = pdf_text(sample_report.pdf), pdf_text(chain_report.pdf)
    # The cover names each stage's verdict and why 2.2 is not met there (D12 rejected from 初评 on).
    assert "初评淄博市民政局李明2022年12月5日82.981.9未达到创建标准" in after
    assert "验收山东省民政厅王芳2023年1月10日80.979.9未达到创建标准" in after
    assert "初评：强制性指标2.2的满分没有初评采信的佐证支持，不计为达标，故未达到创建标准" in after
    # 附件2: D12 is verified for the county but not accepted by either stage; D11 is the same at every stage.
    assert "自评已核验初评不予采信（2.2）验收不予采信（2.2）" in after
    assert "判定规则：强制性指标（共16项）须全部得满分；不设总分线。" in after and "判定规则" in before
    assert "初评得分1.4" in after and squeeze(REASONS["2.3"]) in after and "初评得分4：未调整。" in after
    assert "初评得分3（有据得分2）" in after
    # 附件1: a column per stage, the totals last.
    assert "合计10084.282.980.9" in after and "合计10084.2" in before and "初评得分" not in before
    summary = "按《县域养老服务体系建设示范创建指引与评分细则》（2022年修订版）自评，自评总分84.2分"
    assert summary in before and summary in after
    assert after.index("目录") < after.index("一、自评总体情况")  # the cover still fits its page


# ---------------------------------------------------------------- the city's summary


@pytest.fixture(scope="module")
def city_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four bundles as a city receives them: the sample with its 初评 and 验收, the shortfalls sample with a
    blank 初评, the evidence-problems sample zipped and not yet reviewed, and a broken bundle; plus a
    review of a bundle that is not there."""
    folder = tmp_path_factory.mktemp("city")
    copy_tree(SAMPLE, folder / "高青县")
    shutil.copy(CITY, folder / "高青县_初评.yaml")
    shutil.copy(PROVINCE, folder / "高青县_验收.yaml")
    copy_tree(EVIDENCE / "gaoqing_2022_shortfalls", folder / "沂源县")
    invoke("review", "init", str(folder / "沂源县"), "-o", str(folder / "沂源县_初评.yaml"))
    problems = EVIDENCE / "gaoqing_2022_evidence_problems"
    with zipfile.ZipFile(folder / "桓台县.zip", "w") as z:
        for f in sorted(problems.rglob("*")):
            z.write(f, f.relative_to(problems).as_posix())
    (folder / "坏材料包").mkdir()
    (folder / "坏材料包" / "bundle.yaml").write_text("rubric: [\n", "utf-8")
    stray = CITY.read_text("utf-8").replace("5f7a31f2", "00000000")
    (folder / "别县_初评.yaml").write_text(stray, "utf-8")
    return folder


def test_the_summary_as_csv(city_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "汇总.csv"
    result = invoke("review", "summary", str(city_folder), "-o", str(out))
    assert "共 4 个材料包，1 个无法评分；评审意见问题 1 条" in result.output
    rows = csv_rows(out)
    assert rows[0] == ["材料包", "被评估单位", "自评总分", "自评有据得分", "自评强制性指标达标", "初评总分",
                       "初评有据得分", "初评强制性指标达标", "验收总分", "验收有据得分", "验收强制性指标达标",
                       "结论", "是否推荐", "错误"]
    by_source = {r[0]: r for r in rows[1:] if r[0]}
    # The samples' figures, worked by hand in their manifests and the review files.
    # 高青县: 2.2 is full by score but D12 is rejected from 初评 on, so it is not met there: 15/16, not recommended.
    assert by_source["高青县"][1:11] == ["高青县", "84.2", "84.2", "16/16", "82.9", "81.9", "15/16", "80.9", "79.9",
                                      "15/16"]
    assert by_source["高青县"][11].startswith("验收结论：未达到创建标准：强制性指标 2.2") and by_source["高青县"][12] == "不推荐"
    assert by_source["沂源县"][2:8] == ["49.9", "49.9", "10/16", "49.9", "49.9", "10/16"]
    assert by_source["沂源县"][12] == "不推荐" and by_source["沂源县"][8:11] == ["", "", ""]
    assert by_source["桓台县.zip"][2:5] == ["95.5", "81.5", "16/16"] and by_source["桓台县.zip"][12] == "未初评"
    assert "YAML 格式错误" in by_source["坏材料包"][13] and by_source["坏材料包"][12] == "—"
    (stray,) = [r for r in rows[1:] if not r[0]]
    assert "别县_初评.yaml" in stray[-1] and "不在目录中" in stray[-1]


def test_the_summary_as_pdf_and_json(city_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "汇总.pdf"
    invoke("review", "summary", str(city_folder), "-o", str(out))
    text = pdf_text(out)
    assert "淄博市民政局初评情况汇总表" in text
    assert "共4个材料包，评分3个，其中初评推荐0个；1个材料包无法评分" in text
    assert "高青县84.284.216/1682.981.915/1680.979.915/16验收结论：未达到创建标准" in text
    assert "不推荐" in text and "未初评" in text and "无法评分：" in text
    data = json.loads(invoke("review", "summary", str(city_folder), "-o", str(tmp_path / "s.json")).stdout or
                      (tmp_path / "s.json").read_text("utf-8"))
    assert [c["source"] for c in data["counties"]] == sorted(c["source"] for c in data["counties"])
    gaoqing = next(c for c in data["counties"] if c["name"] == "高青县")
    assert [(s["stage"], s["total"]) for s in gaoqing["stages"]] == [("自评", 84.2), ("初评", 82.9), ("验收", 80.9)]
    assert gaoqing["reviews"] == ["高青县_初评.yaml", "高青县_验收.yaml"]


def test_summary_refuses_an_output_inside_a_bundle(city_folder: Path) -> None:
    result = CliRunner().invoke(main, ["review", "summary", str(city_folder), "-o",
                                       str(city_folder / "高青县" / "s.csv")])
    assert result.exit_code == 1 and "输出文件不能写在材料包内" in result.output
    assert not (city_folder / "高青县" / "s.csv").exists()


# ---------------------------------------------------------------- the published schemas hold


@pytest.mark.parametrize(("schema", "args"), [
    ("result", ("score", str(SAMPLE), "--format", "json", *CHAIN)),
    ("changes", ("diff", str(SAMPLE), *CHAIN, "--format", "json", "-o", "{out}")),
    ("summary", ("review", "summary", "{folder}", "--format", "json", "-o", "{out}")),
])
def test_json_outputs_follow_their_published_schemas(schema: str, args: tuple[str, ...], city_folder: Path,
                                                     tmp_path: Path) -> None:
    import jsonschema

    from scoring.loading.validate import schema as load_schema

    out = tmp_path / "out.json"
    result = invoke(*(a.format(out=out, folder=city_folder) for a in args))
    data = json.loads(out.read_text("utf-8") if out.exists() else result.stdout)
    jsonschema.Draft202012Validator(load_schema(schema)).validate(data)


def test_the_self_score_is_the_same_in_the_csv_and_the_table_after_a_review() -> None:
    plain = invoke("score", str(SAMPLE), "--format", "csv").stdout
    reviewed = invoke("score", str(SAMPLE), "--format", "csv", *CHAIN).stdout
    own = [row[:7] for row in csv.reader(io.StringIO(plain))]
    assert own == [row[:7] for row in csv.reader(io.StringIO(reviewed))]
    assert own[0][5:7] == ["自评得分", "有据得分"]
    line = "总分：84.2 / 100（有据得分 84.2）"
    assert line in invoke("score", str(SAMPLE)).stdout and line in invoke("score", str(SAMPLE), *CHAIN).stdout
