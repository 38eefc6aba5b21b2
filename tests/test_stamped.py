"""Papers a county stamps and a city signs: no placeholder on a final report, a draft marked as one, the
conclusion's rule, each stage's verdict on what that stage accepts."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from scoring.domain.results import Result
from scoring.faces.cli import main
from scoring.papers.report.context import draft_notice, missing_parts

from .conftest import ROOT, SAMPLE, Rendered, pdf_pages
from .test_report import squeeze

pytestmark = pytest.mark.xdist_group("stamped")  # the papers are rendered once, on one worker

CITY = ROOT / "evidence" / "gaoqing_2022_review_city.yaml"
PROVINCE = ROOT / "evidence" / "gaoqing_2022_review_province.yaml"
CHAIN = ("--review", str(CITY), "--review", str(PROVINCE))
REPORT = ROOT / "tests" / "fixtures" / "report"  # the report tests' small rubric and bundle
PLACEHOLDERS = ("未填写工作说明", "材料包中未填写本部分")


def _run(*args: str, code: int = 0) -> Any:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result


def _draft_bundle(folder: Path) -> Path:
    """The report fixture's bundle (a shorter report than the sample's, the same templates) without 1.1's
    statement and without the 主要做法和成效 part of its narrative."""
    bundle = shutil.copytree(REPORT / "bundle", folder / "草稿材料包")
    manifest = bundle / "bundle.yaml"
    head, rest = manifest.read_text("utf-8").split("  practices: |-\n")
    rest = rest[rest.index("  highlights:"):]  # the part's indented lines go with it
    rest = "\n".join(x for x in rest.split("\n") if not x.startswith('  "1.1":'))
    manifest.write_text(head + rest, "utf-8")
    return bundle


@pytest.fixture(scope="module")
def papers(tmp_path_factory: pytest.TempPathFactory, sample_report: Rendered, diff_report: Rendered) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("stamped")
    final, draft = sample_report.pdf, folder / "草稿.pdf"
    drafted = _run("report", str(_draft_bundle(folder)), "--rubric", str(REPORT / "rubric.yaml"), "-o", str(draft))
    changes, summary, city = diff_report.pdf, folder / "汇总表.pdf", folder / "各县材料"
    shutil.copytree(SAMPLE, city / "高青县")
    for review in (CITY, PROVINCE):
        shutil.copy(review, city)
    _run("review", "summary", str(city), "-o", str(summary))
    return {"folder": folder, "final": final, "draft": draft, "made": sample_report, "drafted": drafted,
            "changes": changes, "summary": summary,
            "final_pages": [squeeze(p) for p in pdf_pages(final)],
            "draft_pages": [squeeze(p) for p in pdf_pages(draft)]}


def test_the_sample_is_final_with_no_placeholder_and_no_mark(papers: dict[str, Any], sample_result: Result) -> None:
    text = "".join(papers["final_pages"])
    assert not any(p in text for p in PLACEHOLDERS) and "草稿" not in text
    assert papers["made"].errors == "" and "已写入" in papers["made"].output
    # Nothing is missing, so `report --final` writes these same pages rather than refusing.
    assert missing_parts(sample_result) == () and draft_notice(sample_result, True, "sample") == ""


def test_a_bundle_with_missing_parts_is_a_draft_on_every_page(papers: dict[str, Any]) -> None:
    assert len(papers["draft_pages"]) > 5 and all("草稿" in page for page in papers["draft_pages"])
    err = papers["drafted"].stderr
    # The fixture states only 1.1's and 1.2's work: 2.1, 2.2 and 2.3 have none, and 1.1's was taken out.
    assert "草稿：材料包有 5 处未填写" in err
    assert ("  - 主要做法和成效（报告正文）\n  - 1.1 联席会议制度：工作说明\n  - 2.1 扶持政策落实：工作说明\n"
            "  - 2.2 政策含金量：工作说明\n  - 2.3 设施覆盖率：工作说明\n") in err


def test_final_refuses_a_draft(papers: dict[str, Any]) -> None:
    out = papers["folder"] / "正式.pdf"
    result = _run("report", str(papers["folder"] / "草稿材料包"), "--rubric", str(REPORT / "rubric.yaml"), "-o",
                  str(out), "--final", code=1)
    assert "材料包有 5 处未填写，不能生成正式报告" in result.stderr and "1.1 联席会议制度：工作说明" in result.stderr
    assert not out.exists()


def test_the_conclusion_states_its_rule(papers: dict[str, Any]) -> None:
    text = "".join(papers["final_pages"])
    # gaoqing_2022 declares mandatory_full and no min_total; 16 of its 33 indicators are mandatory.
    assert "（三）自评结论达到创建标准判定规则：强制性指标（共16项）须全部得满分；不设总分线。" in text


def test_the_first_review_judges_on_what_it_accepts() -> None:
    result = _run("score", str(SAMPLE), "--review", str(CITY))
    # 初评 rejects D12, 2.2's only evidence for its 1 point of 100% compliance: 3 points stay (total 82.9),
    # 2 are supported, so 2.2 is not met at 初评 (15 of 16) and the 初评 does not pass; the self-score passes.
    assert "初评总分：82.9（有据得分 81.9）" in result.stdout
    assert "初评：强制性指标：15/16 项达标（2.2 满分没有初评采信的佐证支持，不计为达标）" in result.stdout
    assert "初评结论：未达到创建标准：强制性指标 2.2 的满分没有初评采信的佐证支持，不计为达标" in result.stdout
    assert "\n结论：达到创建标准\n" in result.stdout


# ---------------------------------------------------------------- archivable and verifiable PDFs


def _tampered_total(pdf: Path, folder: Path) -> Path:
    """The sample report with the total on its page 3 edited (84.2 → 82.4, two digits swapped in the page's
    text) and everything else kept: the same attachment and printed digests, as a PDF editor would leave it."""
    import itertools
    import re

    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=pdf)
    page = writer.pages[2]
    contents = page.get_contents()
    assert contents is not None
    data = contents.get_data()
    for font in page["/Resources"]["/Font"].values():  # the glyph codes of each font, from its ToUnicode map
        cmap = font.get_object()["/ToUnicode"].get_object().get_data().decode()
        codes = [(c.encode(), chr(int(u, 16))) for c, u in re.findall(r"<(\w{4})> <(\w{4})>", cmap)]
        for shown in itertools.product(*([c for c, ch in codes if ch == digit] for digit in "84.2")):
            run = b"0".join(b"<" + c + b">" for c in shown)
            if data.count(run) == 1:  # 8 4 . 2 shown as 8 2 . 4
                data = data.replace(run, b"0".join(b"<" + c + b">" for c in (shown[0], shown[3], shown[2], shown[1])))
    assert data != contents.get_data()
    contents.set_data(data)
    page.replace_contents(contents)
    out = folder / "改总分.pdf"
    with out.open("wb") as f:
        writer.write(f)
    return out


def _swapped_attachment(pdf: Path, folder: Path) -> Path:
    from pypdf import PdfWriter

    writer = PdfWriter()
    for page in PdfReader(pdf).pages:
        writer.add_page(page)
    writer.add_attachment("result.json", b'{"total": 99}')
    out = folder / "换附件.pdf"
    with out.open("wb") as f:
        writer.write(f)
    return out


def test_every_report_is_pdf_a_3b_with_its_json(papers: dict[str, Any]) -> None:
    import hashlib
    import json

    reader = PdfReader(papers["final"])
    root = reader.trailer["/Root"]
    xmp = root["/Metadata"].get_object().get_data().decode()
    assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="B"' in xmp
    # Dates from the bundle's sign-off (2022-11-20), not the clock.
    assert "<xmp:CreateDate>2022-11-20</xmp:CreateDate>" in xmp and "<xmp:ModifyDate>2022-11-20" in xmp
    (intent,) = root["/OutputIntents"]
    assert intent.get_object()["/S"] == "/GTS_PDFA1" and "/DestOutputProfile" in intent.get_object()
    (spec,) = {f.idnum: f.get_object() for f in root["/AF"]}.values()  # WeasyPrint lists it twice
    assert spec["/AFRelationship"] == "/Data" and spec["/F"] == "result.json"
    embedded = spec["/EF"]["/F"].get_object()
    assert embedded["/Subtype"] == "/application#2Fjson" or embedded["/Subtype"] == "/application/json"
    assert embedded["/Params"]["/ModDate"].startswith("D:20221120")
    data = embedded.get_data()
    assert json.loads(data)["total"] == 84.2
    printed = hashlib.sha256(data).hexdigest()
    cover = papers["final_pages"][0]
    assert f"结果JSONSHA-256：{printed}" in cover and "材料包SHA-256：" in cover
    # The JSON is exactly what `scoring score --format json` gives.
    assert _run("score", str(SAMPLE), "--format", "json").stdout_bytes == data


def test_verify_an_untouched_report(papers: dict[str, Any]) -> None:
    alone = _run("verify", str(papers["final"]))
    assert "附带的 result.json 与页面上印的 SHA-256 一致" in alone.stdout and "未给出材料包" in alone.stdout
    again = _run("verify", str(papers["final"]), str(SAMPLE))
    assert "重新生成的自评报告逐字节相同" in again.stdout


def test_verify_names_an_edited_total(papers: dict[str, Any]) -> None:
    edited = _tampered_total(papers["final"], papers["folder"])
    assert "一致" in _run("verify", str(edited)).stdout  # the attachment was left as it was
    result = _run("verify", str(edited), str(SAMPLE), code=1)
    assert "PDF 与按材料包重新生成的不同：第 3 页第一处不同" in result.stderr
    assert "自评总分82.4" in result.stderr.split("PDF 中为")[1].split("重新生成的为")[0]
    assert "自评总分84.2" in result.stderr.split("重新生成的为")[1]


def test_verify_refuses_a_swapped_attachment(papers: dict[str, Any]) -> None:
    swapped = _swapped_attachment(papers["final"], papers["folder"])
    result = _run("verify", str(swapped), code=1)
    assert "附带的 result.json 与页面上印的摘要不符" in result.stderr and "附件被替换或改动过" in result.stderr


def test_verify_names_a_bundle_changed_after_the_report(papers: dict[str, Any]) -> None:
    changed = shutil.copytree(SAMPLE, papers["folder"] / "改过的材料包")
    manifest = changed / "bundle.yaml"
    manifest.write_text(manifest.read_text("utf-8").replace("设立养老服务发展专项资金800万元", "设立养老服务发展专项资金900万元"),
                        "utf-8")
    result = _run("verify", str(papers["final"]), str(changed), code=1)
    assert "材料包与生成本 PDF 时的不同：PDF 依据的材料包 SHA-256 为 5f7a31f2d9eaa19f…" in result.stderr


def test_verify_a_review_paper_with_its_reviews(papers: dict[str, Any]) -> None:
    out = papers["changes"]
    assert list(PdfReader(out).attachments) == ["changes.json"]
    assert "逐字节相同" in _run("verify", str(out), str(SAMPLE), *CHAIN).stdout
    # Without the 验收 file the chain differs: named on the first page.
    assert "第 1 页第一处不同" in _run("verify", str(out), str(SAMPLE), "--review", str(CITY), code=1).stderr


def test_verify_refuses_a_pdf_without_an_attachment(tmp_path: Path) -> None:
    plain = tmp_path / "x.pdf"
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(100, 100)
    with plain.open("wb") as f:
        writer.write(f)
    assert "PDF 中没有附带评分结果 JSON" in _run("verify", str(plain), code=1).stderr
    (tmp_path / "y.pdf").write_bytes(b"not a pdf")
    assert "无法读取 PDF" in _run("verify", str(tmp_path / "y.pdf"), code=1).stderr


# ---------------------------------------------------------------- click's own words in Chinese


def _commands(group: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    import click

    out = [path]
    for name, command in sorted(group.commands.items()):
        out += _commands(command, (*path, name)) if isinstance(command, click.Group) else [(*path, name)]
    return out


@pytest.mark.parametrize("path", _commands(main), ids=lambda p: " ".join(p) or "scoring")
def test_every_help_page_is_chinese(path: tuple[str, ...]) -> None:
    text = _run(*path, "--help").stdout
    assert text.startswith("用法：") and "[选项]" in text and "选项：\n" in text
    for english in ("Usage:", "Options:", "Commands:", "Show this message", "Show the version", "[required]",
                    "[OPTIONS]", " TEXT", " FILE", " DIRECTORY", " INTEGER"):
        assert english not in text, english


def test_the_option_column_lines_up_in_terminal_columns() -> None:
    import re

    from scoring.faces.chinese import columns

    lines = [x for x in _run("report", "--help").stdout.splitlines() if x.startswith("  -")]
    # "  -o, --output 文件" is 17 characters but 19 columns wide: every description starts at the same column.
    assert columns("  -o, --output 文件") == 19
    starts = {columns(m[1]) for x in lines for m in [re.match(r"^(  \S.*?\S\s{2,})\S", x)] if m}
    assert len(starts) == 1 and len(lines) == 7


def test_click_usage_errors_are_chinese() -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "scoring", "score", "a", "b"], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 2 and "错误：多余的参数（b）" in done.stderr and "Got unexpected" not in done.stderr


def test_the_summary_carries_its_json_and_names_the_stage_of_its_conclusion(papers: dict[str, Any]) -> None:
    assert list(PdfReader(papers["summary"]).attachments) == ["summary.json"]
    assert "汇总表附带的 summary.json 与页面上印的 SHA-256 一致" in _run("verify", str(papers["summary"])).stdout
    text = squeeze("".join(pdf_pages(papers["summary"])))
    assert "高青县84.284.216/1682.981.915/1680.979.915/16验收结论：未达到创建标准" in text


# ---------------------------------------------------------------- layout, checked on the PDFs' text


def _raw(pdf: Path) -> list[str]:
    return pdf_pages(pdf)


def test_a_document_number_never_breaks_before_its_last_character(papers: dict[str, Any]) -> None:
    import re

    for name in ("final", "changes"):
        for page in _raw(papers[name]):
            assert not re.search(r"\n号|〔\d*\n|\d\n\d*号", page), page


def test_header_cells_break_between_words(papers: dict[str, Any]) -> None:
    import re

    # The 达标 column's header: one per stage, the noun kept whole (the issue saw 强制性指 / 标满分).
    for name, count in (("changes", 1), ("summary", 3)):
        text = "".join(_raw(papers[name]))
        assert len(re.findall(r"强制性指标\s*达标", text)) == count and "强制性指\n" not in text


def test_a_signature_block_never_stands_alone_on_the_last_page(papers: dict[str, Any]) -> None:
    last = squeeze(_raw(papers["changes"])[-1])
    assert "评审意见" in last and "三、未经评审处理的佐证不足事项" in last  # the section before comes along
    last = squeeze(_raw(papers["summary"])[-1])
    assert "评审单位（盖章）" in last and "高青县" in last
    last = squeeze(_raw(papers["final"])[-1])
    assert "填报信息" in last and "D46" in last  # with the last row of 附件2 and its note


def test_rubric_titles_in_running_text_are_in_book_title_marks(papers: dict[str, Any]) -> None:
    text = "".join(papers["final_pages"])
    assert "按《县域养老服务体系建设示范创建指引与评分细则》（2022年修订版）自评，自评总分84.2分" in text
