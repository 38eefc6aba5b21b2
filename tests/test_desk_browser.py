"""The review desk end to end in a real browser: Debian's chromium, driven by Selenium through
chromium-driver, against `scoring serve` running as a command. A reviewer opens the counties, opens the
sample county's 初评, rejects a document and lowers a tier, each with a reason; the page's totals follow
each save, the diff downloaded from the page lists both changes, and `scoring diff` reads the saved
review file to the same table. Then two signed-in reviewers on two desks over one folder: a refused save
keeps its input, a stale save says what changed and keeps it too, and the page is looked at on a phone.
Screenshots of every page, at a 1366×768 office screen and at 390×844, are kept in the test's folder (its
path is printed; `--basetemp` keeps it in a place of your choosing) for a person to look at.

`scripts/setup.sh --test` installs chromium and chromium-driver; on a machine without chromium the test
is skipped. The browser and its driver are the system's, named by path, so nothing is downloaded.
"""

from __future__ import annotations

import csv
import io
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from scoring.faces.cli import main

from .conftest import SAMPLE, copy_tree

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="no /usr/bin/chromium: bash scripts/setup.sh --test installs it")

if CHROMIUM.exists():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webelement import WebElement
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.wait import WebDriverWait

WAIT = 15  # seconds for a page or a download; the whole test takes a few
POLL = 0.05  # seconds between looks while waiting (Selenium's own 0.5 s would idle most of the test)


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`scoring serve` on a copy of the sample county, on a free port: its address and folder."""
    root = tmp_path / "各县材料"
    copy_tree(SAMPLE, root / "高青县")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "scoring", "serve", str(root), "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT)
    address = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                with urllib.request.urlopen(address + "/", timeout=5):
                    break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail("scoring serve stopped: " + (tmp_path / "serve.log").read_text())
                time.sleep(0.1)
        else:
            pytest.fail("the desk did not answer")
        yield address, root
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)  # the system's browser, named: Selenium Manager is never asked
    for arg in ("--headless=new", "--window-size=1366,768", "--no-sandbox", "--disable-dev-shm-usage",
                "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync",
                "--disable-component-update", "--disable-default-apps", "--lang=zh-CN"):
        options.add_argument(arg)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    try:
        yield driver
    finally:
        driver.quit()


class Screens:
    """Numbered screenshots of what the browser shows, 1366×768 as on an office screen."""

    def __init__(self, driver: webdriver.Chrome, folder: Path) -> None:
        self.driver, self.folder, self.count = driver, folder, 0
        folder.mkdir()

    def take(self, name: str) -> None:
        self.count += 1
        self.driver.save_screenshot(str(self.folder / f"{self.count:02d}_{name}.png"))


def standings(driver: webdriver.Chrome) -> dict[str, tuple[str, str]]:
    """The county page's totals table: stage -> (total, supported)."""
    rows = driver.find_elements(By.CSS_SELECTOR, "table.standings tbody tr")
    cells = [[td.text for td in row.find_elements(By.TAG_NAME, "td")] for row in rows]
    return {c[0]: (c[2], c[3]) for c in cells}


def submit(driver: webdriver.Chrome, form: WebElement) -> None:
    """Press the form's button and wait for the page the save redirects to."""
    page = driver.find_element(By.TAG_NAME, "html")
    form.find_element(By.TAG_NAME, "button").click()
    WebDriverWait(driver, WAIT, poll_frequency=POLL).until(expected_conditions.staleness_of(page))
    notice = driver.find_elements(By.CSS_SELECTOR, "p.notice")
    assert notice and "已保存到 高青县_初评.yaml" in notice[0].text, driver.find_element(By.TAG_NAME, "body").text[:1000]


def adjust(driver: webdriver.Chrome, indicator: str, action: str, target: str = "") -> WebElement:
    """Open an indicator's 调整本项 and return its form for `action` (and the input `target`)."""
    card = driver.find_element(By.ID, f"i-{indicator}")
    details = card.find_element(By.CSS_SELECTOR, "details.adjust")
    driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", card)
    details.find_element(By.TAG_NAME, "summary").click()
    for form in details.find_elements(By.TAG_NAME, "form"):
        if form.find_element(By.CSS_SELECTOR, "input[name=do]").get_attribute("value") != action:
            continue
        named = form.find_elements(By.CSS_SELECTOR, "input[type=hidden][name=target]")
        if not target or (named and named[0].get_attribute("value") == target):
            return form
    raise AssertionError(f"no {action} form for {indicator} {target}")


def download(folder: Path, suffix: str) -> Path:
    """The one finished download ending in `suffix`."""
    for _ in range(WAIT * 10):
        done = [p for p in folder.iterdir() if p.suffix == suffix]
        if done and not any(p.suffix == ".crdownload" for p in folder.iterdir()):
            return done[0]
        time.sleep(0.1)
    raise AssertionError(f"no {suffix} download in {sorted(p.name for p in folder.iterdir())}")


def changes(text: str) -> dict[str, list[str]]:
    """The diff CSV's rows by indicator."""
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    return {r[2]: r for r in rows[1:]}


@pytest.mark.slow
def test_a_review_in_the_browser(desk: tuple[str, Path], browser: webdriver.Chrome, tmp_path: Path) -> None:
    address, root = desk
    screens = Screens(browser, tmp_path / "screens")
    print(f"\nscreenshots: {screens.folder}")

    browser.get(address + "/")
    screens.take("counties")
    row = browser.find_element(By.XPATH, "//tbody/tr[contains(., '高青县')]")
    assert "84.2" in row.text

    row.find_element(By.LINK_TEXT, "高青县").click()
    WebDriverWait(browser, WAIT, poll_frequency=POLL).until(expected_conditions.title_contains("初评"))
    screens.take("county_top")
    assert standings(browser)["自评"] == ("84.2", "84.2")

    header = browser.find_element(By.CSS_SELECTOR, "form.header-form")
    header.find_element(By.NAME, "reviewer").send_keys("李明")
    header.find_element(By.NAME, "unit").send_keys("淄博市民政局")
    # the date picker's typed format follows the browser's locale: the date is set as the picker sets it
    browser.execute_script("arguments[0].value = '2022-12-05'", header.find_element(By.NAME, "date"))
    submit(browser, header)
    screens.take("reviewer_saved")

    # 2.2: D12 rejected; the 100% compliance point it alone supports is still claimed but unsupported.
    form = adjust(browser, "2.2", "reject")
    Select(form.find_element(By.NAME, "target")).select_by_value("D12")
    form.find_element(By.NAME, "reason").send_keys("核查报告由县民政局自行出具，没有住建部门意见。")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", form)
    screens.take("card_2.2_forms")
    submit(browser, form)
    screens.take("saved_2.2")
    assert standings(browser)["初评"] == ("84.2", "83.2")
    assert "D12" in browser.find_element(By.ID, "i-2.2").find_element(By.CSS_SELECTOR, ".entries").text

    # 4.4: the community facilities corrected from 二档 to 三档, 2 points to 1.
    form = adjust(browser, "4.4", "input", "community_facility_level")
    Select(form.find_element(By.NAME, "value")).select_by_value("low")
    form.find_element(By.NAME, "reason").send_keys("实地抽查12处农村幸福院，5处未正常运营。")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", form)
    screens.take("card_4.4_forms")
    submit(browser, form)
    card = browser.find_element(By.ID, "i-4.4")
    browser.execute_script("arguments[0].scrollIntoView({block: 'start'})", card)
    screens.take("saved_4.4")
    assert "2 → 1" in card.find_element(By.CSS_SELECTOR, "p.scores").text
    assert standings(browser)["初评"] == ("83.2", "82.2")

    # The diff, as the page offers it: the CSV to read, the PDF to look at.
    browser.execute_script("window.scrollTo(0, 0)")
    screens.take("county_after")
    downloads = tmp_path / "downloads"
    browser.find_element(By.PARTIAL_LINK_TEXT, "意见表（CSV）").click()
    from_page = download(downloads, ".csv").read_text("utf-8")
    browser.find_element(By.PARTIAL_LINK_TEXT, "意见表（PDF）").click()
    pdf = download(downloads, ".pdf")
    if shutil.which("pdftoppm"):  # the diff as a page, for the screenshots
        subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", str(pdf),
                        str(screens.folder / f"{screens.count + 1:02d}_diff_pdf")], check=True)
    listed = changes(from_page)
    assert set(listed) == {"2.2", "4.4", "合计"}
    assert "不采信 D12" in listed["2.2"][8] and listed["2.2"][4:8] == ["3", "3", "3", "2"]
    assert "二档（2分） → 三档（1分）" in listed["4.4"][8] and listed["4.4"][4:8] == ["2", "1", "2", "1"]
    assert listed["合计"][4:8] == ["84.2", "83.2", "84.2", "82.2"]
    assert all(r[1] == "李明" for r in listed.values())

    # The command line applies the file the desk saved, unchanged, to the same table.
    out = tmp_path / "初评意见表.csv"
    done = CliRunner().invoke(main, ["diff", str(root / "高青县"), "--review", str(root / "高青县_初评.yaml"),
                                     "-o", str(out)])
    assert done.exit_code == 0, done.output
    assert out.read_text("utf-8") == from_page


@pytest.fixture
def two_desks(tmp_path: Path) -> Iterator[tuple[list[str], Path]]:
    """Two `scoring serve` processes on one folder that know two reviewers: each reviewer's sign-in link,
    李明's on the first desk and 王芳's on the second, and the folder."""
    root = tmp_path / "各县材料"
    copy_tree(SAMPLE, root / "高青县")
    procs, links = [], []
    try:
        for who in ("李明", "王芳"):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            proc = subprocess.Popen([sys.executable, "-m", "scoring", "serve", str(root), "--port", str(port),
                                     "--reviewer", "李明@淄博市民政局", "--reviewer", "王芳@淄博市民政局"],
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            procs.append(proc)
            assert proc.stdout is not None
            printed = [proc.stdout.readline() for _ in range(4)]
            links.append(next(line.split("：", 1)[1].strip() for line in printed if line.strip().startswith(who)))
        yield links, root
    finally:
        for proc in procs:
            proc.terminate()
            proc.communicate(timeout=10)


def test_two_reviewers_a_refused_save_and_a_stale_one(two_desks: tuple[list[str], Path], browser: webdriver.Chrome,
                                                     tmp_path: Path) -> None:
    """李明 on one desk and 王芳 on another, one folder: a refused save keeps what 李明 typed; 王芳 saves
    meanwhile, so 李明's next save is stale, says what changed and keeps his input; saved again, both entries
    stand, each under its reviewer, in the 修改记录 too. Screenshots at 1366×768 and at a phone's 390×844."""
    (li, wang), root = two_desks
    screens, header = _open_county(browser, li, tmp_path)
    assert "李明（淄博市民政局）" in header.text
    browser.execute_script("arguments[0].value = '2022-12-05'", header.find_element(By.NAME, "date"))
    submit(browser, header)

    reason = "助餐模式在全省普遍推行，不作为特色创新计分。" * 3
    form = adjust(browser, "7.1", "score")
    form.find_element(By.NAME, "value").send_keys("2.5")
    form.find_element(By.NAME, "reason").send_keys(reason)
    page = browser.find_element(By.TAG_NAME, "html")
    form.find_element(By.TAG_NAME, "button").click()
    WebDriverWait(browser, WAIT, poll_frequency=POLL).until(expected_conditions.staleness_of(page))
    card = browser.find_element(By.ID, "i-7.1")
    browser.execute_script("arguments[0].scrollIntoView({block: 'start'})", card)
    screens.take("refused_kept")
    form = adjust_open(browser, "7.1", "score")
    assert form.find_element(By.NAME, "value").get_attribute("value") == "2.5"
    assert form.find_element(By.NAME, "reason").get_attribute("value") == reason
    assert "且为 2 分的整数倍" in form.find_element(By.CSS_SELECTOR, "p.error").text

    first = browser.current_window_handle
    browser.switch_to.new_window("tab")  # 王芳, on the other desk, saves first
    browser.get(wang)
    browser.find_element(By.LINK_TEXT, "高青县").click()
    WebDriverWait(browser, WAIT, poll_frequency=POLL).until(expected_conditions.title_contains("初评"))
    form = adjust(browser, "2.2", "reject")
    Select(form.find_element(By.NAME, "target")).select_by_value("D12")
    form.find_element(By.NAME, "reason").send_keys("核查报告由县民政局自行出具。")
    submit(browser, form)

    browser.switch_to.window(first)  # 李明's page is now stale
    form = adjust_open(browser, "7.1", "score")
    form.find_element(By.NAME, "value").clear()
    form.find_element(By.NAME, "value").send_keys("2")
    page = browser.find_element(By.TAG_NAME, "html")
    form.find_element(By.TAG_NAME, "button").click()
    WebDriverWait(browser, WAIT, poll_frequency=POLL).until(expected_conditions.staleness_of(page))
    changed = browser.find_element(By.CSS_SELECTOR, ".changed-since").text
    assert "新增 指标 2.2" in changed and "王芳" in changed
    screens.take("stale_says_what_changed")
    form = adjust_open(browser, "7.1", "score")
    assert form.find_element(By.NAME, "reason").get_attribute("value") == reason
    submit(browser, form)  # saved again, over the newest file

    stage = [(o.indicator, o.author) for o in read_stage(root / "高青县_初评.yaml")]
    assert stage == [("2.2", "王芳"), ("7.1", "李明")]
    log = browser.find_element(By.CSS_SELECTOR, "details.log")
    log.find_element(By.TAG_NAME, "summary").click()
    assert "王芳（淄博市民政局）" in log.text and "李明（淄博市民政局）" in log.text
    browser.execute_script("arguments[0].scrollIntoView({block: 'start'})", log)
    screens.take("log_1366")

    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",  # a phone's viewport, exactly
                            {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})
    browser.execute_script("window.scrollTo(0, 0)")
    screens.take("county_390")
    adjust(browser, "7.1", "score")
    screens.take("card_forms_390")
    assert not overflowing(browser)  # the page itself never scrolls sideways; wide tables scroll inside themselves
    browser.get(li.split("/signin/")[0] + "/")
    screens.take("counties_390")
    assert not overflowing(browser)


def adjust_open(driver: webdriver.Chrome, indicator: str, action: str) -> WebElement:
    """An indicator's form for `action` on a page where its 调整本项 is already open (a refused save)."""
    details = driver.find_element(By.ID, f"i-{indicator}").find_element(By.CSS_SELECTOR, "details.adjust")
    assert details.get_attribute("open") is not None
    return next(f for f in details.find_elements(By.TAG_NAME, "form")
                if f.find_element(By.CSS_SELECTOR, "input[name=do]").get_attribute("value") == action)


def read_stage(path: Path) -> tuple[Any, ...]:
    from scoring.loading import review

    return review.read(path).stage.overrides


def overflowing(driver: webdriver.Chrome) -> list[str]:
    """The elements that reach past the viewport's right edge (none when the page does not scroll sideways)."""
    found: list[str] = driver.execute_script(
        "if (document.documentElement.scrollWidth <= window.innerWidth) return [];"
        "return [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > "
        "window.innerWidth + 1 && !e.closest('table.grid')).slice(0, 8).map(e => e.tagName + '.' + e.className + "
        "' ' + Math.round(e.getBoundingClientRect().right));")
    return found


@pytest.mark.slow
def test_two_reviewers_finish_a_preliminary_review(two_desks: tuple[list[str], Path], browser: webdriver.Chrome,
                                                   tmp_path: Path) -> None:
    """A whole small 初评 by two signed-in reviewers on two desks: 李明 signs the header and rejects D12 for
    2.2; 王芳 corrects 4.4 to 三档 and sets 7.1 to 2; 李明 marks 初评完成. The page and the list say so, and
    `scoring diff` reads the file the desks wrote. Totals by hand from the sample's worked 初评: 84.2 claimed;
    D12 unsupports 1 point of 2.2, 4.4 loses 1, 7.1 goes from 4 to 2: 初评 81.2 (有据 80.2), and 2.2, a
    mandatory indicator, no longer supported at full marks fails the verdict."""
    (li, wang), root = two_desks
    screens, header = _open_county(browser, li, tmp_path)
    browser.execute_script("arguments[0].value = '2022-12-05'", header.find_element(By.NAME, "date"))
    submit(browser, header)
    form = adjust(browser, "2.2", "reject")
    Select(form.find_element(By.NAME, "target")).select_by_value("D12")
    form.find_element(By.NAME, "reason").send_keys("核查报告由县民政局自行出具。")
    submit(browser, form)

    first = browser.current_window_handle
    browser.switch_to.new_window("tab")  # 王芳, on the other desk
    browser.get(wang)
    browser.get(wang.split("/signin/")[0] + "/county/高青县")
    form = adjust(browser, "4.4", "input", "community_facility_level")
    Select(form.find_element(By.NAME, "value")).select_by_value("low")
    form.find_element(By.NAME, "reason").send_keys("实地抽查12处农村幸福院，5处未正常运营。")
    submit(browser, form)
    form = adjust(browser, "7.1", "score")
    form.find_element(By.NAME, "value").send_keys("2")
    form.find_element(By.NAME, "reason").send_keys("助餐模式在全省普遍推行，不作为特色创新计分。")
    submit(browser, form)
    assert standings(browser)["初评"] == ("81.2", "80.2")

    browser.switch_to.window(first)  # 李明 reloads his page and finishes the 初评
    browser.refresh()
    index = browser.find_element(By.CSS_SELECTOR, "nav.index")
    assert "2.2强制 不采信" in index.text and "4.4 已更正" in index.text and "7.1 已改分" in index.text
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", index)
    screens.take("index_before_finishing")
    finish = browser.find_element(By.ID, "finish")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", finish)
    finish.find_element(By.TAG_NAME, "summary").click()
    screens.take("finish_confirm")
    submit(browser, finish.find_element(By.TAG_NAME, "form"))
    assert "初评已完成：李明（淄博市民政局）" in browser.find_element(By.ID, "finish").text
    assert not browser.find_elements(By.CSS_SELECTOR, "details.adjust")  # no more edits until reopened
    screens.take("finished")
    browser.get(li.split("/signin/")[0] + "/")
    listed = browser.find_element(By.XPATH, "//tbody/tr[contains(., '高青县')]")
    assert "初评结论：未达到创建标准" in listed.text and "初评完成（李明，" in listed.text
    assert "failing" in (listed.get_attribute("class") or "")
    screens.take("counties_finished")

    file = root / "高青县_初评.yaml"
    stage = read_review(file).stage
    assert stage.completed is not None and stage.completed.reviewer == "李明"
    assert [(o.indicator, o.author) for o in stage.overrides] == [("2.2", "李明"), ("4.4", "王芳"), ("7.1", "王芳")]
    out = tmp_path / "初评意见表.csv"
    done = CliRunner().invoke(main, ["diff", str(root / "高青县"), "--review", str(file), "-o", str(out)])
    assert done.exit_code == 0, done.output
    listed_changes = changes(out.read_text("utf-8"))
    assert set(listed_changes) == {"2.2", "4.4", "7.1", "合计"}
    assert listed_changes["合计"][4:8] == ["84.2", "81.2", "84.2", "80.2"]  # before → after, 有据 before → after
    assert listed_changes["7.1"][4:8] == ["4", "2", "4", "2"]
    assert [listed_changes[k][1] for k in ("2.2", "4.4", "7.1")] == ["李明", "王芳", "王芳"]


def read_review(path: Path) -> Any:
    from scoring.loading import review

    return review.read(path)


def _open_county(browser: webdriver.Chrome, link: str, tmp_path: Path) -> tuple[Screens, Any]:
    """A reviewer's sign-in link followed to 高青县's 初评: the screenshots' folder and the header form."""
    screens = Screens(browser, tmp_path / "screens")
    print(f"\nscreenshots: {screens.folder}")
    browser.get(link)
    browser.find_element(By.LINK_TEXT, "高青县").click()
    WebDriverWait(browser, WAIT, poll_frequency=POLL).until(expected_conditions.title_contains("初评"))
    return screens, browser.find_element(By.CSS_SELECTOR, "form.header-form")
