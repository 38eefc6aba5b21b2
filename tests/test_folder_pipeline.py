"""One path from a folder to results (scoring/pipeline/): the divergences the four copies of it had are
impossible now, each shown at the library level and through the face that had it; and what is in force at a
stage comes from the engine, so the 意见表 and the desk say the same "before"."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from scoring.base.errors import ScoringError
from scoring.domain import engine
from scoring.faces.cli import main
from scoring.faces.desk.app import create_app
from scoring.faces.desk.folder import Folder
from scoring.jobs.summary import summarize
from scoring.loading.rubric import load, shipped
from scoring.papers.changes import changes
from scoring.pipeline import folder as pipeline
from scoring.pipeline.folder import RubricChoice, find, read_reviews, score_files, score_found

from .conftest import FIXTURES, GAOQING, MINI, SAMPLE, copy_tree, make_bundle

CENTER = FIXTURES / "center.yaml"
KITCHEN = FIXTURES / "center.tests" / "kitchen_nothing_found"
ADDRESS = "http://127.0.0.1:8000"


def review_file(path: Path, bundle: Path, stage: str, entries: str, rubric: str = "mini") -> Path:
    sha = score_files(bundle, RubricChoice.of(MINI if rubric == "mini" else CENTER)).bundle.sha256
    path.write_text(f"stage: {stage}\nreviewer: 李明\nunit: 某市民政局\ndate: 2022-12-05\nrubric: {rubric}\n"
                    f"bundle_sha256: \"{sha}\"\nentries:\n{entries}", "utf-8")
    return path


SCORE_1_1 = '  "1.1":\n    - score: 2\n      reason: 会议纪要不全\n'


@pytest.fixture
def twice(tmp_path: Path) -> Path:
    """A folder with one county and two 初评 files for it."""
    root = tmp_path / "各县"
    b = make_bundle(root / "甲县")
    review_file(root / "甲县_初评.yaml", b, "初评", SCORE_1_1)
    review_file(root / "甲县_初评_2.yaml", b, "初评", '  "1.1":\n    - score: 0\n      reason: 未开会\n')
    return root


# ---------------------------------------------------------------- two files for one stage


def test_a_stage_filed_twice_is_refused_naming_both_files(twice: Path) -> None:
    found = find(twice)
    filed, problems = read_reviews(found.review_files)
    assert problems == [] and len(filed) == 2
    with pytest.raises(ScoringError) as caught:
        score_found(found.bundles[0], filed, RubricChoice.of(MINI))
    assert "初评有两份评审意见文件：甲县_初评.yaml 和 甲县_初评_2.yaml" in str(caught.value)


def test_the_summary_and_the_desk_both_refuse_the_county(twice: Path) -> None:
    row = summarize(find(twice), RubricChoice.of(MINI)).counties[0]
    assert "初评有两份评审意见文件" in row.error
    client = TestClient(create_app(Folder(twice, MINI)), base_url=ADDRESS)
    listed = client.get("/").text
    assert "初评有两份评审意见文件" in listed
    page = client.get("/county/甲县?stage=初评").text
    assert "初评有两份评审意见文件" in page and 'name="do" value="score"' not in page  # nothing to edit
    before = {p.name: p.read_bytes() for p in twice.glob("*.yaml")}
    # no page offers a form (nor so the session's CSRF token): a save asked of the folder itself is refused
    with pytest.raises(ScoringError, match="初评有两份评审意见文件"):
        Folder(twice, MINI).save("甲县", "初评", "", lambda stage: stage)
    assert {p.name: p.read_bytes() for p in twice.glob("*.yaml")} == before  # neither file was touched


# ---------------------------------------------------------------- the rubric, named the same way everywhere


def test_a_rubric_is_named_by_id_or_by_file_for_every_command(runner: CliRunner) -> None:
    assert RubricChoice.of("gaoqing_2022").named == shipped("gaoqing_2022")
    assert RubricChoice.of(GAOQING).named == GAOQING
    assert RubricChoice.of(None).path(score_files(SAMPLE, RubricChoice.of(None)).bundle) == shipped("gaoqing_2022")
    by_id = runner.invoke(main, ["score", str(SAMPLE), "--rubric", "gaoqing_2022", "--format", "json"])
    by_file = runner.invoke(main, ["score", str(SAMPLE), "--rubric", str(GAOQING), "--format", "json"])
    assert by_id.exit_code == 0, by_id.output
    assert json.loads(by_id.stdout)["total"] == json.loads(by_file.stdout)["total"] == 84.2  # README's figure
    unknown = runner.invoke(main, ["score", str(SAMPLE), "--rubric", "no_such_rubric"])
    assert unknown.exit_code == 1 and "找不到评分细则 “no_such_rubric”" in unknown.output


def test_the_desks_summary_uses_the_rubric_it_was_started_with(tmp_path: Path) -> None:
    root = tmp_path / "各县"
    make_bundle(root / "甲县", {"1.1": {"meeting": True}})
    client = TestClient(create_app(Folder(root, MINI)), base_url=ADDRESS)  # mini is not a shipped rubric
    client.get("/")  # a download is made for a session of the desk's own pages
    data = client.get("/summary.json").json()
    assert [c["error"] for c in data["counties"]] == [""]
    assert data["rubric"] == "测试用评分细则（测试版）"


def test_rate_loads_the_rubric_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One center, so the one worker is this process: the parent and the worker share one load."""
    from .test_rating import BANDS, PROGRAMME, center

    center(tmp_path / "centers", "C1", "甲区", 58, 37)
    calls: list[Path] = []
    monkeypatch.setattr(pipeline, "load", lambda path: calls.append(path) or load(path))
    pipeline._loaded.cache_clear()
    result = CliRunner().invoke(main, ["rate", str(tmp_path / "centers"), "--rubric", str(BANDS), "--programme",
                                       str(PROGRAMME), "--centers-total", "1", "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert calls == [BANDS]


# ---------------------------------------------------------------- links out of the folder


def test_a_link_out_of_the_folder_is_listed_not_read(tmp_path: Path, runner: CliRunner) -> None:
    root = tmp_path / "各县"
    make_bundle(root / "甲县")
    make_bundle(tmp_path / "别处" / "乙县")
    os.symlink(tmp_path / "别处" / "乙县", root / "乙县")
    os.symlink(root / "甲县", root / "甲县副本")  # inside the folder: read as what it points to
    found = find(root)
    assert [p.name for p in found.bundles] == ["甲县", "甲县副本"]
    assert len(found.outside) == 1 and found.outside[0].startswith("乙县 是指向目录之外")
    out = tmp_path / "汇总.json"
    done = runner.invoke(main, ["review", "summary", str(root), "--rubric", str(MINI), "-o", str(out)])
    assert done.exit_code == 0, done.output
    data = json.loads(out.read_text("utf-8"))
    assert [c["source"] for c in data["counties"]] == ["甲县", "甲县副本"]
    assert any(p.startswith("乙县 是指向目录之外") for p in data["problems"])


# ---------------------------------------------------------------- every face through the pipeline


def test_every_command_and_the_desk_score_through_the_pipeline(tmp_path: Path, runner: CliRunner,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Each face's results come from the engine called by the pipeline, never by the face or a job
    (one bundle each, so the batch runs in this process and is seen)."""
    from .test_rating import BANDS, PROGRAMME, center

    calls: list[str] = []
    real = engine.score

    def counted(*args: Any) -> Any:
        calls.append(sys._getframe(1).f_globals["__name__"])
        return real(*args)
    monkeypatch.setattr(engine, "score", counted)
    root = tmp_path / "各县"
    b = make_bundle(root / "甲县")
    city = review_file(root / "甲县_初评.yaml", b, "初评", SCORE_1_1)
    center(tmp_path / "centers", "C1", "甲区", 58, 37)
    commands = [["score", str(b), "--rubric", str(MINI)],
                ["report", str(b), "--rubric", str(MINI), "-o", str(tmp_path / "r.pdf")],
                ["diff", str(b), "--rubric", str(MINI), "--review", str(city), "-o", str(tmp_path / "d.json")],
                ["review", "summary", str(root), "--rubric", str(MINI), "-o", str(tmp_path / "s.json")],
                ["rate", str(tmp_path / "centers"), "--rubric", str(BANDS), "--programme", str(PROGRAMME),
                 "--centers-total", "1", "-o", str(tmp_path / "out")]]
    for args in commands:
        calls.clear()
        done = runner.invoke(main, args)
        assert done.exit_code == 0, (args, done.output)
        assert calls and set(calls) == {"scoring.pipeline.reviews"}, args[0]
    calls.clear()
    client = TestClient(create_app(Folder(root, MINI)), base_url=ADDRESS)
    assert client.get("/").status_code == 200 and client.get("/county/甲县").status_code == 200
    assert calls and set(calls) == {"scoring.pipeline.reviews"}


# ---------------------------------------------------------------- what is in force at a stage


@pytest.fixture
def shared(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A center whose 初评 corrects the shared fact 助餐方式 through 1.1 (自建厨房 → 采取配餐方式) and whose
    验收 corrects it again through 1.2 (→ 未开展助餐服务)."""
    root = tmp_path / "中心"
    b = copy_tree(KITCHEN, root / "示例中心")
    city = review_file(root / "初评.yaml", b, "初评",
                       '  "1.1":\n    - input: meal_mode\n      value: delivered\n      reason: 现场核实为配餐\n',
                       "center_demo")
    province = review_file(root / "验收.yaml", b, "验收",
                           '  "1.2":\n    - input: meal_mode\n      value: none\n      reason: 配餐已停止\n',
                           "center_demo")
    return b, city, province


def test_each_stage_carries_the_values_it_was_scored_from(shared: tuple[Path, Path, Path]) -> None:
    b, city, province = shared
    result = score_files(b, load(CENTER), [city, province])
    # The one answer, read by all three meal indicators, as each stage scored it.
    for ind in result.indicators[:3]:
        assert [s.values["meal_mode"] for s in ind.scores] == ["kitchen", "delivered", "none"]
    # By hand (center.yaml): 自评 kitchen: 1.1 10 − 0 = 10, 1.2 licence 5, 1.3 49 meals ≥ 20: 5 → 20;
    # 初评 delivered: 10 + 5 + 5 = 20; 验收 none: 0 + 0 + 0 (none is not listed for 1.3) = 0.
    assert [sum(i.scores[k].points for i in result.indicators[:3]) for k in range(3)] == [20, 20, 0]


def test_the_acceptance_line_shows_the_preliminary_correction_as_before(shared: tuple[Path, Path, Path],
                                                                       runner: CliRunner, tmp_path: Path) -> None:
    b, city, province = shared
    made = changes(score_files(b, load(CENTER), [city, province]))
    texts = [[e.text for c in s.changes if c.indicator.id == "1.2" for e in c.entries] for s in made.stages]
    assert texts[1] == ["更正“助餐方式”：采取配餐方式 → 未开展助餐服务，按细则重新计分"]
    first = [e.text for c in made.stages[0].changes if c.indicator.id == "1.1" for e in c.entries]
    assert first == ["更正“助餐方式”：自建厨房 → 采取配餐方式，按细则重新计分"]
    out = tmp_path / "意见表.json"
    done = runner.invoke(main, ["diff", str(b), "--rubric", str(CENTER), "--review", str(city), "--review",
                                str(province), "-o", str(out)])
    assert done.exit_code == 0, done.output
    assert "采取配餐方式 → 未开展助餐服务" in out.read_text("utf-8")
    assert "自建厨房 → 未开展助餐服务" not in out.read_text("utf-8")


def test_the_desk_shows_the_value_in_force_at_its_stage(shared: tuple[Path, Path, Path]) -> None:
    b, _, province = shared
    os.remove(province)  # the 验收 not yet begun: its page starts from what the 初评 left in force
    client = TestClient(create_app(Folder(b.parent, CENTER)), base_url=ADDRESS)
    page = client.get("/county/示例中心?stage=验收").text
    for ident in ("1.1", "1.2", "1.3"):  # corrected through 1.1, in force for every indicator reading it
        card = page[page.index(f'id="i-{ident}"'):]
        card = card[: card.index("</article>")]
        assert '<option value="delivered" selected>' in card and '<option value="kitchen" selected>' not in card


def test_a_small_batch_runs_here_and_a_large_one_on_every_core() -> None:
    """Starting workers costs about a second: a few items run in this process, many in the workers."""
    import os

    from scoring.pipeline import batch

    here = batch.run(_pid, list(range(4)), serial_below=5)
    assert here == [os.getpid()] * 4
    if (os.cpu_count() or 1) > 1:
        there = batch.run(_pid, list(range(4)), serial_below=4)
        assert os.getpid() not in there


def _pid(_: int) -> int:
    import os

    return os.getpid()
