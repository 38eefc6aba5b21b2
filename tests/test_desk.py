"""The review desk (`scoring serve`): each page, saving with the CLI's checks, the version check, what it
keeps between requests and when it makes it anew, every refusal that keeps it safe (host, token, CSRF,
paths, documents served inert, oversized forms and uploads), and a real server under slow clients and 200
concurrent requests."""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import http.client
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from click.testing import CliRunner
from pypdf import PdfReader
from starlette.testclient import TestClient

from scoring.base import limits
from scoring.domain import engine
from scoring.faces.cli import main
from scoring.faces.desk import folder as desk_folder
from scoring.faces.desk import make_server
from scoring.faces.desk.app import create_app
from scoring.faces.desk.counties import counties_page
from scoring.faces.desk.folder import Folder
from scoring.loading import review
from scoring.loading.bundle import open_bundle

from .conftest import FIXTURES, MINI, ROOT, SAMPLE, copy_tree, make_bundle

ADDRESS = "http://127.0.0.1:8000"
REPORT = FIXTURES / "report"
COUNTY = "/county/高青县"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "各县材料"
    root.mkdir()
    copy_tree(SAMPLE, root / "高青县")
    copy_tree(ROOT / "evidence" / "gaoqing_2022_shortfalls", root / "示例县")
    return root


@pytest.fixture
def client(folder: Path) -> TestClient:
    return TestClient(create_app(Folder(folder)), base_url=ADDRESS)


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, name
    return found.group(1)


def post(client: TestClient, fields: dict[str, Any], url: str = COUNTY, page: str | None = None) -> Any:
    """Submit a form of the county page as a browser would: with the page's CSRF token and version."""
    html = page if page is not None else client.get(url).text
    data = {"csrf": hidden(html, "csrf"), "version": hidden(html, "version"), **fields}
    return client.post(url, data=data, follow_redirects=True)


def sign(client: TestClient) -> None:
    r = post(client, {"do": "header", "reviewer": "李明", "unit": "淄博市民政局", "date": "2022-12-05"})
    assert r.status_code == 200, r.text


def card(html: str, ident: str) -> str:
    """One indicator's card on the county page."""
    return html.split(f'id="i-{ident}"', 1)[1].split("</article>", 1)[0]


def row(html: str, name: str) -> str:
    """A county's row on the counties page."""
    return next(r.split("</tr>")[0] for r in re.split(r"<tr[ >]", html.split("<tbody>")[1]) if f">{name}</a>" in r)


def settle(root: Path) -> None:
    """Everything under `root` last written an hour ago, as the files a desk serves usually are (the desk
    does not keep what it made from a file written in the last two seconds)."""
    old = time.time_ns() - 3600 * 10**9
    for p in [root, *root.rglob("*")]:
        os.utime(p, ns=(old, old))


def edit_in_place(path: Path, old: bytes, new: bytes) -> None:
    """Replace bytes of a file by as many others, keeping its inode, size and mtime: only its ctime tells."""
    assert len(old) == len(new)
    before = path.stat()
    data = path.read_bytes()
    assert data.count(old) == 1
    with path.open("r+b") as handle:
        handle.write(data.replace(old, new))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (before.st_ino, before.st_size, before.st_mtime_ns)


def tree_hash(path: Path) -> str:
    digest = hashlib.sha256()
    for p in sorted(path.rglob("*")):
        digest.update(str(p.relative_to(path)).encode() + (p.read_bytes() if p.is_file() else b""))
    return digest.hexdigest()


def asgi(app: Any, method: str, path: str, headers: list[tuple[bytes, bytes]],
         chunks: Iterable[bytes]) -> tuple[int, str, int]:
    """The app called as a server calls it, the body arriving in `chunks`: the status, the page and how many
    bytes of the body the app took."""
    taken, body = 0, iter(chunks)
    messages: list[Any] = []

    async def receive() -> dict[str, Any]:
        nonlocal taken
        chunk = next(body, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        taken += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
             "scheme": "http", "path": path, "raw_path": quote(path).encode(), "query_string": b"",
             "root_path": "", "headers": [(b"host", b"127.0.0.1:8000"), *headers],
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000)}
    asyncio.run(app(scope, receive, send))
    status = next(m["status"] for m in messages if m["type"] == "http.response.start")
    page = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return status, page.decode(), taken


# ---------------------------------------------------------------- pages


def test_the_counties_page(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    rows = r.text.split("<tbody>")[1]
    assert "高青县" in rows and "示例县" in rows
    assert ">84.2<" in rows and ">16/16<" in rows and "未评审" in rows
    assert '/county/%E9%AB%98%E9%9D%92%E5%8E%BF' in rows  # each county links to its page
    failing = row(r.text, "示例县")  # a county failing mandatory indicators stands out and says so in words
    assert 'class="failing"' in r.text.split(">示例县</a>")[0].rsplit("<tr", 1)[1]
    assert '<b class="bad">自评结论：未达到创建标准</b>' in failing
    assert '<span class="bad">强制性指标达标 10/16</span>' in failing and "强制性指标未达标 6 项" in failing
    passing = row(r.text, "高青县")
    assert '<b class="ok">自评结论：达到创建标准</b>' in passing and "强制性指标达标 16/16" in passing
    assert "未开始初评" in passing


def test_the_county_page_shows_claims_evidence_and_the_trace(client: TestClient) -> None:
    html = client.get(COUNTY).text
    assert "高青县" in html and "初评" in html and ">84.2<" in html
    # The order a reviewer works in, as in the review file: unsupported claims (none here), mandatory first.
    assert html.index("强制性指标（16 项）") < html.index("其余指标（17 项）")
    one = card(html, "2.2")
    assert "计分过程" in one and "D12" in one and "/doc/D12" in one
    assert "工作说明" in card(html, "1.1")
    assert "定分须为" in one and 'name="reason"' in one


def test_a_review_made_in_the_desk_is_the_one_the_cli_applies(client: TestClient, folder: Path,
                                                              runner: CliRunner) -> None:
    """The city's worked 初评 of the sample, entered through the forms: the page's totals follow each
    save, and `scoring score --review` reads the file unchanged to the same figures."""
    before = tree_hash(folder / "高青县")
    sign(client)
    r = post(client, {"do": "reject", "indicator": "2.2", "target": "D12", "reason": "核查报告由县民政局自行出具。"})
    assert r.status_code == 200 and "已保存到 高青县_初评.yaml" in r.text
    unresolved = row(client.get("/").text, "高青县").split('<td class="num">')[5].split("<")[0]
    assert unresolved == "0"  # the reviewer's own 不采信 is decided, not an open flag
    r = post(client, {"do": "input", "indicator": "2.3", "target": "cases_not_implemented", "widget": "number",
                      "value": "2", "reason": "另有1家民办养老机构用水未执行居民价格。"})
    assert "1.7 → " in card(r.text, "2.3") and "<b>1.4</b>" in card(r.text, "2.3")
    r = post(client, {"do": "input", "indicator": "4.4", "target": "community_facility_level", "widget": "choice",
                      "value": "low", "reason": "实地抽查12处农村幸福院，5处未正常运营。"})
    standing = r.text.split("<tbody>")[1].split("</tbody>")[0]
    assert "<b>82.9</b>" in standing and ">81.9<" in standing  # as worked by hand in the shipped 初评
    assert "已保存。本阶段总分 82.9 分（有据 81.9 分）" in card(r.text, "4.4")  # said where the reviewer is
    assert "已保存。" not in card(r.text, "2.3")
    file = folder / "高青县_初评.yaml"
    city = review.read(ROOT / "evidence" / "gaoqing_2022_review_city.yaml").stage
    made = review.read(file).stage
    assert [(o.indicator, o.action, o.target, o.value) for o in made.overrides] == [
        (o.indicator, o.action, o.target, o.value) for o in city.overrides]
    assert (made.author, made.unit, made.date) == ("李明", "淄博市民政局", "2022-12-05")
    result = runner.invoke(main, ["score", str(folder / "高青县"), "--format", "json", "--review", str(file)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["total"], data["reviews"][0]["total"], data["reviews"][0]["supported_total"]) == (84.2, 82.9, 81.9)
    assert tree_hash(folder / "高青县") == before  # the bundle is never written
    listed = row(client.get("/").text, "高青县")  # 2.2's evidence rejected: the worked 初评 fails 强制性 2.2
    assert "初评（淄博市民政局 李明）" in listed and "初评进行中：已调整 3 项" in listed
    assert '<b class="bad">初评结论：未达到创建标准</b>' in listed and "强制性指标达标 15/16" in listed


def test_the_first_save_starts_from_the_blank_review(client: TestClient, folder: Path) -> None:
    sign(client)
    text = (folder / "高青县_初评.yaml").read_text("utf-8")
    assert "fingerprints:" in text and 'reviewer: "李明"' in text and "# 填写方法" in text


@pytest.mark.parametrize(("fields", "key", "expected"), [
    ({"do": "score", "indicator": "7.1", "value": "2.5"}, "7.1", "应在 0 至 6 分之间，且为 2 分的整数倍"),
    ({"do": "score", "indicator": "7.1", "value": "9"}, "7.1", "应在 0 至 6 分之间"),
    ({"do": "score", "indicator": "7.1", "value": "很多"}, "7.1", "应为数字"),
    ({"do": "input", "indicator": "2.3", "target": "no_such_input", "widget": "number", "value": "1"}, "2.3",
     "没有输入 “no_such_input”"),
    ({"do": "input", "indicator": "4.4", "target": "community_facility_level", "widget": "choice", "value": "bogus"},
     "4.4", "取值 “bogus” 无效"),
    ({"do": "reject", "indicator": "2.2", "target": "D01"}, "2.2", "没有引用文件 D01"),
])
def test_an_entry_is_checked_as_score_review_checks_it(client: TestClient, folder: Path, fields: dict[str, str],
                                                       key: str, expected: str) -> None:
    sign(client)
    file = folder / "高青县_初评.yaml"
    kept = file.read_bytes()
    r = post(client, {**fields, "reason": "理由"})
    assert r.status_code == 400
    assert expected in card(r.text, key)  # beside the field of the indicator it is about
    assert 'class="error"' in card(r.text, key)
    assert file.read_bytes() == kept


YAML_WORDS = re.compile(r"第 ?\d+ ?行|\b(reviewer|reason|date|score|input|reject|entries|unit)\b")
LONG_REASON = "实地抽查12处农村幸福院，5处未正常运营；" * 20


def form_of(html: str, ident: str, do: str) -> str:
    """The form of a card that posts `do`."""
    return next(f for f in card(html, ident).split("<form")[1:] if f'name="do" value="{do}"' in f).split("</form>")[0]


@pytest.mark.parametrize(("fields", "expected"), [
    ({"do": "score", "value": "2.5"}, "应在 0 至 6 分之间，且为 2 分的整数倍"),
    ({"do": "score", "value": "9"}, "应在 0 至 6 分之间"),
    ({"do": "score", "value": "abc"}, "本项得分应为数字，如 2 或 1.5，你填写的是 “abc”"),
    ({"do": "score", "value": "4"}, "本阶段已有一条定分的意见"),  # the second 定分 of one indicator
])
def test_a_refused_save_keeps_what_was_typed(client: TestClient, folder: Path, fields: dict[str, str],
                                            expected: str) -> None:
    """The score and a long reason come back in the form, the message beside it in a reviewer's words."""
    sign(client)
    first = "7.1" if "已有" in expected else "6.2"  # the file exists in every case; 7.1 has an entry in the last
    assert post(client, {"do": "score", "indicator": first, "value": "2", "reason": "第一条"}).status_code == 200
    kept = (folder / "高青县_初评.yaml").read_bytes()
    r = post(client, {**fields, "indicator": "7.1", "reason": LONG_REASON})
    assert r.status_code == 400
    form = form_of(r.text, "7.1", "score")
    assert f'value="{fields["value"]}"' in form and f">{LONG_REASON}</textarea>" in form
    said = re.search(r'<p class="error" role="alert">([^<]*)</p>', form)
    assert said and expected in said.group(1), form
    assert not YAML_WORDS.search(said.group(1)), said.group(1)
    assert 'class="adjust" open' in card(r.text, "7.1")
    assert (folder / "高青县_初评.yaml").read_bytes() == kept


def test_a_refused_correction_keeps_its_choice(client: TestClient) -> None:
    sign(client)
    r = post(client, {"do": "input", "indicator": "4.4", "target": "community_facility_level", "widget": "choice",
                      "value": "low", "reason": " "})
    assert r.status_code == 400
    form = form_of(r.text, "4.4", "input")
    assert '<option value="low" selected>' in form and "请填写理由" in form


def test_an_entry_needs_a_reviewer_and_a_date_said_at_the_header_form(client: TestClient, folder: Path) -> None:
    r = post(client, {"do": "score", "indicator": "7.1", "value": "2", "reason": LONG_REASON})
    assert r.status_code == 400
    header = r.text.split('class="header-form"')[1].split("</form>")[0]
    assert "请先在页面上方填写评审人和评审日期" in header
    assert f">{LONG_REASON}</textarea>" in form_of(r.text, "7.1", "score")  # nothing typed is lost
    assert not (folder / "高青县_初评.yaml").exists()
    r = post(client, {"do": "header", "reviewer": "李明", "unit": "淄博市民政局", "date": ""})
    assert r.status_code == 400  # the date is the reviewer's: never filled in for them
    header = r.text.split('class="header-form"')[1].split("</form>")[0]
    assert "请填写评审日期" in header and 'value="李明"' in header and 'value="淄博市民政局"' in header
    r = post(client, {"do": "header", "reviewer": "李明", "date": "2022-02-30"})
    assert r.status_code == 400 and "不是有效的日期" in r.text
    assert not (folder / "高青县_初评.yaml").exists()
    sign(client)
    post(client, {"do": "score", "indicator": "7.1", "value": "2", "reason": "理由"})
    assert review.read(folder / "高青县_初评.yaml").stage.date == "2022-12-05"


def test_the_reject_form_offers_only_documents_not_yet_rejected(client: TestClient) -> None:
    sign(client)
    form = form_of(client.get(COUNTY).text, "2.2", "reject")
    assert '<option value="">（请选择文件）</option>' in form and "selected" not in form  # nothing chosen for them
    assert '<option value="D12">' in form
    r = post(client, {"do": "reject", "indicator": "2.2", "target": "", "reason": "理由"})
    assert r.status_code == 400 and "请选择不采信的文件" in form_of(r.text, "2.2", "reject")
    post(client, {"do": "reject", "indicator": "2.2", "target": "D12", "reason": "理由"})
    html = client.get(COUNTY).text
    assert 'value="D12"' not in (form_of(html, "2.2", "reject") if 'value="reject"' in card(html, "2.2") else "")


def test_deleting_asks_first(client: TestClient) -> None:
    """No delete button sits bare on the page: each is the second step, behind 删除 (no script needed)."""
    sign(client)
    html = post(client, {"do": "score", "indicator": "7.1", "value": "2", "reason": "理由"}).text
    entry = card(html, "7.1").split('class="entries"')[1]
    confirm = entry.split('<details class="inline confirm"><summary>删除</summary>')[1].split("</details>")[0]
    assert 'value="delete"' in confirm and "确定删除" in confirm
    assert entry.count('value="delete"') == 1


@pytest.mark.parametrize("fields", [{"do": "delete", "indicator": "7.1", "index": "²"},
                                    {"do": "drop", "indicator": "7.1"}, {"do": "score", "value": "1"},
                                    {"do": "input", "indicator": "2.3", "widget": "x", "value": "1"}])
def test_a_malformed_form_is_a_400_in_chinese(client: TestClient, fields: dict[str, str]) -> None:
    sign(client)
    r = post(client, fields)
    assert r.status_code == 400 and "表单内容不完整或有误" in r.text and "Traceback" not in r.text


def test_a_save_over_a_newer_file_is_refused_and_shows_both(client: TestClient, folder: Path) -> None:
    sign(client)
    stale = client.get(COUNTY).text  # one reviewer's page …
    r = post(client, {"do": "score", "indicator": "7.1", "value": "2", "reason": "另一位评审人的意见"})
    assert r.status_code == 200  # … while another saves first
    r = post(client, {"do": "score", "indicator": "7.1", "value": "4", "reason": "我的意见"}, page=stale)
    assert r.status_code == 409
    assert "已被修改" in r.text
    conflict = r.text.split('class="conflict"')[1].split("</section>")[0]
    assert "我的意见" in conflict and "另一位评审人的意见" in conflict
    entries = review.read(folder / "高青县_初评.yaml").stage.overrides
    assert [(o.value, o.reason) for o in entries] == [(2, "另一位评审人的意见")]


def test_deleting_an_entry(client: TestClient, folder: Path) -> None:
    sign(client)
    post(client, {"do": "score", "indicator": "7.1", "value": "2", "reason": "理由"})
    r = post(client, {"do": "delete", "indicator": "7.1", "index": "0"})
    assert r.status_code == 200
    assert review.read(folder / "高青县_初评.yaml").stage.overrides == ()


def test_acceptance_needs_the_preliminary_review_first(client: TestClient, folder: Path) -> None:
    url = COUNTY + "?stage=验收"
    html = client.get(url).text
    assert "还没有初评意见" in html and 'name="reason"' not in html
    csrf = hidden(client.get(COUNTY).text, "csrf")  # the session's token, as the 初评 page's forms carry it
    r = client.post(url, data={"csrf": csrf, "version": "", "do": "header", "reviewer": "王芳", "date": "2022-12-05"})
    assert r.status_code == 400 and "还没有初评意见" in r.text
    assert not list(folder.glob("*验收*.yaml"))


def test_downloads(client: TestClient, folder: Path) -> None:
    sign(client)
    post(client, {"do": "score", "indicator": "7.1", "value": "2", "reason": "不作为特色创新计分"})
    r = client.get(COUNTY + "/review.yaml?stage=初评")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    assert r.content == (folder / "高青县_初评.yaml").read_bytes()
    csv = client.get(COUNTY + "/diff.csv?stage=初评")
    assert csv.status_code == 200 and "不作为特色创新计分" in csv.content.decode("utf-8-sig")
    assert client.get(COUNTY + "/diff.json").json()["stages"][0]["after"]["total"] == 82.2
    pdf = client.get(COUNTY + "/diff.pdf")
    assert pdf.content.startswith(b"%PDF") and pdf.headers["content-type"] == "application/pdf"
    assert "高青县" in client.get("/summary.csv").content.decode("utf-8-sig")
    assert client.get(COUNTY + "/diff.xls").status_code == 404


def test_the_report_download(tmp_path: Path) -> None:
    # The report fixture's county: the same download as the sample's, a third of its pages to render.
    root = tmp_path / "各县"
    copy_tree(REPORT / "bundle", root / "测试县")
    client = TestClient(create_app(Folder(root, REPORT / "rubric.yaml")), base_url=ADDRESS)
    client.get("/county/测试县")  # a session of the desk's pages
    r = client.get("/county/测试县/report.pdf")
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert "filename*=UTF-8''" in r.headers["content-disposition"]
    assert PdfReader(io.BytesIO(r.content)).metadata["/Title"] == "测试县示范县创建自评报告"


# ---------------------------------------------------------------- what the desk keeps between requests


def test_unchanged_counties_are_not_loaded_or_scored_again(client: TestClient, folder: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    settle(folder)
    made: list[str] = []
    real_score, real_open = engine.score, desk_folder.open_bundle
    monkeypatch.setattr(engine, "score", lambda *a: made.append("score") or real_score(*a))
    monkeypatch.setattr(desk_folder, "open_bundle", lambda *a: made.append("open") or real_open(*a))
    for url in ("/", COUNTY, COUNTY + "?stage=验收"):
        assert client.get(url).status_code == 200
    assert made.count("open") == 2 and made.count("score") == 4  # each county's row, then 初评 and 验收
    first = len(made)
    for url in ("/", COUNTY, COUNTY + "?stage=验收", "/"):
        assert client.get(url).status_code == 200
    assert len(made) == first


def test_a_review_file_edited_on_disk_is_seen_on_the_next_request(client: TestClient, folder: Path) -> None:
    sign(client)
    post(client, {"do": "score", "indicator": "7.1", "value": "2", "reason": "甲乙丙丁"})
    settle(folder)
    assert "甲乙丙丁" in card(client.get(COUNTY).text, "7.1")
    assert ">82.2<" in row(client.get("/").text, "高青县")
    # Another hand (a text editor, the CLI) changes the score and the reason, keeping the file's inode,
    # size and mtime: the next pages show the file as it is now.
    file = folder / "高青县_初评.yaml"
    edit_in_place(file, "甲乙丙丁".encode(), "戊己庚辛".encode())
    edit_in_place(file, b"- score: 2\n", b"- score: 4\n")
    html = client.get(COUNTY).text
    unlogged = re.sub(r'<details class="log">.*?</details>', "", html, flags=re.S)  # the log keeps history
    assert "戊己庚辛" in card(html, "7.1") and "甲乙丙丁" not in unlogged
    assert "文件在最后一次保存之后被修改过" in html  # and says the file changed outside the desk
    assert ">84.2<" in row(client.get("/").text, "高青县")
    # The version a form carries is the file's as it is now: a page made before the edit cannot save over it.
    r = post(client, {"do": "delete", "indicator": "7.1", "index": "0"}, page=html.replace(hidden(html, "version"), "0" * 64))
    assert r.status_code == 409
    r = post(client, {"do": "delete", "indicator": "7.1", "index": "0"})
    assert r.status_code == 200 and review.read(file).stage.overrides == ()
    assert "戊己庚辛" not in re.sub(r'<details class="log">.*?</details>', "", r.text, flags=re.S)
    assert "删除 指标 7.1 定分为 4（理由：戊己庚辛）" in r.text  # the 修改记录 says what was deleted


def test_a_bundle_replaced_or_a_document_changed_is_seen_on_the_next_request(client: TestClient,
                                                                             folder: Path) -> None:
    settle(folder)
    assert ">84.2<" in row(client.get("/").text, "高青县")
    assert "哈希不符" not in client.get(COUNTY).text
    other = row(client.get("/").text, "示例县").split("</td>", 2)[2]  # its figures, after the name and assessee
    shutil.rmtree(folder / "高青县")
    copy_tree(ROOT / "evidence" / "gaoqing_2022_shortfalls", folder / "高青县")
    settle(folder)
    assert row(client.get("/").text, "高青县").split("</td>", 2)[2] == other
    assert ">84.2<" not in client.get(COUNTY).text
    # One document changed in place, its size and mtime kept: the bundle's hash check sees it.
    shutil.rmtree(folder / "高青县")
    copy_tree(SAMPLE, folder / "高青县")
    settle(folder)
    html = client.get(COUNTY).text
    assert ">84.2<" in html and "哈希不符" not in html
    bundle = open_bundle(folder / "高青县")
    doc = folder / "高青县" / bundle.documents["D12"].file
    first = doc.read_bytes()[:1]
    edit_in_place(doc, doc.read_bytes(), bytes([first[0] ^ 1]) + doc.read_bytes()[1:])
    assert "哈希不符" in card(client.get(COUNTY).text, "2.2")
    doc.unlink()  # a named file removed
    assert "文件缺失" in card(client.get(COUNTY).text, "2.2")


def test_what_the_desk_keeps_is_bounded(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settle(folder)
    monkeypatch.setattr(desk_folder, "KEPT", 3)
    served = Folder(folder)
    counties_page(served)
    served.case("高青县", "初评")
    served.case("示例县", "验收")
    assert len(served.kept.values) == 3
    assert list(served.kept.values)[-1] == ("case", "示例县", "验收")  # the most recent stay


# ---------------------------------------------------------------- safety


def test_every_response_is_nosniff_with_a_strict_policy(client: TestClient) -> None:
    for url in ("/", COUNTY, "/desk.css", "/county/none"):
        r = client.get(url)
        assert r.headers["x-content-type-options"] == "nosniff"
        assert "default-src 'none'" in r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        # Not no-referrer: under it a browser's own form posts come with "Origin: null" and are refused.
        assert r.headers["referrer-policy"] == "same-origin"


def test_another_host_name_is_refused(client: TestClient) -> None:
    """A page of another site that a DNS name points at 127.0.0.1 does not reach the desk."""
    assert client.get("/", headers={"host": "evil.example:8000"}).status_code == 400
    assert client.get("/", headers={"host": "localhost:8000"}).status_code == 200


def test_a_token_is_required_off_the_loopback_address(folder: Path) -> None:
    client = TestClient(create_app(Folder(folder), hosts=None, token="s3cret-token"), base_url="http://10.0.0.5:8000")
    assert client.get("/").status_code == 403
    assert client.get(COUNTY).status_code == 403
    assert client.get("/?token=wrong").status_code == 403
    first = client.get("/?token=s3cret-token", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/"
    assert "httponly" in first.headers["set-cookie"].lower() and "samesite=strict" in first.headers["set-cookie"].lower()
    assert client.get("/").status_code == 200  # the cookie carries it from now on
    assert client.get(COUNTY).status_code == 200


def test_forms_need_the_csrf_token(client: TestClient, folder: Path) -> None:
    html = client.get(COUNTY).text
    base = {"version": hidden(html, "version"), "do": "header", "reviewer": "李明", "date": "2022-12-05"}
    assert client.post(COUNTY, data=base).status_code == 403
    assert client.post(COUNTY, data={**base, "csrf": "x" * 43}).status_code == 403
    fresh = TestClient(create_app(Folder(folder)), base_url=ADDRESS)  # another browser: another cookie
    assert fresh.post(COUNTY, data={**base, "csrf": hidden(html, "csrf")}).status_code == 403
    # A cookie planted by someone else (another site on this machine can set cookies for 127.0.0.1) is not
    # adopted: a session is one the desk made, and its token is the desk's, with or without an Origin.
    planted = TestClient(create_app(Folder(folder)), base_url=ADDRESS, cookies={"desk_session_8000": "p" * 43})
    for token in ("p" * 43, hidden(html, "csrf")):
        assert planted.post(COUNTY, data={**base, "csrf": token}).status_code == 403
    assert planted.cookies.get("desk_session_8000", domain="127.0.0.1") not in (None, "p" * 43)  # replaced
    other_site = client.post(COUNTY, data={**base, "csrf": hidden(html, "csrf")},
                             headers={"origin": "http://evil.example"})
    assert other_site.status_code == 403
    assert not (folder / "高青县_初评.yaml").exists()
    own_site = client.post(COUNTY, data={**base, "csrf": hidden(html, "csrf")}, headers={"origin": ADDRESS},
                           follow_redirects=False)
    assert own_site.status_code == 303 and (folder / "高青县_初评.yaml").exists()


def test_an_oversized_form_is_refused_before_it_is_read(folder: Path) -> None:
    app = create_app(Folder(folder))
    endless = (b"a" * 65536 for _ in range(1_000_000))  # 64 GB, if it were read to the end
    announced = [(b"content-type", FORM.encode()), (b"content-length", str(limits.FORM_BYTES + 1).encode())]
    status, page, taken = asgi(app, "POST", COUNTY, announced, endless)
    assert (status, taken) == (413, 0)  # refused by its Content-Length: not a byte read
    assert "提交的内容过大" in page and "1024 KB" in page
    status, page, taken = asgi(app, "POST", COUNTY, [(b"content-type", FORM.encode())], endless)  # chunked
    assert status == 413 and "提交的内容过大" in page
    assert limits.FORM_BYTES < taken <= limits.FORM_BYTES + 65536  # counted as it came, refused past the limit
    at_limit = b"x=" + b"a" * (limits.FORM_BYTES - 2)
    status, page, taken = asgi(app, "POST", COUNTY, [(b"content-type", FORM.encode())], [at_limit])
    assert status == 403 and "CSRF" in page  # a form at the limit is read whole, then checked as any other
    assert not (folder / "高青县_初评.yaml").exists()


def test_an_upload_is_refused(client: TestClient, folder: Path) -> None:
    """The desk has no uploads: its forms are the browser's plain kind, and a multipart form (a file
    upload) is refused before it is parsed, with a valid CSRF token too (415); a large one by its size
    first (413)."""
    html = client.get(COUNTY).text
    fields = {"csrf": hidden(html, "csrf"), "version": hidden(html, "version"), "do": "header", "reviewer": "李明",
              "date": "2022-12-05"}
    r = client.post(COUNTY, data=fields, files={"file": ("证明.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")})
    assert r.status_code == 415 and "不接受上传文件" in r.text
    r = client.post(COUNTY, data=fields, files={"file": ("大.pdf", b"a" * limits.FORM_BYTES, "application/pdf")})
    assert r.status_code == 413 and "提交的内容过大" in r.text
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["connection"] == "close"
    r = client.post(COUNTY, content=json.dumps(fields), headers={"content-type": "application/json"})
    assert r.status_code == 415
    assert not (folder / "高青县_初评.yaml").exists()
    assert client.post(COUNTY, data=fields, follow_redirects=False).status_code == 303  # the plain form saves


@pytest.mark.parametrize("path", [
    "/county/%2E%2E", "/county/..%2F..%2Fetc%2Fpasswd", "/county/%2e%2e/doc/D01", "/county/高青县%2Fdocuments",
    "/county/高青县/doc/..%2Fbundle.yaml", "/county/高青县/doc/D99", "/county/高青县/doc/documents%2FD01",
    "/county/outside", "/county/高青县?stage=自评", "/county/高青县?stage=../x", "/desk.css/..%2F..%2Fbase.html",
])
def test_paths_cannot_leave_the_folder(client: TestClient, folder: Path, path: str) -> None:
    os.symlink(folder.parent / "elsewhere", folder / "outside")
    copy_tree(SAMPLE, folder.parent / "elsewhere")
    r = client.get(path)
    assert r.status_code == 404, path
    assert "找不到页面" in r.text


def test_a_symlink_out_of_the_folder_is_not_a_county(client: TestClient, folder: Path) -> None:
    copy_tree(SAMPLE, folder.parent / "elsewhere")
    os.symlink(folder.parent / "elsewhere", folder / "链接县")
    page = client.get("/").text
    assert 'href="/county/%E9%93%BE%E6%8E%A5%E5%8E%BF' not in page  # not a county
    assert "链接县 是指向目录之外" in page  # but said, as the summary says it
    assert client.get("/county/链接县").status_code == 404



def test_stale_temporary_files_of_ours_are_removed_at_start(folder: Path) -> None:
    """A save killed mid-write leaves its temporary file; the next desk on the folder removes it, and only
    ours (by their name) and only those whose process is gone (another desk may be writing one now)."""
    from scoring.base import files

    ours = f"{files.TEMP_PREFIX}{files._HOST}"
    dead = _gone_pid()
    stale, live, other = (folder / f"{ours}.{dead}.高青县_初评.yaml.ab12cd34", folder / f"{ours}.{os.getpid()}.x.yaml.1",
                          folder / ".notes.tmp")
    for p in (stale, live, other):
        p.write_text("x")
    Folder(folder)
    assert not stale.exists() and live.exists() and other.exists()


def _gone_pid() -> int:
    """The id of a process that has ended."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_pages_and_messages_name_no_machine_path(client: TestClient, folder: Path) -> None:
    (folder / "坏文件_初评.yaml").write_text("stage: 初评\nrubric: [\n", "utf-8")  # a review file that cannot be read
    home = client.get("/").text
    assert "坏文件_初评.yaml，第 3 行" in home and "评审目录：各县材料" in home
    sign(client)
    refused = post(client, {"do": "score", "indicator": "7.1", "value": "2", "reason": "理由"},
                   url=COUNTY + "?stage=验收")  # 验收 not signed yet
    assert refused.status_code == 400 and "请先在页面上方填写评审人" in refused.text
    for html in (home, client.get(COUNTY).text, refused.text, client.get("/county/none").text):
        assert str(folder.parent) not in html and "/tmp" not in html

@pytest.fixture
def hostile(tmp_path: Path) -> TestClient:
    """A county whose bundle carries markup in its text and documents that a browser would run."""
    root = tmp_path / "各县"
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    make_bundle(root / "坏县", {"1.1": {"meeting": {"value": True, "documents": ["D1", "D2", "D3", "D4", "D5", "D6"]}}},
                documents={"D1": ("a.html", b"<script>alert(1)</script>", "2022-01-01"),
                           "D2": ("b.svg", svg, "2022-01-01"),
                           "D3": ("c.txt", "纯文本<b>".encode(), "2022-01-01"),
                           "D4": ("d.pdf", b"%PDF-1.4\n%%EOF\n", "2022-01-01"),
                           "D5": ("e.txt", "中文".encode("gbk"), "2022-01-01"),
                           "D6": ("f.png", b"\x89PNG\r\n\x1a\n", "2022-01-01")},
                assessee={"name": "<script>alert('县')</script>"})
    manifest = root / "坏县" / "bundle.yaml"
    manifest.write_text(manifest.read_text("utf-8").replace("title: 文件D1", "title: <img src=x onerror=alert(1)>"),
                        "utf-8")
    return TestClient(create_app(Folder(root, MINI)), base_url=ADDRESS)


def test_bundle_text_is_escaped(hostile: TestClient) -> None:
    for url in ("/", "/county/坏县"):
        html = hostile.get(url).text
        assert "<script>" not in html and "<img src=x" not in html, url
    assert "&lt;script&gt;" in hostile.get("/county/坏县").text


@pytest.mark.parametrize(("doc", "kind", "inline"), [
    ("D1", "application/octet-stream", False), ("D2", "application/octet-stream", False),
    ("D4", "application/pdf", True), ("D6", "image/png", True),
])
def test_documents_are_served_inert(hostile: TestClient, doc: str, kind: str, inline: bool) -> None:
    r = hostile.get(f"/county/坏县/doc/{doc}")
    assert r.status_code == 200
    assert r.headers["content-type"] == kind
    assert r.headers["content-disposition"].startswith("inline" if inline else "attachment")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-security-policy"].startswith("default-src 'none'")
    if doc != "D4":
        assert "sandbox" in r.headers["content-security-policy"]


@pytest.mark.parametrize(("doc", "text"), [("D3", "纯文本&lt;b&gt;"), ("D5", "中文")])
def test_text_documents_are_shown_with_the_county_and_the_title(hostile: TestClient, doc: str, text: str) -> None:
    r = hostile.get(f"/county/坏县/doc/{doc}")
    assert r.status_code == 200 and r.headers["content-type"] == "text/html; charset=utf-8"
    assert f"&lt;script&gt;alert(&#39;县&#39;)&lt;/script&gt;：{doc} 文件{doc}" in r.text  # county, id and title
    assert f'<pre class="document">{text}</pre>' in r.text  # as text, escaped (GBK read as such)
    assert "default-src 'none'" in r.headers["content-security-policy"]


# ---------------------------------------------------------------- the command


def test_serve_starts_prints_the_address_and_stops_on_ctrl_c(folder: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (folder / "评审人.txt").write_text("# 初评\n王芳@淄博市民政局\n", "utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "scoring", "serve", str(folder), "--port", str(port),
                             "--reviewer", "李明@淄博市民政局", "--reviewers", str(folder / "评审人.txt")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert f"http://127.0.0.1:{port}/" in line
        printed = [proc.stdout.readline() for _ in range(3)] if proc.stdout else []
        assert "个人登录链接" in printed[0]  # on the loopback address too
        links = [re.search(r"(http://\S+/signin/\S+)", x) for x in printed[1:]]
        assert "李明（淄博市民政局）" in printed[1] and "王芳（淄博市民政局）" in printed[2] and all(links)
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                    assert "高青县" in r.read().decode()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the desk did not answer")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "已停止" in out


def test_serve_refusals(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["serve", str(tmp_path / "none")])
    assert result.exit_code == 1 and "评审目录不存在" in result.output
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        result = runner.invoke(main, ["serve", str(tmp_path), "--port", str(s.getsockname()[1])])
    assert result.exit_code == 1 and "--port" in result.output


# ---------------------------------------------------------------- the largest forms within the limits


def _cpu_of(step: Any) -> tuple[Any, float]:
    start = time.process_time()
    done = step()
    return done, time.process_time() - start


def test_the_largest_forms_are_answered_within_the_pages_target(client: TestClient, folder: Path) -> None:
    """bench/run.py's target for a desk page (p99 within a second), for the largest forms the limits let through,
    generated from them by name: a list correction of LIST_ITEMS items of ITEM_CHARS characters (Chinese, nine
    bytes each percent-encoded) just within FORM_BYTES is read and refused for the review budget, and the page
    comes back with all of it typed; one of REVIEW_CHARS is saved and shown. CPU time, not the clock (the
    machine is shared)."""
    sign(client)

    def items(count: int, word: str) -> str:  # each different, as a list may hold each item once
        return "\n".join(f"{k:03d}" + word * (limits.ITEM_CHARS - 3) for k in range(count))

    largest = items(limits.LIST_ITEMS, "政")
    fields = {"do": "input", "indicator": "2.5", "target": "innovative_policies", "widget": "lines", "reason": "核实"}
    page = client.get(COUNTY).text
    body = urlencode({"csrf": hidden(page, "csrf"), "version": hidden(page, "version"), **fields, "value": largest})
    assert limits.FORM_BYTES * 0.8 < len(body) <= limits.FORM_BYTES
    refused, seconds = _cpu_of(lambda: post(client, {**fields, "value": largest}, page=page))
    assert refused.status_code == 400 and largest in refused.text and seconds < 1, seconds
    said = re.findall(r'role="alert">([^<]*)', refused.text)[-1]
    assert said.startswith("评审意见文字合计过长（") and f"上限 {limits.REVIEW_CHARS} 字" in said and "指标 2.5" in said
    room = limits.REVIEW_CHARS - len("李明") - len("核实") - len("innovative_policies")  # the entry's other words
    kept = items(room // (limits.ITEM_CHARS + 1), "策")
    saved, seconds = _cpu_of(lambda: post(client, {**fields, "value": kept}))
    assert saved.status_code == 200 and "已保存" in saved.text and seconds < 1, seconds
    shown, seconds = _cpu_of(lambda: client.get(COUNTY))
    assert kept.split("\n")[0] in shown.text and seconds < 1, seconds
    assert len(review.read(folder / "高青县_初评.yaml").stage.overrides[0].value) == room // (limits.ITEM_CHARS + 1)


# ---------------------------------------------------------------- a real server under load


@pytest.fixture
def live(folder: Path) -> Iterator[int]:
    """The desk on uvicorn as `scoring serve` configures it (make_server), on a free loopback port, in a
    thread of this process; its port. Stopped when the test ends."""
    copy_tree(ROOT / "evidence" / "gaoqing_2022_evidence_problems", folder / "问题县")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = make_server(create_app(Folder(folder)), "127.0.0.1", port)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if server.started:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the desk did not start")
        yield port
    finally:
        server.should_exit = True
        thread.join(10)


def call(port: int, method: str, path: str) -> tuple[int, str]:
    """One request on its own connection, with no cookie: the status and the page, redirects not followed."""
    return Visitor(port).go(method, path)


def test_downloads_are_made_a_few_at_a_time(live: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Eight reports asked for at once: all are answered, never more than limits.RENDERS made together."""
    from scoring.papers import outputs

    running, most, lock = 0, 0, threading.Lock()

    def render(*args: Any) -> bytes:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.3)
        with lock:
            running -= 1
        return b"%PDF-1.7"

    monkeypatch.setattr(outputs, "render", render)
    reviewers = [Visitor(live) for _ in range(4)]
    for reviewer in reviewers:
        reviewer.go("GET", COUNTY)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda n: reviewers[n % 4].go("GET", COUNTY + "/report.pdf")[0], range(8)))
    assert answers == [200] * 8
    assert most == limits.RENDERS == 2


def test_downloads_that_render_need_the_desks_own_page(live: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """A page of another site cannot make the desk render (a plain GET from it is refused by the browser's
    Sec-Fetch-Site, and it has no session), and one session's queue of downloads is bounded."""
    from scoring.papers import outputs

    monkeypatch.setattr(outputs, "render", lambda *args: time.sleep(0.5) or b"%PDF-1.7")
    assert call(live, "GET", COUNTY + "/report.pdf")[0] == 403  # no session: not from the desk's page
    reviewer = Visitor(live)
    reviewer.go("GET", COUNTY)
    for site in ("cross-site", "same-site"):
        status, page = reviewer.go("GET", COUNTY + "/report.pdf", headers={"Sec-Fetch-Site": site})
        assert status == 403 and "拒绝跨站下载" in page
    assert reviewer.go("GET", COUNTY + "/report.pdf", headers={"Sec-Fetch-Site": "same-origin"})[0] == 200
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: reviewer.go("GET", COUNTY + "/report.pdf"), range(8)))
    statuses = sorted(a[0] for a in answers)
    assert statuses.count(200) >= limits.RENDERS_QUEUED and 429 in statuses, statuses
    assert all("下载过多" in page for status, page in answers if status == 429)


def test_slow_clients_cannot_hold_the_server(live: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Connections that send half a request and then a byte now and then: a normal request is answered at
    once while they wait, and each of them is closed at the deadline, however it dribbles."""
    monkeypatch.setattr(limits, "REQUEST_SECONDS", 1)
    assert call(live, "GET", "/")[0] == 200
    head = f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{live}\r\n".encode()
    post = (f"POST {quote(COUNTY)} HTTP/1.1\r\nHost: 127.0.0.1:{live}\r\nContent-Type: {FORM}\r\n"
            "Content-Length: 1000\r\n\r\ndo=").encode()
    slow = [socket.create_connection(("127.0.0.1", live)) for _ in range(100)]
    try:
        for n, s in enumerate(slow):
            s.sendall(post if n % 2 else head)
        started = time.monotonic()
        status, page = call(live, "GET", "/")
        assert status == 200 and "高青县" in page
        assert time.monotonic() - started < 1
        closed: set[int] = set()
        give_up = time.monotonic() + limits.REQUEST_SECONDS + 4
        while len(closed) < len(slow) and time.monotonic() < give_up:
            for n, s in enumerate(slow):
                if n not in closed:
                    try:
                        s.sendall(b"X" if n % 2 else b"X-Slow: 1\r\n")  # more bytes buy no more time
                    except OSError:
                        closed.add(n)
            time.sleep(0.1)
        assert len(closed) == len(slow)
        assert call(live, "GET", COUNTY)[0] == 200
    finally:
        for s in slow:
            s.close()


def test_a_real_server_refuses_oversized_requests_at_once(live: int) -> None:
    """Over a real connection: a form that announces too many bytes is answered without a byte of it sent,
    and a chunked one as soon as it has passed the limit, without its end; headers that pass HEADER_BYTES
    before their end are refused by uvicorn itself (400, worded by the desk). Each time the connection is
    closed at once. Headers just within the limit get their page."""
    head = f"POST {quote(COUNTY)} HTTP/1.1\r\nHost: 127.0.0.1:{live}\r\nContent-Type: {FORM}\r\n"
    for request, status, text in (
            (f"{head}Content-Length: {10**12}\r\n\r\n".encode(), 413, "提交的内容过大"),
            (f"{head}Transfer-Encoding: chunked\r\n\r\n{limits.FORM_BYTES + 1:x}\r\n".encode()
             + b"a" * (limits.FORM_BYTES + 1), 413, "提交的内容过大"),
            (f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{live}\r\nX-Long: {'a' * 2 * limits.HEADER_BYTES}".encode(),
             400, "请求无法识别"),  # headers still coming past the limit
            (f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{live}\r\nX-Long: {'a' * (limits.HEADER_BYTES + 100)}\r\n\r\n"
             .encode(), 431, "请求头过长")):  # a whole one, sent in one piece, just past the limit
        with socket.create_connection(("127.0.0.1", live), timeout=5) as s:
            s.sendall(request)
            answer = b""
            while got := s.recv(65536):  # the server answers, then closes the connection
                answer += got
        assert answer.startswith(f"HTTP/1.1 {status} ".encode()), answer[:100]
        assert text.encode() in answer
    # Headers just within HEADER_BYTES: the page, within the page's target (CPU time, the server's included).
    within = f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{live}\r\nConnection: close\r\nX-Long: "
    within += "a" * (limits.HEADER_BYTES - len(within) - 100) + "\r\n\r\n"
    start = time.process_time()
    with socket.create_connection(("127.0.0.1", live), timeout=5) as s:
        s.sendall(within.encode())
        answer = b""
        while got := s.recv(65536):
            answer += got
    assert answer.startswith(b"HTTP/1.1 200 ") and "各县材料".encode() in answer and time.process_time() - start < 1


@pytest.mark.slow
def test_two_hundred_concurrent_requests_lose_and_mix_up_nothing(live: int, folder: Path) -> None:
    """200 requests from 20 clients at once: pages of three counties, documents, and review entries
    posted to different counties and indicators, each with its own reason. No answer is an error; every
    entry is in its county's review file exactly once; each county's page shows its own entries and no
    other county's. The first save of every entry is made from a page fetched before any of them is
    posted, so the saves to one county race from one version of its file: exactly one of them is kept
    and every other is refused (409), as it must be; each refused client makes it again from a fresh
    page, as a reviewer would."""
    counties = ["高青县", "示例县", "问题县"]
    reviewer = Visitor(live)
    for name in counties:  # each county's 初评 signed first, as a reviewer starts
        page = reviewer.go("GET", f"/county/{name}")[1]
        fields = reviewer.form(page, {"do": "header", "reviewer": "李明", "unit": "淄博市民政局", "date": "2022-12-05"})
        assert reviewer.go("POST", f"/county/{name}", fields)[0] == 303
    indicators = ["1.1", "2.1", "3.3", "5.1", "6.2"]
    entries = [(name, ind, f"{name}第{ind}项理由{n}") for n, (name, ind) in
               enumerate((c, i) for c in counties for i in indicators)]  # 15 entries, 5 racing per county
    reads = ["/", "/county/高青县", "/county/示例县?stage=初评", "/county/问题县", "/county/高青县/doc/D01",
             "/desk.css"]
    jobs: list[Any] = [*entries, *(reads[n % len(reads)] for n in range(200 - 2 * len(entries)))]
    jobs.sort(key=lambda job: hashlib.sha256(str(job).encode()).digest())  # mixed, the same order each run
    statuses: list[int] = []
    first_saves: dict[str, list[int]] = {name: [] for name in counties}
    lock = threading.Lock()
    fetched = threading.Barrier(len(entries))  # fewer than the clients: the others keep serving the reads

    took: list[float] = []  # each read of a page, in seconds

    def run(job: Any) -> None:
        if isinstance(job, str):
            begun = time.monotonic()
            got = [call(live, "GET", job)[0]]
            with lock:
                took.append(time.monotonic() - begun)
        else:
            name, ind, reason = job
            got = []
            for attempt in range(50):
                status, page = reviewer.go("GET", f"/county/{name}")
                got.append(status)
                if attempt == 0:
                    fetched.wait(timeout=60)
                fields = reviewer.form(page, {"do": "score", "indicator": ind, "value": "0", "reason": reason})
                got.append(reviewer.go("POST", f"/county/{name}", fields)[0])
                if attempt == 0:
                    with lock:
                        first_saves[name].append(got[-1])
                if got[-1] != 409:
                    break
        with lock:
            statuses.extend(got)

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        list(pool.map(run, jobs))
    assert time.monotonic() - started < 40
    took.sort()
    print(f"\npage reads: {len(took)}, median {took[len(took) // 2]:.3f} s, p99 {took[-max(1, len(took) // 100)]:.3f} s")
    assert len(statuses) >= 200
    assert set(statuses) <= {200, 303, 409}, sorted(set(statuses))
    assert statuses.count(303) == len(entries)
    # Of the saves made from one version, one is kept and the rest refused.
    assert {name: sorted(got) for name, got in first_saves.items()} == {
        name: [303] + [409] * (len(indicators) - 1) for name in counties}, first_saves
    for name in counties:
        filed = review.read(folder / f"{name}_初评.yaml")
        assert filed.bundle_sha256 == open_bundle(folder / name).sha256
        made = [(o.indicator, o.reason) for o in filed.stage.overrides]
        assert sorted(made) == sorted((ind, reason) for county, ind, reason in entries if county == name)
        html = call(live, "GET", f"/county/{name}")[1]
        assert all((reason in html) == (county == name) for county, _, reason in entries)


# ---------------------------------------------------------------- two desks on one folder


class Visitor:
    """One browser of a desk on a real server: keeps the cookies it is given, sends the page's hidden fields."""

    def __init__(self, port: int) -> None:
        self.port, self.cookies = port, dict[str, str]()

    def go(self, method: str, path: str, fields: dict[str, str] | None = None,
           headers: dict[str, str] | None = None) -> tuple[int, str]:
        """One request on its own connection: the status and the page, redirects not followed."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            headers = dict(headers or {})
            if self.cookies:
                headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            body = None
            if fields is not None:
                body, headers["Content-Type"] = urlencode(fields), FORM
            conn.request(method, quote(path, safe="/?=&"), body=body, headers=headers)
            answer = conn.getresponse()
            for value in answer.headers.get_all("set-cookie") or []:
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";")[0]
            return answer.status, answer.read().decode()
        finally:
            conn.close()

    def form(self, page: str, fields: dict[str, str]) -> dict[str, str]:
        return {"csrf": hidden(page, "csrf"), "version": hidden(page, "version"), **fields}


@pytest.fixture
def two_desks(folder: Path) -> Iterator[tuple[int, int]]:
    """Two `scoring serve` processes on one folder, as two reviewers' machines on a shared drive."""
    ports, procs = [], []
    for _ in range(2):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.append(int(s.getsockname()[1]))
        procs.append(subprocess.Popen([sys.executable, "-m", "scoring", "serve", str(folder), "--port", str(ports[-1])],
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    try:
        for proc in procs:
            assert proc.stdout and "评审工作台已启动" in proc.stdout.readline()
        for port in ports:
            for _ in range(100):
                try:
                    Visitor(port).go("GET", "/desk.css")
                    break
                except OSError:
                    time.sleep(0.05)
        yield ports[0], ports[1]
    finally:
        for proc in procs:
            proc.terminate()
            proc.communicate(timeout=10)


def test_two_desks_on_one_folder_never_lose_an_entry(two_desks: tuple[int, int], folder: Path) -> None:
    """Two reviewers save at the same instant, each from the page they opened, on two desk processes: one
    is saved, the other refused as stale with what changed and their own input kept; round after round, no
    entry is ever lost, the first save of a new file included."""
    one, two = Visitor(two_desks[0]), Visitor(two_desks[1])
    first = one.go("GET", COUNTY)[1]
    header = {"do": "header", "reviewer": "李明", "unit": "淄博市民政局", "date": "2022-12-05"}
    pages = [first, two.go("GET", COUNTY)[1]]
    fields = [one.form(pages[0], header), two.form(pages[1], {**header, "reviewer": "王芳"})]
    indicators = ["1.1", "1.3", "1.5", "2.1", "2.5", "3.1", "3.3", "4.2"]
    saved: list[str] = []
    for n in range(len(indicators) // 2 + 1):
        barrier = threading.Barrier(2)

        def send(who: int, barrier: threading.Barrier = barrier, sent: list[dict[str, str]] = fields) -> tuple[int, str]:
            barrier.wait()
            return (one, two)[who].go("POST", COUNTY, sent[who])
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(send, (0, 1)))
        assert sorted(a[0] for a in answers) == [303, 409], n
        won, lost = (0, 1) if answers[0][0] == 303 else (1, 0)
        if fields[won]["do"] == "score":
            saved.append(fields[won]["reason"])
        stale = answers[lost][1]
        if fields[lost]["do"] == "score":  # the stale page keeps what they typed, and says what changed
            assert f'>{fields[lost]["reason"]}</textarea>' in stale
            if fields[won]["do"] == "score":
                assert "文件中的变化" in stale and f'指标 {fields[won]["indicator"]}' in stale.split("文件中的变化")[1]
        pages = [one.go("GET", COUNTY)[1], two.go("GET", COUNTY)[1]]
        if n < len(indicators) // 2:
            fields = [v.form(p, {"do": "score", "indicator": indicators[2 * n + k], "value": "0",
                                 "reason": f"第{n}轮评审人{k}"}) for k, (v, p) in enumerate(zip((one, two), pages, strict=True))]
    made = [o.reason for o in review.read(folder / "高青县_初评.yaml").stage.overrides]
    assert sorted(made) == sorted(saved) and len(made) == len(indicators) // 2
    assert [p.name for p in folder.iterdir() if p.name.endswith(".tmp")] == []


# ---------------------------------------------------------------- reviewers by name


@pytest.fixture
def named(folder: Path) -> Any:
    """A desk that knows two reviewers, each with a sign-in key, and a browser for each."""
    from scoring.faces.desk.reviewers import Reviewer

    app = create_app(Folder(folder), named={"key-li": Reviewer("李明", "淄博市民政局"),
                                            "key-wang": Reviewer("王芳", "淄博市民政局")})
    return TestClient(app, base_url=ADDRESS), TestClient(app, base_url=ADDRESS)


def test_only_a_signed_in_reviewer_saves_and_entries_carry_them(named: Any, folder: Path, runner: CliRunner) -> None:
    li, wang = named
    r = post(li, {"do": "header", "reviewer": "张局长（已签批）", "date": "2022-12-05"})
    assert r.status_code == 403 and "个人登录链接" in r.text
    assert li.get("/signin/no-such-key").status_code == 403
    before = li.cookies.get("desk_session_8000")
    assert li.get("/signin/key-li", follow_redirects=False).status_code == 303
    assert li.cookies.get("desk_session_8000", domain="127.0.0.1") != before  # a new session, never the old
    assert "李明（淄博市民政局）" in li.get(COUNTY).text.split('class="header-form"')[1]
    r = post(li, {"do": "header", "reviewer": "张局长（已签批）", "unit": "某单位", "date": "2022-12-05"})
    assert r.status_code == 200  # the typed name is not an identity: the signed-in reviewer's is written
    post(li, {"do": "reject", "indicator": "2.2", "target": "D12", "reason": "核查报告由县民政局自行出具。"})
    wang.get("/signin/key-wang")
    post(wang, {"do": "score", "indicator": "7.1", "value": "2", "reason": "不作为特色创新计分"})
    file = folder / "高青县_初评.yaml"
    stage = review.read(file).stage
    assert (stage.author, stage.unit) == ("李明", "淄博市民政局")
    assert [(o.indicator, o.author) for o in stage.overrides] == [("2.2", "李明"), ("7.1", "王芳")]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", o.at) for o in stage.overrides)
    log = wang.get(COUNTY).text.split('class="log"')[1].split("</details>")[0]
    assert "修改记录（3 次保存）" in log and "王芳（淄博市民政局）" in log and "新增 指标 7.1 定分为 2" in log
    assert "张局长" not in file.read_text("utf-8") and "张局长" not in log
    csv = wang.get(COUNTY + "/diff.csv").content.decode("utf-8-sig")
    assert "王芳" in csv and "李明" in csv  # the 意见表 names who made each entry
    audit = runner.invoke(main, ["review", "audit", str(file)])
    assert audit.exit_code == 0 and "修改记录完整：3 次保存" in audit.output and "王芳（淄博市民政局）" in audit.output
    file.write_text(file.read_text("utf-8").replace("不作为特色创新计分", "改过的理由"), "utf-8")
    audit = runner.invoke(main, ["review", "audit", str(file)])
    assert audit.exit_code == 1 and "不是经评审工作台" in audit.output and "Traceback" not in audit.output
    assert "不是经评审工作台" in wang.get(COUNTY).text


def test_without_named_reviewers_the_log_says_the_name_was_typed(client: TestClient, folder: Path,
                                                                runner: CliRunner) -> None:
    sign(client)
    records = (folder / "高青县_初评.log").read_text("utf-8").splitlines()
    assert len(records) == 1 and json.loads(records[0])["signed_in"] is False
    assert "李明（淄博市民政局）（页面填写）" in client.get(COUNTY).text
    missing = runner.invoke(main, ["review", "audit", str(folder / "没有的_初评.yaml")])
    assert missing.exit_code == 1 and "Traceback" not in missing.output


@pytest.mark.parametrize(("args", "said"), [(["--reviewer", "@淄博市民政局"], "写法不对"),
                                            (["--reviewer", "李明@甲", "--reviewer", "李明@乙"], "写了两次")])
def test_serve_refuses_bad_reviewers(runner: CliRunner, folder: Path, args: list[str], said: str) -> None:
    result = runner.invoke(main, ["serve", str(folder), *args])
    assert result.exit_code == 1 and said in result.output and "Traceback" not in result.output


def test_the_index_and_the_next_indicator_to_review(client: TestClient, folder: Path) -> None:
    copy_tree(ROOT / "evidence" / "gaoqing_2022_evidence_problems", folder / "问题县")  # claims with flags
    url = "/county/问题县"
    html = client.get(url).text
    index = html.split('aria-label="指标索引"')[1].split("</nav>")[0]
    assert len(re.findall(r'href="#i-[^"]+"', index)) == html.count('<article class="card')  # every indicator
    first = re.search(r'下一项待审：(\S+) ', html)
    assert first and f'href="#i-{first.group(1)}"' in html.split('class="sticky"')[1].split("</div>")[0]
    assert first.group(1) == "1.2"  # the first claim short of evidence, in rubric order; mandatory in the rubric
    assert 'class="chip flagged must">1.2<small>强制</small> 有标记<' in index
    assert 'class="chip">7.1<' in index  # neither flagged nor mandatory, nothing done
    post(client, {"do": "header", "reviewer": "李明", "date": "2022-12-05"}, url=url)
    html = post(client, {"do": "score", "indicator": "1.2", "value": "0", "reason": "理由"}, url=url).text
    assert 'class="chip done must">1.2<small>强制</small> 已改分<' in html
    after = re.search(r'下一项待审：(\S+) ', html)
    assert after is None or after.group(1) != first.group(1)  # on to the next one
    assert "有标记和待复核的指标都已处理" in client.get(COUNTY).text  # the sample county has nothing flagged


# ---------------------------------------------------------------- the desk and `scoring review` on one file


def test_a_command_writing_the_file_while_the_desk_saves_refuses_the_save(client: TestClient, folder: Path,
                                                                         runner: CliRunner,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """`scoring review init` writes the county's review file after the desk read it and before it writes:
    the desk's save is refused as stale (409, in Chinese, the reviewer's input kept), the command's file
    stands."""
    sign(client)
    file = folder / "高青县_初评.yaml"
    checked = desk_folder.score

    def command_meanwhile(*args: Any) -> Any:
        made = checked(*args)
        monkeypatch.setattr(desk_folder, "score", checked)  # once
        done = runner.invoke(main, ["review", "init", str(folder / "高青县"), "-o", str(file), "--reviewer", "王芳"])
        assert done.exit_code == 0, done.output
        return made

    page = client.get(COUNTY).text
    monkeypatch.setattr(desk_folder, "score", command_meanwhile)
    r = post(client, {"do": "score", "indicator": "7.1", "value": "2", "reason": "不作为特色创新计分"}, page=page)
    assert r.status_code == 409 and "保存未完成" in r.text and ">不作为特色创新计分</textarea>" in r.text
    assert review.read(file).stage.author == "王芳"  # the command's file, not overwritten


def test_a_desk_save_while_a_command_works_refuses_the_command(client: TestClient, folder: Path, runner: CliRunner,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A reviewer saves in the desk while `scoring review init` is making the same file: the command
    writes nothing, says why in Chinese and exits 1; the desk's save stands."""
    from scoring.faces import cli

    file = folder / "高青县_初评.yaml"
    loaded = cli.load

    def desk_meanwhile(*args: Any) -> Any:
        sign(client)
        return loaded(*args)

    monkeypatch.setattr(cli, "load", desk_meanwhile)
    done = runner.invoke(main, ["review", "init", str(folder / "高青县"), "-o", str(file)])
    assert done.exit_code == 1 and "在本命令运行期间已被修改" in done.output and "Traceback" not in done.output
    assert review.read(file).stage.author == "李明"


def test_the_desk_writes_under_the_lock_the_commands_take(client: TestClient, folder: Path) -> None:
    """While another program holds the review file's lock, a desk save waits for it, then saves."""
    from scoring.base import files

    sign(client)
    file = folder / "高青县_初评.yaml"
    page = client.get(COUNTY).text
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        with files.locked(file):
            saving = pool.submit(post, client, {"do": "score", "indicator": "7.1", "value": "2", "reason": "理由"},
                                 COUNTY, page)
            time.sleep(0.3)
            assert not saving.done()
        assert saving.result(timeout=30).status_code == 200
    assert [o.reason for o in review.read(file).stage.overrides] == ["理由"]


def test_stray_files_in_a_bundle_cost_a_request_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A county page signs only the files its bundle was read from: thousands of files the manifest does
    not name neither add to a request's work nor make the bundle read again. (The folder is on a RAM disk
    where there is one: thousands of files on a busy disk take seconds to make.)"""
    ram = Path(tempfile.mkdtemp(dir="/dev/shm")) if Path("/dev/shm").is_dir() else tmp_path
    try:
        copy_tree(SAMPLE, ram / "高青县")
        settle(ram)
        client = TestClient(create_app(Folder(ram)), base_url=ADDRESS)
        signed: list[Path] = []
        stat, opened = desk_folder._stat, desk_folder.open_bundle
        monkeypatch.setattr(desk_folder, "_stat", lambda p: signed.append(p) or stat(p))
        monkeypatch.setattr(desk_folder, "open_bundle", lambda *a: signed.append(Path("opened")) or opened(*a))
        client.get(COUNTY)  # read and kept from here on

        def request() -> int:
            signed.clear()
            assert client.get(COUNTY).status_code == 200
            return len(signed)

        before = request()
        assert Path("opened") not in signed
        (ram / "高青县" / "documents" / "扫描件").mkdir()
        for n in range(3000):
            os.close(os.open(ram / "高青县" / "documents" / "扫描件" / f"{n:04d}.jpg", os.O_CREAT | os.O_WRONLY, 0o644))
        assert request() == before and Path("opened") not in signed
    finally:
        if ram != tmp_path:
            shutil.rmtree(ram, ignore_errors=True)


# ---------------------------------------------------------------- 初评完成


def test_a_stage_marked_finished_takes_no_edit_until_reopened(client: TestClient, folder: Path,
                                                               runner: CliRunner) -> None:
    sign(client)
    post(client, {"do": "score", "indicator": "7.1", "value": "2", "reason": "不作为特色创新计分"})
    html = client.get(COUNTY).text
    assert "标记初评完成" in html and 'name="do" value="complete"' in html and "可标记初评完成" in html
    r = post(client, {"do": "complete"})
    assert r.status_code == 200 and "初评已完成：李明（淄博市民政局），" in r.text
    assert 'class="adjust"' not in r.text and 'value="header"' not in r.text  # nothing to edit but reopening
    assert '<a href="#finish" class="ok">初评已完成</a>' in r.text and 'name="do" value="reopen"' in r.text
    file = folder / "高青县_初评.yaml"
    done = review.read(file).stage.completed
    assert done is not None and (done.reviewer, done.unit) == ("李明", "淄博市民政局")
    assert "标记初评完成" in r.text.split('class="log"')[1]  # in the 修改记录
    assert "初评完成（李明，" in row(client.get("/").text, "高青县")
    before = file.read_bytes()
    r = post(client, {"do": "score", "indicator": "1.1", "value": "0", "reason": "理由"})
    assert r.status_code == 400 and "初评已由李明（淄博市民政局，" in r.text and "请先点页面上方的“重新打开初评”" in r.text
    assert file.read_bytes() == before
    audit = runner.invoke(main, ["review", "audit", str(file)])
    assert audit.exit_code == 0 and "标记初评完成" in audit.output
    r = post(client, {"do": "reopen"})
    assert r.status_code == 200 and 'class="adjust"' in r.text and "初评已完成：" not in r.text
    assert review.read(file).stage.completed is None and "重新打开初评" in r.text.split('class="log"')[1]


def test_a_stage_is_finished_only_with_nothing_left_open(client: TestClient, folder: Path) -> None:
    r = post(client, {"do": "complete"})  # no reviewer yet
    assert r.status_code == 400 and "请先在页面上方填写评审人和评审日期并保存，再标记初评完成" in r.text
    assert "页面上方的评审人和评审日期尚未填写并保存" in r.text  # listed where the step is
    sign(client)
    post(client, {"do": "score", "indicator": "7.1", "value": "2", "reason": "理由甲"})
    file = folder / "高青县_初评.yaml"
    text = file.read_text("utf-8")
    file.write_text(text.replace('reason: "理由甲"\n', 'reason: "理由甲"\n      recheck: true\n'), "utf-8")
    html = client.get(COUNTY).text
    assert "还不能标记初评完成" in html and "指标 7.1 特色创新：有待复核的意见" in html
    r = post(client, {"do": "complete"}, page=html)
    assert r.status_code == 400 and "还有 1 条待复核的意见（指标 7.1）" in r.text
    assert review.read(file).stage.completed is None
