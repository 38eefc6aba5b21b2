"""The committed Qingdao example run: 30 generated centers with the programme's hard cases, the city's
registry and last year's ratings.json, as the README's tour runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from scoring.faces.cli import main

from .conftest import QINGDAO_RATE, ROOT, pdf_pages

pytestmark = pytest.mark.xdist_group("qingdao_rate")  # the example run is made once, on one worker

EVIDENCE = ROOT / "evidence"
CENTERS = EVIDENCE / "qingdao_centers_2023"
PROGRAMME = ROOT / "programmes" / "qingdao_center_rewards_2023.yaml"
PREVIOUS = EVIDENCE / "qingdao_centers_2022_ratings.json"


@pytest.fixture(scope="module")
def outputs(shared: Any) -> Path:
    """The README's committee run on the shipped centers (one run for the whole test run)."""
    ran = shared(*QINGDAO_RATE)
    assert ran.code == 0, ran.output + ran.errors
    return ran.folder / "2023评定结果"


@pytest.fixture(scope="module")
def run(outputs: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((outputs / "ratings.json").read_text("utf-8"))
    return data


def test_the_committee_paper_says_what_ratings_json_says(outputs: Path, run: dict[str, Any]) -> None:
    """Read back from the paper's text, independently of how it was made: each rated center's row (from its
    id to the next) holds its supported score, its band or 未达到, and its reward with thousands
    separators; the city's total is the sum of the rewards."""
    import re

    text = "".join(pdf_pages(outputs / "committee.pdf"))
    table = text[text.index("二、排名与奖励"):text.index("三、奖励资金")]
    rated = [c for c in run["centers"] if c["id"] and c["rank"]]
    assert len(rated) == 29  # 30 bundles, one of which cannot be read
    rows = re.split(r"(?=\bQD\d{5}\b)", table)
    for c in rated:
        row = next(r for r in rows if r.startswith(c["id"]))  # its row; a note may name it again
        assert f"{c['supported_score']:g}" in row and (c["band"] or "未达到") in row, row
        if c["rewarded"]:
            assert f"{c['reward']:,}" in row, row
    total = sum(c["reward"] for c in run["centers"] if c["rewarded"])
    assert f"{total:,}" in text[text.index("三、奖励资金"):]


def by_id(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in data["centers"] if c["id"]}


def test_the_quota_line_falls_on_a_tie(run: dict[str, Any]) -> None:
    # 31 centers in the registry × 50% = 15 (rounded down); the 15th, 16th and 17th centers that earn a
    # reward have the same supported score (74.5), so under "exclude" none is rewarded and all are listed.
    assert run["city_total"] == 31 and run["quota"]["centers"] == 15
    assert run["quota"]["ties"] == ["QD00020", "QD00024", "QD00030"]
    got = by_id(run)
    assert got["QD00020"]["score"] == got["QD00024"]["score"] == got["QD00030"]["score"] == run["quota"]["cut"]
    assert not any(got[i]["rewarded"] for i in run["quota"]["ties"])
    assert sum(c["rewarded"] for c in run["centers"]) == 14
    # In the registry without a bundle: QD00031 (the broken QD00029 is known by its folder name).
    assert [c["id"] for c in run["unrated"]] == ["QD00031"]


def test_the_hard_cases(run: dict[str, Any]) -> None:
    got = by_id(run)
    vetoed, missing = got["QD00027"], got["QD00028"]
    assert vetoed["band"] is None and vetoed["score"] >= 80 and "评定周期内发生安全责任事故（一票否决）" in vetoed["held"]
    assert missing["score"] >= 90 and missing["band"] == "四星"
    assert any("八项功能齐全" in h for h in missing["held"])
    broken = next(c for c in run["centers"] if c["error"])
    assert broken["source"].startswith("QD00029_") and "bundle.yaml" in broken["error"] and "第" in broken["error"]
    # Known by the registry through its folder name: its years go on (2022: 0 below, so 1 now).
    last = {c["id"]: c for c in json.loads(PREVIOUS.read_text("utf-8"))["centers"]}
    assert (broken["id"], broken["district"]) == ("QD00029", "胶州市")
    assert broken["years_below"] == last["QD00029"]["years_below"] + 1


def test_money_adds_up(run: dict[str, Any]) -> None:
    for c in run["centers"]:
        assert c["payer_share"] + c["refund"] == c["reward"] and c["refund"] * 2 in (c["reward"], c["reward"] + 1)
    assert sum(d["reward"] for d in run["districts"]) == run["totals"]["reward"] == sum(
        c["reward"] for c in run["centers"])


def test_two_years_below_three_stars_lose_the_qualification(run: dict[str, Any]) -> None:
    last = {c["id"]: c for c in json.loads(PREVIOUS.read_text("utf-8"))["centers"]}
    for c in run["centers"]:
        below = c["error"] != "" or c["band"] not in ("五星", "四星", "三星")
        assert c["years_below"] == (last[c["id"]]["years_below"] + 1 if below else 0)
        assert c["exit"] == (c["years_below"] >= 2)
    assert sum(c["exit"] for c in run["centers"]) >= 2


def test_the_committed_set_is_what_the_generator_makes(tmp_path: Path) -> None:
    out = tmp_path / "evidence"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "generate_centers.py"), "--committed", str(PROGRAMME),
                    "-o", str(out)], check=True, cwd=ROOT)
    made = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    committed = sorted(p.relative_to(EVIDENCE) for p in EVIDENCE.rglob("*") if p.is_file() and (
        p.is_relative_to(CENTERS) or p.name.startswith("qingdao_centers_")))
    assert made == committed
    for rel in made:
        assert (out / rel).read_bytes() == (EVIDENCE / rel).read_bytes(), rel


def test_last_years_file_is_2022s_of_the_same_programme(run: dict[str, Any]) -> None:
    last = json.loads(PREVIOUS.read_text("utf-8"))
    assert (last["year"], last["programme"]["id"], last["programme"]["series"]) == (
        2022, "qingdao_center_rewards_2022", "qingdao_center_rewards")
    assert (run["year"], run["programme"]["id"], run["rubric_id"]) == (2023, "qingdao_center_rewards_2023",
                                                                       "qingdao_center_stars")
    assert run["previous"] == {"file": PREVIOUS.name, "programme": "qingdao_center_rewards_2022", "year": 2022}


def test_centers_are_rated_on_the_latest_stages_supported_score(run: dict[str, Any]) -> None:
    got = by_id(run)
    # QD00016 has only its self-assessment: it claims 91 (五星), but 6 of those points lack their
    # documents; on its supported 85 it is 四星 (≥ 80, < 90), and 300,000 × 85 ÷ 100 = 255,000 元.
    qd16 = got["QD00016"]
    assert (qd16["claimed_score"], qd16["claimed_band"], qd16["score"], qd16["band"]) == (91, "五星", 85, "四星")
    assert (qd16["stage"], qd16["reward"]) == ("自评", 255000)
    # QD00001 carries the third party's assessment: its review file says stage: 第三方评估, the rubric's name
    # for the first reviewing stage (初评), and the committee's output calls it that.
    assert "stage: 第三方评估\n" in (CENTERS / "QD00001_第三方评估.yaml").read_text("utf-8")
    assert (got["QD00001"]["stage"], got["QD00001"]["stage_name"]) == ("初评", "第三方评估")
    assessed = sorted(c["id"] for c in run["centers"] if c["stage"] == "初评")
    assert assessed == [f"QD{k:05d}" for k in range(1, 13)]


def test_the_papers_say_the_stage_and_the_claim(tmp_path: Path) -> None:
    from .test_report import pdf_text

    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["rate", str(CENTERS), "--rubric", "qingdao_center_stars", "--programme",
                                       str(PROGRAMME), "--registry", str(EVIDENCE / "qingdao_centers_registry.csv"),
                                       "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = pdf_text(out / "committee.pdf")
    assert "只有养老服务中心自评、未经第三方评估的，注明“仅自评”" in text and "仅自评" in text and "自报91分、五星" in text


# ---------------------------------------------------------------- a stage named by the rubric


def _review(tmp_path: Path, stage: str) -> Any:
    from scoring.loading import review

    text = (CENTERS / "QD00001_第三方评估.yaml").read_text("utf-8").replace("stage: 第三方评估\n", f"stage: {stage}\n")
    return review.parse(text.encode(), str(tmp_path / "评估.yaml"))


@pytest.mark.parametrize("stage", ["第三方评估", "初评"])
def test_a_review_may_say_the_rubrics_name_for_its_stage(tmp_path: Path, stage: str) -> None:
    from scoring.loading.review import canonical
    from scoring.loading.rubric import load, resolve

    made = canonical(_review(tmp_path, stage), load(resolve("qingdao_center_stars")))
    assert made.stage.name == "初评"


@pytest.mark.parametrize(("rubric", "stage", "message"), [
    ("qingdao_center_stars", "复评", "评审阶段“复评”无效：应为 初评（第三方评估）、验收 之一"),
    ("gaoqing_2022", "第三方评估", "评审阶段“第三方评估”无效：应为 初评、验收 之一"),
])
def test_a_stage_the_rubric_does_not_name_is_refused(tmp_path: Path, rubric: str, stage: str, message: str) -> None:
    from scoring.base.errors import ScoringError
    from scoring.loading.review import canonical
    from scoring.loading.rubric import load, resolve

    with pytest.raises(ScoringError) as caught:
        canonical(_review(tmp_path, stage), load(resolve(rubric)))
    assert message in str(caught.value) and "评估.yaml" in str(caught.value) and "第 13 行" in str(caught.value)


def test_review_init_writes_the_rubrics_name_and_a_programme_may_not_contradict_it(tmp_path: Path) -> None:
    from scoring.base.errors import ScoringError
    from scoring.loading import programme
    from scoring.loading.rubric import load, resolve

    out = tmp_path / "评估.yaml"
    bundle = next(p for p in CENTERS.glob("QD00013_*") if p.is_dir())
    result = CliRunner().invoke(main, ["review", "init", str(bundle), "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text("utf-8")
    assert text.startswith("# 第三方评估评审意见：") and "\nstage: 第三方评估\n" in text
    other = tmp_path / "p.yaml"
    other.write_text(PROGRAMME.read_text("utf-8") + "stages: {初评: 外部评估}\n", "utf-8")
    with pytest.raises(ScoringError) as caught:
        programme.load(other, load(resolve("qingdao_center_stars")))
    assert "stages 把初评称为“外部评估”，而评分细则 “qingdao_center_stars” 称之为“第三方评估”" in str(caught.value)



def test_a_centers_own_papers_name_the_stage_as_the_rubric_does() -> None:
    from scoring.papers.changes import changes
    from scoring.papers.report.context import standings
    from scoring.papers.report.papers import changes_context
    from scoring.pipeline.folder import RubricChoice, score_files

    bundle = next(p for p in CENTERS.glob("QD00001_*") if p.is_dir())
    result = score_files(bundle, RubricChoice.of(None), (CENTERS / "QD00001_第三方评估.yaml",))
    assert result.final.stage == "初评"  # the engine's stage, in its place in the order
    paper = changes_context(changes(result))
    assert paper.title.endswith("第三方评估意见表") and [s.name for s in paper.stages] == ["第三方评估"]
    assert [s.stage for s in standings(result)] == ["自评", "第三方评估"]
