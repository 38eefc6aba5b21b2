"""Spreadsheet outputs are inert: text from a bundle, a review or a registry that a spreadsheet would read as
a formula (it starts with = + - @, a tab or a carriage return) is written as text in every CSV (a leading
apostrophe, OWASP's guidance) and every XLSX (a string cell), while figures stay numbers and the 自评打分表's
own SUM formulas stay formulas."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from scoring.base.text import csv_text
from scoring.faces.cli import main
from scoring.faces.desk.app import create_app
from scoring.faces.desk.folder import Folder
from scoring.jobs import rating
from scoring.loading import programme
from scoring.papers.outputs import render
from scoring.pipeline.folder import RubricChoice, find, loaded, score_files

from .conftest import LONG_TESTS, MINI, dump, make_bundle
from .test_rating import BANDS, PROGRAMME, center

SUM, LINK, MINUS, PLUS, AT = "=1+1", '=HYPERLINK("http://x","y")', "-3 分理由", "+1", "@SUM(A1)"
LEADS = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with one county named =1+1, in a folder named @SUM(A1), and a 初评 by a reviewer named
    =1+1 whose reasons and entry reviewers are the other hostile texts (one entry 待复核)."""
    root = tmp_path_factory.mktemp("inert") / "各县"
    bundle = make_bundle(root / AT, {"1.1": {"meeting": {"value": True}}}, assessee={"name": SUM})
    sha = score_files(bundle, RubricChoice.of(MINI)).bundle.sha256
    entries = {"1.1": [{"score": 2, "reason": LINK, "reviewer": PLUS}],
               "1.2": [{"score": 0, "reason": MINUS}, {"score": 0.5, "reason": PLUS, "recheck": True}],
               "2.1": [{"score": 0, "reason": AT}]}
    review = {"stage": "初评", "reviewer": SUM, "unit": LINK, "date": "2022-12-05", "rubric": "mini",
              "bundle_sha256": sha, "entries": entries}
    (root / f"{AT}_初评.yaml").write_text(dump(review), "utf-8")
    return root


def invoke(*args: str) -> None:
    done = CliRunner().invoke(main, list(args))
    assert done.exit_code == 0, done.output


def csv_cells(data: bytes, bom: bool = True) -> list[str]:
    assert data.startswith("\ufeff".encode()) or not bom
    return [cell for row in csv.reader(io.StringIO(data.decode("utf-8-sig"))) for cell in row]


def assert_guarded(cells: list[str], texts: Iterable[str]) -> None:
    """Every text is there with its apostrophe; no cell starts a formula."""
    for t in texts:
        assert "'" + t in cells, t
    assert [c for c in cells if c.startswith(LEADS)] == []


def sheet_rows(data: bytes, formulas: int = 0) -> list[list[object]]:
    """Every row's values; only the project's SUM formulas (`formulas` of them) are formulas, and no cell
    is an error."""
    wb = openpyxl.load_workbook(io.BytesIO(data))
    rows = [list(row) for ws in wb.worksheets for row in ws.iter_rows()]
    cells = [c for row in rows for c in row]
    written = [c.value for c in cells if c.data_type == "f"]
    assert len(written) == formulas and all(str(v).startswith("=SUM(") for v in written), written
    assert [c.value for c in cells if c.data_type == "e"] == []
    return [[c.value for c in row] for row in rows]


def sheet_cells(data: bytes, formulas: int = 0) -> list[object]:
    return [v for row in sheet_rows(data, formulas) for v in row]


def test_the_csv_rule() -> None:
    """OWASP's list, tab and carriage return included (the loaders strip them from the ends of a value, so
    only here); ordinary text and figures' words unchanged."""
    for text in (SUM, MINUS, PLUS, AT, "\t=1+1", "\r=1+1"):
        assert csv_text(text) == "'" + text
    for text in ("高青县", "1.1", "", "'=1+1", " =1+1", "（-3）"):
        assert csv_text(text) == text


def test_the_changes_of_a_review(county: Path, tmp_path: Path) -> None:
    for ext in ("csv", "xlsx"):
        invoke("diff", str(county / AT), "--rubric", str(MINI), "--review", str(county / f"{AT}_初评.yaml"),
               "-o", str(tmp_path / f"意见表.{ext}"))
    cells = csv_cells((tmp_path / "意见表.csv").read_bytes())
    assert_guarded(cells, (SUM, LINK, MINUS, PLUS, AT))
    assert "【待复核，暂不生效】" in "".join(cells)
    rows = sheet_rows((tmp_path / "意见表.xlsx").read_bytes())
    for text in (SUM, LINK, MINUS, PLUS, AT):
        assert text in [v for row in rows for v in row], text
    # Figures stay numbers: 1.1's self-score is 2 (the meeting's flag 2, no convener 0), the 初评's 2.
    assert rows[1][:6] == ["初评", PLUS, "1.1", "联席会议", 2, 2]


def test_the_result_workbook_keeps_its_own_formulas_only(county: Path, tmp_path: Path) -> None:
    out = tmp_path / "打分表.xlsx"
    invoke("score", str(county / AT), "--rubric", str(MINI), "--format", "xlsx", "-o", str(out))
    # Two categories: two subtotal rows and the total row, each with 分值, 自评得分 and 有据得分 as SUMs.
    values = sheet_cells(out.read_bytes(), formulas=9)
    assert any(str(v).startswith(SUM + "自评打分表") for v in values)


def test_the_city_summary_and_the_desks_download(county: Path, tmp_path: Path) -> None:
    out = tmp_path / "汇总.csv"
    invoke("review", "summary", str(county), "--rubric", str(MINI), "-o", str(out))
    cells = csv_cells(out.read_bytes())
    assert_guarded(cells, (AT, SUM))
    client = TestClient(create_app(Folder(county, MINI)), base_url="http://127.0.0.1:8000")
    assert client.get("/").status_code == 200  # downloads are offered by a page first
    assert client.get("/summary.csv").content == out.read_bytes()


@pytest.fixture(scope="module")
def rated(tmp_path_factory: pytest.TempPathFactory) -> rating.Rating:
    """One center, named @SUM(A1) in a district named =1+1, and a registry naming two more that sent
    nothing: one in a district named -3 分理由, one named =HYPERLINK(…) in a district named +1. (One bundle
    is scored in this process: no pool of workers to start.)"""
    root = tmp_path_factory.mktemp("rate")
    center(root / "centers", "C1", SUM, 58, 37)
    manifest = root / "centers" / "C1" / "bundle.yaml"
    manifest.write_text(manifest.read_text("utf-8").replace("C1中心", f"'{AT}'"), "utf-8")
    registry = root / "名册.csv"
    rows = [["编号", "名称", "区（市）"], ["C1", AT, SUM], ["C2", "C2中心", MINUS], ["C3", LINK, PLUS]]
    with registry.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    rubric = loaded(BANDS)
    plan = programme.load(PROGRAMME, rubric)
    return rating.rate(find(root / "centers"), rubric, RubricChoice.of(str(BANDS)), plan,
                       rating.read_registry(registry), None)


def test_a_committees_run(rated: rating.Rating) -> None:
    cells = csv_cells(render("rating", "csv", rated))
    assert_guarded(cells, (SUM, MINUS, PLUS, AT, LINK))
    rows = sheet_rows(render("rating", "xlsx", rated))
    for text in (SUM, MINUS, PLUS, AT, LINK):
        assert text in [v for row in rows for v in row], text
    assert rows[1][1:5] == ["C1", AT, SUM, 95]  # a figure stays a number: 58 + 37


@pytest.mark.skipif(not LONG_TESTS or shutil.which("soffice") is None,
                    reason="LibreOffice is slow to start: with SCORING_LONG_TESTS=1 and soffice installed")
def test_libreoffice_finds_the_text_not_a_formula(rated: rating.Rating, tmp_path: Path) -> None:
    """LibreOffice evaluates =1+1 in a CSV cell and in a workbook's formula cell (it did, before): it opens
    the workbook with the text as text, and the CSV with the text behind its apostrophe."""
    (tmp_path / "评定.xlsx").write_bytes(render("rating", "xlsx", rated))
    (tmp_path / "评定表.csv").write_bytes(render("rating", "csv", rated))
    utf8 = "44,34,76"  # comma, double quote, UTF-8
    for name, to in (("评定.xlsx", f"csv:Text - txt - csv (StarCalc):{utf8}"), ("评定表.csv", "xlsx")):
        subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp_path}/profile", "--headless",
                        f"--infilter=CSV:{utf8}", "--convert-to", to, "--outdir", str(tmp_path / "out"),
                        str(tmp_path / name)], check=True, capture_output=True, timeout=120)
    seen = csv_cells((tmp_path / "out" / "评定.csv").read_bytes().removeprefix(b"\xef\xbb\xbf"), bom=False)
    values = sheet_cells((tmp_path / "out" / "评定表.xlsx").read_bytes())
    for text in (SUM, MINUS, PLUS, AT, LINK):
        assert text in seen and "'" + text in values, text
