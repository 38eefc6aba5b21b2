"""The self-evaluation report (scoring report): content, fonts, determinism, safety, atomic writes."""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from pypdf import PdfReader

from scoring.faces.cli import main
from scoring.papers.report import context as report_context
from scoring.papers.report import render

from .conftest import pdf_pages

pytestmark = pytest.mark.xdist_group("report")  # the fixture's report (rendered) is made once, on one worker

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent / "fixtures" / "report"
RUBRIC = HERE / "rubric.yaml"
BUNDLE = HERE / "bundle"
PAYLOADS = ('<link rel="attachment" href="file:///etc/passwd">', '<img src="http://example.invalid/x.png">')
# What the fixture bundle scores, worked out by hand from tests/fixtures/report/rubric.yaml.
SCORES = {"1.1": ("3", "4"), "1.2": ("5", "6"), "2.1": ("3.5", "4"), "2.2": ("1.5", "3"), "2.3": ("3", "3")}


def report(bundle: Path, out: Path, *extra: str) -> Result:
    return CliRunner().invoke(main, ["report", str(bundle), "--rubric", str(RUBRIC), "-o", str(out), *extra])


def pdf_text(path: Path) -> str:
    """All text in the PDF with whitespace removed: lines wrap anywhere in Chinese."""
    return squeeze("".join(pdf_pages(path)))


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING:
            self.messages.append(record.getMessage())


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("report")
    out, html = folder / "自评报告.pdf", folder / "自评报告.html"
    records = _Records()
    logging.getLogger("weasyprint").addHandler(records)
    try:
        result = report(BUNDLE, out, "--html", str(html))
    finally:
        logging.getLogger("weasyprint").removeHandler(records)
    assert result.exit_code == 0, result.output
    return {"result": result, "pdf": out, "html": html, "text": pdf_text(out), "reader": PdfReader(out),
            "warnings": records.messages}


def test_the_templates_draw_no_weasyprint_warning(rendered: dict[str, Any]) -> None:
    assert rendered["warnings"] == []


def test_says_where_it_wrote_and_how_many_pages(rendered: dict[str, Any]) -> None:
    pages = len(rendered["reader"].pages)
    assert f"已写入 {rendered['pdf']}（共 {pages} 页）" in rendered["result"].output
    assert rendered["html"].read_text("utf-8").startswith("<!DOCTYPE html>")


def test_cover_and_summary(rendered: dict[str, Any]) -> None:
    text = rendered["text"]
    assert "测试县示范县创建自评报告" in text
    assert "示范县创建指引与评分细则（测试版）" in text
    assert "2022年度（2022年1月1日至2022年12月31日）" in text
    assert "自评总分16分（满分20分" in text and "有据得分）9.5分" in text
    assert "（1/3）" in text
    assert "未达到创建标准：强制性指标未达标2项：1.1、1.2" in text
    assert "另有1项强制性指标自评满分，但有佐证材料支撑的得分（有据得分）低于满分" in text
    reader = rendered["reader"]
    assert f"第1页/共{len(reader.pages)}页" not in text  # the cover carries no page footer
    assert f"第2页/共{len(reader.pages)}页" in text


def test_every_indicator_with_its_points(rendered: dict[str, Any]) -> None:
    text = rendered["text"]
    for ident, (score, top) in SCORES.items():
        assert ident in text
        assert f"自评得分{score}/{top}分" in text


def test_county_text_and_signoff(rendered: dict[str, Any]) -> None:
    text = rendered["text"]
    for expected in ["测试县辖5镇2街道", "县长任组长", "建立联席会议制度；", "打造“乐养测试”养老服务品牌",
                     "由分管副县长担任召集人", "农村幸福院运营补贴", "县级补助标准高于省定标准",
                     "测试县民政局", "张三", "李四", "0533-1234567", "2022年11月20日"]:
        assert expected in text, expected


def test_flags_losses_table_and_evidence(rendered: dict[str, Any]) -> None:
    text = rendered["text"]
    assert "所引文件的SHA-256与清单登记的不一致" in text
    assert "所引文件在材料包中不存在" in text
    assert "自评得分3.5分；有佐证材料支撑的得分（有据得分）1.5分" in text
    assert "自评得分3分；有佐证材料支撑的得分（有据得分）0分" in text
    assert "附件1" in text and "自评打分表" in text and "测政办字〔2022〕3号" in text
    assert "哈希不符" in text and "文件缺失" in text and "未引用" in text
    assert "bf3d12b628b4" in text


def test_losses_sorted_by_points_recoverable() -> None:
    from scoring.domain import engine
    from scoring.loading.bundle import open_bundle
    from scoring.loading.rubric import load

    losses = report_context.build(engine.score(load(RUBRIC), open_bundle(BUNDLE))).losses
    # 2.2 loses 1.5; then 1.1 and 1.2 (1 each, in rubric order); 2.1 loses 0.5; 2.3 is at full marks.
    assert [(loss.id, loss.lost) for loss in losses] == [("2.2", "1.5"), ("1.1", "1"), ("1.2", "1"), ("2.1", "0.5")]
    assert losses[1].hints == ("召集人达到最高档，最高可得 2 分",)


def test_fonts_are_cjk_and_subset(rendered: dict[str, Any]) -> None:
    names = {str(font.get_object()["/BaseFont"]) for page in rendered["reader"].pages
             for font in (page["/Resources"].get("/Font") or {}).values()}
    assert names
    for name in names:
        assert re.fullmatch(r"/[A-Z]{6}\+Noto-Sans-CJK-SC(-Bold)?", name), name


def test_metadata_dates_come_from_the_bundle(rendered: dict[str, Any]) -> None:
    meta = rendered["reader"].metadata
    assert meta["/CreationDate"] == "D:20221120"
    assert meta["/ModDate"] == "D:20221120"
    assert meta["/Title"] == "测试县示范县创建自评报告"


def test_two_renders_are_byte_identical(rendered: dict[str, Any], tmp_path: Path) -> None:
    # Another process with another hash seed: nothing may depend on set or dict order, or on the clock.
    again = tmp_path / "again.pdf"
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-m", "scoring", "report", str(BUNDLE), "--rubric", str(RUBRIC), "-o", str(again)],
                   check=True, capture_output=True, env=env, cwd=tmp_path, timeout=120)
    assert again.read_bytes() == rendered["pdf"].read_bytes()


def _edited_bundle(tmp_path: Path, **texts: str) -> Path:
    """The fixture bundle with some of its text replaced: assessee, label (the period's), title (the first
    document's), highlights (a narrative part), statement (1.1's 工作说明) and unit (the sign-off's)."""
    bundle = shutil.copytree(BUNDLE, tmp_path / "bundle")
    manifest = bundle / "bundle.yaml"
    data = yaml.safe_load(manifest.read_text("utf-8"))
    places = {"assessee": (data["assessee"], "name"), "label": (data["period"], "label"),
              "title": (data["documents"][0], "title"), "highlights": (data["narrative"], "highlights"),
              "statement": (data["statements"], "1.1"), "unit": (data["signoff"], "unit")}
    for key, value in texts.items():
        part, field = places[key]
        part[field] = value
    manifest.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return bundle


def _hostile_bundle(tmp_path: Path) -> Path:
    return _edited_bundle(tmp_path, assessee=PAYLOADS[0], title=f"通知{PAYLOADS[1]}",
                          highlights=f"亮点{PAYLOADS[0]}{PAYLOADS[1]}",
                          statement=f"<script>alert(1)</script>{PAYLOADS[1]}")


def test_bundle_markup_is_shown_literally_and_fetches_nothing(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    fetched: list[str] = []
    real_read = render._read

    def recording(url: str, *args: Any) -> bytes:
        fetched.append(url)
        return real_read(url, *args)

    def no_network(*args: Any) -> None:
        raise AssertionError("the report must not use the network")

    monkeypatch.setattr(render, "_read", recording)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    out, html = tmp_path / "r.pdf", tmp_path / "r.html"
    result = report(_hostile_bundle(tmp_path), out, "--html", str(html))
    assert result.exit_code == 0, result.output
    text = pdf_text(out)
    for payload in PAYLOADS:
        assert squeeze(payload) in text
    assert "<script>alert(1)</script>" in text
    assert "root:" not in text
    reader = PdfReader(out)
    assert list(reader.attachments) == ["result.json"]  # the report's own JSON, nothing the bundle named
    assert out.read_bytes().count(b"/Type /EmbeddedFile") == 1
    assert fetched == []
    saved = html.read_text("utf-8")
    assert "&lt;link rel=&#34;attachment&#34;" in saved and "<link rel=\"attachment\"" not in saved


def test_right_to_left_bundle_text_cannot_reorder_the_report(tmp_path: Path) -> None:
    # An override (U+202E, U+202B) or isolate (U+2066) left open, or a stray PDI closing what was opened
    # before the text, once reversed the report's own words after it (评估期: 日13月21年2202).
    bundle = _edited_bundle(tmp_path, assessee="测试县\u202b", label="2022年度\u202e",
                            title="\u2069\u2066通知\u202e甲乙", highlights="亮点\u202e甲乙",
                            statement="说明\u202e甲乙\n\n第二段", unit="测试县民政局\u2069\u202e")
    out = tmp_path / "r.pdf"
    result = report(bundle, out)
    assert result.exit_code == 0, result.output
    text = pdf_text(out)
    for own in ["测试县示范县创建自评报告", "2022年度（2022年1月1日至2022年12月31日）", "通知乙甲（测政办字〔2022〕3号）",
                "说明乙甲第二段", "亮点乙甲", "计分过程"]:
        assert own in text, own


def test_word_line_and_page_breaks_are_line_breaks(tmp_path: Path) -> None:
    # Word's manual line (U+000B) and page (U+000C) breaks once failed the render as characters no font has.
    bundle = _edited_bundle(tmp_path, statement="第一行\x0b第二行\x0c第三行\u2028第四行\u2029第五行",
                            title="关于\x0b通知")
    out, html = tmp_path / "r.pdf", tmp_path / "r.html"
    result = report(bundle, out, "--html", str(html))
    assert result.exit_code == 0, result.output
    assert "第一行第二行第三行第四行第五行" in pdf_text(out)
    assert "第一行<br>第二行<br>第三行<br>第四行<br>第五行" in html.read_text("utf-8")


def _words(pdf: Path) -> list[tuple[int, float, float, float, float, float, float, str]]:
    """Every word poppler finds: page, page width and height, its box, its text."""
    out = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    words, page = [], (0, 0.0, 0.0)
    for line in out.splitlines():
        if m := re.search(r'<page width="([\d.]+)" height="([\d.]+)"', line):
            page = (page[0] + 1, float(m[1]), float(m[2]))
        elif m := re.search(r'<word xMin="([\d.-]+)" yMin="([\d.-]+)" xMax="([\d.-]+)" yMax="([\d.-]+)">(.*)</word>',
                            line):
            words.append((*page, float(m[1]), float(m[2]), float(m[3]), float(m[4]), m[5]))
    return words


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="needs poppler-utils (scripts/setup.sh installs it)")
def test_long_unbroken_strings_stay_on_the_page(tmp_path: Path) -> None:
    url = "https://mzj.example.gov.cn/" + "a" * 131  # 158 characters, as in a county's 工作说明
    token = "X" * 10000
    bundle = _edited_bundle(tmp_path, statement=f"详见{url}\n\n{token}", title="通知" + "T" * 298,
                            assessee="测试县" + "A" * 97)
    out = tmp_path / "r.pdf"
    result = report(bundle, out)
    assert result.exit_code == 0, result.output
    words = _words(out)
    outside = [w for w in words if w[3] < 0 or w[4] < 0 or w[5] > w[1] + 0.5 or w[6] > w[2] + 0.5]
    assert outside == []
    text = pdf_text(out)
    assert url in text and text.count("X") == len(token)  # all of it shown, over several pages
    headers: dict[int, str] = {}
    for w in words:
        if w[6] < 24 / 25.4 * 72:  # above the top margin: the running header
            headers[w[0]] = headers.get(w[0], "") + w[7]
    assert headers and all(h == "测试县" + "A" * 36 + "…示范县创建指引与评分细则" for h in headers.values())


@pytest.mark.parametrize("tag", PAYLOADS)
def test_templates_cannot_fetch_outside_files(tmp_path: Path, tag: str) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "self_evaluation.html").write_text(f"<html><body><p>{{{{ report.assessee }}}}</p>{tag}</body></html>",
                                                     "utf-8")
    out = tmp_path / "r.pdf"
    result = report(BUNDLE, out, "--templates", str(templates))
    assert result.exit_code == 1
    assert "报告不能读取" in result.output
    assert not out.exists()


def test_template_folder_files_are_served(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "extra.css").write_text("p { color: #333; }", "utf-8")
    (templates / "self_evaluation.html").write_text(
        '<html><head><link rel="stylesheet" href="extra.css"></head><body><p>{{ report.title }}</p></body></html>',
        "utf-8")
    out = tmp_path / "r.pdf"
    assert report(BUNDLE, out, "--templates", str(templates)).exit_code == 0
    assert "测试县示范县创建自评报告" in pdf_text(out)


def test_a_paper_whose_resource_changed_is_laid_out_again(tmp_path: Path) -> None:
    """A test run lays each paper out once (tests/conftest.py): the same HTML whose stylesheet now reads
    other bytes is laid out again, and the same bytes again give the same PDF."""
    (tmp_path / "extra.css").write_text("p { color: #cc0000; }", "utf-8")
    html = '<html><head><link rel="stylesheet" href="extra.css"></head><body><p>样式</p></body></html>'
    red, _ = render.render_pdf(html, [tmp_path])
    (tmp_path / "extra.css").write_text("p { color: #0000cc; }", "utf-8")
    blue, _ = render.render_pdf(html, [tmp_path])
    assert red != blue and render.render_pdf(html, [tmp_path])[0] == blue


def _image_template(tmp_path: Path, src: str) -> Path:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "self_evaluation.html").write_text(
        f'<html><body><p>{{{{ report.title }}}}</p><img src="{src}" alt=""></body></html>', "utf-8")
    return templates


def _bundle_with_image(tmp_path: Path) -> Path:
    bundle = shutil.copytree(BUNDLE, tmp_path / "bundle")
    (bundle / "seal.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
                                     '<rect width="10" height="10"/></svg>', "utf-8")
    return bundle


@pytest.mark.parametrize("zipped", [False, True])
def test_bundle_files_are_served_through_the_bundle_checks(tmp_path: Path, zipped: bool) -> None:
    bundle = _bundle_with_image(tmp_path)
    if zipped:
        bundle = Path(shutil.make_archive(str(tmp_path / "bundle"), "zip", bundle))
    templates = _image_template(tmp_path, "bundle:seal.svg")
    ok = report(bundle, tmp_path / "r.pdf", "--templates", str(templates))
    assert ok.exit_code == 0, ok.output
    escape = tmp_path / "escape"
    escape.mkdir()
    refused = report(bundle, tmp_path / "x.pdf", "--templates", str(_image_template(escape, "bundle:../secret.svg")))
    assert refused.exit_code == 1
    assert "指向材料包之外" in refused.output
    assert not (tmp_path / "x.pdf").exists()


def test_a_resource_weasyprint_cannot_use_fails_the_render(tmp_path: Path) -> None:
    out = tmp_path / "r.pdf"
    result = report(BUNDLE, out, "--templates", str(_image_template(tmp_path, "bundle:texts/overview.txt")))
    assert result.exit_code == 1
    assert "生成 PDF 时出错" in result.output
    assert not out.exists()


def test_output_inside_the_bundle_is_refused(tmp_path: Path) -> None:
    bundle = shutil.copytree(BUNDLE, tmp_path / "bundle")
    result = report(bundle, bundle / "自评报告.pdf")
    assert result.exit_code == 1
    assert not (bundle / "自评报告.pdf").exists()


def test_a_failed_render_keeps_the_previous_file(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "_cover.html").write_text("<p>{{ report.no_such_field }}</p>", "utf-8")
    out, html = tmp_path / "r.pdf", tmp_path / "r.html"
    out.write_bytes(b"previous report")
    result = report(BUNDLE, out, "--html", str(html), "--templates", str(templates))
    assert result.exit_code == 1
    assert "报告模板出错" in result.output
    assert out.read_bytes() == b"previous report"
    assert not html.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.pdf", "templates"]


def test_a_character_no_font_has_fails_the_render(tmp_path: Path) -> None:
    bundle = shutil.copytree(BUNDLE, tmp_path / "bundle")
    manifest = bundle / "bundle.yaml"
    manifest.write_text(manifest.read_text("utf-8").replace("name: 测试县", "name: 测试县\U00030000"), "utf-8")
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "self_evaluation.html").write_text("<html><body><p>{{ report.assessee }}</p></body></html>", "utf-8")
    out = tmp_path / "r.pdf"
    result = report(bundle, out, "--templates", str(templates))
    assert result.exit_code == 1
    assert "字体无法显示的字符" in result.output and "U+30000" in result.output
    assert not out.exists()


def test_no_cjk_font_stops_with_how_to_install(tmp_path: Path) -> None:
    config = tmp_path / "fonts.conf"
    config.write_text(f'<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n'
                      f"<fontconfig><cachedir>{tmp_path / 'cache'}</cachedir></fontconfig>\n", "utf-8")
    env = {**os.environ, "FONTCONFIG_FILE": str(config), "PYTHONPATH": str(ROOT)}
    out = tmp_path / "r.pdf"
    done = subprocess.run([sys.executable, "-m", "scoring", "report", str(BUNDLE), "--rubric", str(RUBRIC),
                           "-o", str(out)], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "没有找到可用的中文字体" in done.stderr
    assert "sudo apt-get install fonts-noto-cjk" in done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists()


def test_blank_bundle_renders_a_complete_report_of_zeros(tmp_path: Path) -> None:
    blank = tmp_path / "blank"
    assert CliRunner().invoke(main, ["init", str(RUBRIC), str(blank)]).exit_code == 0
    out = tmp_path / "blank.pdf"
    result = report(blank, out)
    assert result.exit_code == 0, result.output
    text = pdf_text(out)
    assert "自评总分0分（满分20分" in text
    for ident, (_, top) in SCORES.items():
        assert f"自评得分0/{top}分" in text, ident
    assert "报告日期____年__月__日" in text
    assert "材料包中未填写本部分" in text
    assert "佐证材料目录" in text


def test_importing_and_help_do_not_load_weasyprint() -> None:
    code = ("import sys; from click.testing import CliRunner; import scoring.faces.cli, scoring.papers.report;"
            "r = CliRunner().invoke(scoring.faces.cli.main, ['report', '--help']); assert r.exit_code == 0, r.output;"
            "assert 'weasyprint' not in sys.modules, 'weasyprint imported'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(("text", "expected"), [
    ("一段\n第二行\n\n- 甲\n- 乙\n\n结尾", [("p", ("一段", "第二行")), ("ul", ("甲", "乙")), ("p", ("结尾",))]),
    ("引言：\n- 一项\n  \n\u3000\u3000缩进段落", [("p", ("引言：",)), ("ul", ("一项",)), ("p", ("缩进段落",))]),
    ("", []),
    ("<b>粗体</b>", [("p", ("<b>粗体</b>",))]),
])
def test_text_blocks(text: str, expected: list[tuple[str, tuple[str, ...]]]) -> None:
    assert [(b.kind, b.lines) for b in report_context.blocks(text)] == expected


@pytest.mark.parametrize(("title", "subject"), [
    ("县域养老服务体系建设示范创建指引与评分细则", "县域养老服务体系建设示范创建"),
    ("养老服务中心星级评定评分标准", "养老服务中心星级评定"),
    ("小测试细则", "小测试细则"),
    ("评分细则", "评分细则"),
])
def test_report_subject(title: str, subject: str) -> None:
    assert report_context.report_subject(title) == subject


def test_chinese_numbers() -> None:
    assert [render.chinese_number(n) for n in (1, 7, 10, 11, 20, 35, 100)] == ["一", "七", "十", "十一", "二十",
                                                                               "三十五", "100"]
