"""What text costs per character and what it may ask the papers to print: cleaning is linear and comes after
the length checks, answers' reasons and notes and every review entry count toward the text budgets, and a long
unbroken run reaches WeasyPrint with break opportunities. The worst cases at the full limits, rendered, run with
SCORING_LONG_TESTS=1."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from scoring.base import limits, text
from scoring.base.errors import ScoringError
from scoring.faces.cli import main
from scoring.loading import bundle as bundle_mod
from scoring.loading import review, validate

from .conftest import MINI, make_bundle

LRE, RLE, PDF, FSI, PDI = "\u202a", "\u202b", "\u202c", "\u2068", "\u2069"


def cpu_seconds(given: str) -> float:
    """The CPU time `text.clean` takes on `given`, the better of two runs (the machine is shared)."""
    best = float("inf")
    for _ in range(2):
        start = time.process_time()
        text.clean(given)
        best = min(best, time.process_time() - start)
    return best


# 240 KB of direction controls as a file holds them (three bytes each in UTF-8): 80,000 characters.
@pytest.mark.parametrize("shape", [
    LRE * 40_000 + PDI * 40_000,  # every PDI closes nothing: the old search ran over 40,000 open embeddings each
    FSI + RLE * 40_000 + PDI * 39_999,  # looks isolated already: the inside is checked, then sealed
], ids=["unmatched", "isolated-outside"])
def test_nested_embeddings_clean_in_linear_time(shape: str) -> None:
    # These took 45 s when each PDI searched the open controls; one pass takes a few hundredths of a second.
    assert len(shape.encode()) >= 240_000
    assert cpu_seconds(shape) < 0.5


def test_sealing_drops_only_what_closes_nothing() -> None:
    # Worked by hand: LRE a PDI PDF PDF b. The PDI closes no isolate (dropped), the first PDF closes the LRE
    # (kept), the second closes nothing (dropped); the whole is then isolated.
    assert text.clean(f"{LRE}a{PDI}{PDF}{PDF}b") == f"{FSI}{LRE}a{PDF}b{PDI}"
    already = f"{FSI}{RLE}x{PDF}{PDI}"  # one isolate already, read back: kept as it is
    assert text.clean(already) == already
    assert text.clean("县里的说明\u2028第二行") == "县里的说明\n第二行"  # ordinary text: only the line break


def test_a_long_text_file_is_refused_before_it_is_cleaned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    b = make_bundle(tmp_path / "b", statements={"1.1": {"file": "s.txt"}})
    (b / "s.txt").write_text(LRE * (limits.TEXT_CHARS + 1), "utf-8")

    def not_now(*args: object) -> str:
        raise AssertionError("cleaned before its length was checked")

    monkeypatch.setattr(validate, "clean_text", not_now)
    with pytest.raises(ScoringError, match=f"statements.1.1 的文字过长（{limits.TEXT_CHARS + 1} 字，上限 {limits.TEXT_CHARS} 字）"):
        bundle_mod.open_bundle(b)


# ---------------------------------------------------------------- reasons and notes in the text budgets


def refused(runner: CliRunner, args: list[str], *expected: str) -> None:
    result = runner.invoke(main, args)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and result.output.startswith("错误：")
    for part in expected:
        assert part in result.output, result.output


def explained(tmp_path: Path) -> Path:
    """20 characters of 工作说明, a reason of 30 and a note of 30: 80 of the report's own words, 3 lines."""
    answer = {"value": True, "reason": "理" * 30, "note": "注" * 30}
    return make_bundle(tmp_path / "b", {"1.1": {"meeting": answer}}, statements={"1.1": "说" * 20})


def test_reasons_and_notes_count_toward_all_texts(runner: CliRunner, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    b = explained(tmp_path)
    monkeypatch.setattr(limits, "TEXTS_CHARS", 80)
    bundle_mod.open_bundle(b)
    monkeypatch.setattr(limits, "TEXTS_CHARS", 79)  # the note is the text that passes it
    refused(runner, ["score", str(b), "--rubric", str(MINI)], f"{b}/bundle.yaml", "报告文字合计过长（80 字，上限 79 字",
            "到指标 1.1 输入 meeting 的备注（note）处超出")


def test_reasons_and_notes_count_toward_the_lines(runner: CliRunner, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    b = explained(tmp_path)
    monkeypatch.setattr(limits, "TEXT_LINES", 3)
    bundle_mod.open_bundle(b)
    monkeypatch.setattr(limits, "TEXT_LINES", 2)  # the reason's line is the second, the note's the third
    refused(runner, ["score", str(b), "--rubric", str(MINI)], "报告文字合计行数过多（3 行，上限 2 行",
            "到指标 1.1 输入 meeting 的备注（note）处超出")


def test_one_reason_within_one_text(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    b = explained(tmp_path)
    monkeypatch.setattr(limits, "TEXT_CHARS", 30)
    bundle_mod.open_bundle(b)
    monkeypatch.setattr(limits, "TEXT_CHARS", 29)
    refused(runner, ["score", str(b), "--rubric", str(MINI)], f"{b}/bundle.yaml", "指标 1.1 输入 meeting",
            "打分理由（reason）过长（30 字，上限 29 字）")


# ---------------------------------------------------------------- review entries in their budgets


def review_file(tmp_path: Path, bundle: Path) -> Path:
    """Three entries, the second waiting to be re-checked. Each prints its reason (20 characters), its value
    or target and its reviewer: 20 + 1 (“1”) + 2 (李明), 20 + 2 (“D1”) + 2, 20 + 1 (“2”) + 2 = 70."""
    sha = bundle_mod.open_bundle(bundle).sha256
    path = tmp_path / "初评.yaml"
    path.write_text(f"""stage: 初评
reviewer: 李明
date: 2022-12-05
rubric: mini
bundle_sha256: {sha}
entries:
  "1.1":
    - score: 1
      reason: {"甲" * 20}
  "2.1":
    - reject: D1
      reason: {"乙" * 20}
      recheck: true
  "1.2":
    - score: 2
      reason: {"丙" * 20}
""", "utf-8")
    return path


def test_review_entries_budget_counts_rechecks(runner: CliRunner, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    b = make_bundle(tmp_path / "b")
    path = review_file(tmp_path, b)
    monkeypatch.setattr(limits, "REVIEW_ENTRIES", 3)
    assert len(review.read(path).stage.pending) == 1
    monkeypatch.setattr(limits, "REVIEW_ENTRIES", 2)
    refused(runner, ["diff", str(b), "--rubric", str(MINI), "--review", str(path), "-o", str(tmp_path / "意见表.pdf")],
            str(path), "评审意见过多（3 条，上限 2 条，待复核的也计入）", "到指标 1.2处超出")
    assert not (tmp_path / "意见表.pdf").exists()


def test_review_text_budget(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    b = make_bundle(tmp_path / "b")
    path = review_file(tmp_path, b)
    monkeypatch.setattr(limits, "REVIEW_CHARS", 70)
    review.read(path)
    monkeypatch.setattr(limits, "REVIEW_CHARS", 69)
    refused(runner, ["score", str(b), "--rubric", str(MINI), "--review", str(path)], str(path), "第 15 行",
            "评审意见文字合计过长（70 字，上限 69 字", "到指标 1.2处超出")


def test_a_pending_value_counts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A correction waiting to be re-checked is not checked against its input, but its value is still printed:
    # [丁…，…] is 1 + 6 × 10 + 5 + 1 = 67 characters, so the entry is 20 + 8 (coverage) + 67 + 2 = 97.
    b = make_bundle(tmp_path / "b")
    path = review_file(tmp_path, b)
    path.write_text(path.read_text("utf-8").replace(
        "    - reject: D1\n", f"    - input: coverage\n      value: [{', '.join(['丁' * 10] * 6)}]\n"), "utf-8")
    monkeypatch.setattr(limits, "REVIEW_CHARS", 23 + 97 + 23)
    review.read(path)
    monkeypatch.setattr(limits, "REVIEW_CHARS", 23 + 97 + 23 - 1)
    with pytest.raises(ScoringError, match="评审意见文字合计过长（143 字"):
        review.read(path)


# ---------------------------------------------------------------- long unbroken runs in the papers


def test_a_long_run_reaches_weasyprint_with_break_opportunities(tmp_path: Path) -> None:
    from scoring.papers.report import self_evaluation_html, template_dirs
    from scoring.papers.report.render import RUN, ZWSP, render_html
    from scoring.pipeline.folder import RubricChoice, score_files

    assert RUN == 64  # the figures below are worked out for it
    b = make_bundle(tmp_path / "b", statements={"1.1": "详见" + "X" * 1000}, narrative={"overview": "a" * 64})
    html = self_evaluation_html(score_files(b, RubricChoice.of(str(MINI))))
    run = next(r for r in re.findall(f"X[X{ZWSP}]*", html) if len(r) > RUN)
    assert run.split(ZWSP) == ["X" * 64] * 15 + ["X" * 40]  # 1,000 = 15 × 64 + 40
    assert "a" * 64 in html and "a" * 64 + ZWSP not in html  # a run of 64 (a SHA-256) is left whole
    page = render_html("desk/message.html", template_dirs(None), False, title="标题", text="Y" * 200)
    assert "Y" * 200 in page and ZWSP not in page  # the desk shows text exactly, for a reviewer to copy
