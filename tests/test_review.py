"""Review files (初评, 验收): loading, every refusal, the chain on the sample worked out by hand, and
the blank review `scoring review init` writes."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from scoring.domain import engine
from scoring.domain.model import Bundle, Completion, Override, Rubric
from scoring.domain.results import Result
from scoring.faces.cli import main
from scoring.loading import review
from scoring.loading.bundle import open_bundle
from scoring.pipeline import reviews

from .conftest import SAMPLE, copy_tree

REVIEWER = {"初评": ("李明", "淄博市民政局", "2022-12-05"), "验收": ("王芳", "山东省民政厅", "2023-01-10")}


@pytest.fixture(scope="module")
def sample_sha(sample_bundle: Bundle) -> str:
    return sample_bundle.sha256


def review_text(stage: str, sha: str, entries: str, rubric: str = "gaoqing_2022", head: str = "") -> str:
    who, unit, when = REVIEWER[stage]
    return (f"stage: {stage}\nreviewer: {who}\nunit: {unit}\ndate: {when}\nrubric: {rubric}\n"
            f"bundle_sha256: {sha}\n{head}entries:\n{entries}")


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


# The city's 初评 and the province's 验收 of the sample, as in evidence/gaoqing_2022_review_*.yaml.
CITY = """\
  "2.2":
    - reject: D12
      reason: 核查报告由县民政局自行出具，无住建部门意见，未附逐个小区的核查台账。
  "2.3":
    - input: cases_not_implemented
      value: 2
      reason: 抽查发现另有1家民办养老机构用水未执行居民生活类价格。
  "4.4":
    - input: community_facility_level
      value: low
      reason: 实地抽查12处农村幸福院，5处未正常运营，农村助餐覆盖率偏低。
"""
PROVINCE = """\
  "7.1":
    - score: 2
      reason: 农村“长者食堂+邻里互助”助餐模式在全省普遍推行，不作为特色创新计分。
"""


def chain_files(tmp_path: Path, sha: str) -> tuple[Path, Path]:
    return (write(tmp_path, "city.yaml", review_text("初评", sha, CITY)),
            write(tmp_path, "province.yaml", review_text("验收", sha, PROVINCE)))


def score_json(runner: CliRunner, *args: str) -> dict[str, Any]:
    result = runner.invoke(main, ["score", str(SAMPLE), "--format", "json", *args])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def refused(runner: CliRunner, *reviews: Path, expected: tuple[str, ...]) -> str:
    args = [a for r in reviews for a in ("--review", str(r))]
    result = runner.invoke(main, ["score", str(SAMPLE), *args])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.output.startswith("错误："), result.output
    for text in expected:
        assert text in result.output, result.output
    return result.output


# ---------------------------------------------------------------- the chain, by hand


def test_two_stage_chain_on_the_sample(runner: CliRunner, tmp_path: Path, sample_sha: str) -> None:
    city, province = chain_files(tmp_path, sample_sha)
    data = score_json(runner, "--review", str(city), "--review", str(province))
    # 自评 84.2. 初评: 2.3 deduction 1 − 0.3×2 = 0.4, plus the loan 1 → 1.4 (−0.3); 4.4 low → 1 (−1);
    # the rejected D12 leaves 2.2's 100% compliance (1 point) unsupported: total 82.9, supported 81.9.
    # 验收: 7.1 set to 2 (−2): total 80.9, supported 79.9; the 初评's changes stay in force.
    assert data["total"] == 84.2 and data["supported_total"] == 84.2
    city_r, prov_r = data["reviews"]
    assert (city_r["stage"], city_r["reviewer"], city_r["unit"], city_r["date"]) == ("初评", "李明", "淄博市民政局",
                                                                                     "2022-12-05")
    assert (city_r["total"], city_r["supported_total"]) == (82.9, 81.9)
    assert (prov_r["total"], prov_r["supported_total"]) == (80.9, 79.9)
    # A reviewing stage counts 2.2 as met only on evidence it accepts: D12 rejected, 16 − 1 = 15 met.
    for stage in (city_r, prov_r):
        assert stage["mandatory"] == {"met": 15, "total": 16, "failures": [], "unsupported": ["2.2"]}
        assert stage["verdict"]["passed"] is False
        assert stage["verdict"]["reasons"] == [f"强制性指标 2.2 的满分没有{stage['stage']}采信的佐证支持，不计为达标"]
    assert data["verdict"]["passed"] is True  # the self-assessment is judged on its own score
    by_id = {i["id"]: i for i in data["indicators"]}
    assert [r["score"] for r in by_id["2.3"]["reviews"]] == [1.4, 1.4]
    assert [r["score"] for r in by_id["4.4"]["reviews"]] == [1, 1]
    assert [r["score"] for r in by_id["7.1"]["reviews"]] == [4, 2]
    assert [(r["score"], r["supported_score"]) for r in by_id["2.2"]["reviews"]] == [(3, 2), (3, 2)]
    assert by_id["7.1"]["reviews"][1]["overrides"][0]["author"] == "王芳"


def test_an_input_correction_reruns_the_rule(sample_sha: str, tmp_path: Path, gaoqing_rubric: Rubric,
                                             sample_bundle: Bundle) -> None:
    rubric, bundle = gaoqing_rubric, sample_bundle
    city = write(tmp_path, "city.yaml", review_text("初评", sample_sha, CITY))
    (stage,) = reviews.checked([review.read(p) for p in [city]], rubric, bundle)
    result = engine.score(rubric, bundle, [stage])
    ind = next(i for i in result.indicators if i.id == "2.3")
    assert (ind.own.points, ind.final.points) == (Decimal("1.7"), Decimal("1.4"))
    assert any("初评更正" in s.text and "李明" in s.text for s in ind.final.trace)
    over = ind.final.overrides[0]
    assert (over.action, over.target, over.value, over.author, over.file) == (
        "input", "cases_not_implemented", 2, "李明", str(city))
    assert over.line == 12


def test_a_rejected_document_makes_its_claims_unsupported(sample_sha: str, tmp_path: Path, gaoqing_rubric: Rubric,
                                                          sample_bundle: Bundle) -> None:
    rubric, bundle = gaoqing_rubric, sample_bundle
    city = write(tmp_path, "city.yaml", review_text("初评", sample_sha, CITY))
    result = engine.score(rubric, bundle, reviews.checked([review.read(p) for p in [city]], rubric, bundle))
    ind = next(i for i in result.indicators if i.id == "2.2")
    assert (ind.own.supported, ind.final.supported) == (3, 2)
    assert [f.code for f in ind.final.flags] == ["rejected"] and not ind.own.flags
    assert result.final.mandatory.unsupported == ("2.2",) and not result.own.mandatory.unsupported


def test_the_self_score_is_unchanged_by_reviews(runner: CliRunner, tmp_path: Path, sample_sha: str) -> None:
    city, province = chain_files(tmp_path, sample_sha)
    before = score_json(runner)
    after = score_json(runner, "--review", str(city), "--review", str(province))
    assert before["reviews"] == [] and len(after["reviews"]) == 2
    own = ("total", "supported_total", "categories", "mandatory", "verdict", "bundle", "documents")
    assert {k: after[k] for k in own} == {k: before[k] for k in own}
    for b, a in zip(before["indicators"], after["indicators"], strict=True):
        assert {k: v for k, v in a.items() if k != "reviews"} == {k: v for k, v in b.items() if k != "reviews"}


def test_the_table_shows_each_stage(runner: CliRunner, tmp_path: Path, sample_sha: str) -> None:
    city, province = chain_files(tmp_path, sample_sha)
    result = runner.invoke(main, ["score", str(SAMPLE), "--review", str(city), "--review", str(province)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "2、完善支持政策  13.7/15（初评 13.4，验收 13.4）" in out
    row = next(line for line in out.splitlines() if line.startswith("7.1"))
    assert row.split()[-3:] == ["4", "2", "验收调整"]
    row = next(line for line in out.splitlines() if line.startswith("2.2"))
    assert "文件未采信" in row and "初评调整" in row
    assert "初评（淄博市民政局 李明，2022-12-05）：调整 3 项指标" in out
    assert "初评总分：82.9（有据得分 81.9）" in out and "验收总分：80.9（有据得分 79.9）" in out
    assert "初评：强制性指标：15/16 项达标（2.2 满分没有初评采信的佐证支持，不计为达标）" in out
    assert "验收结论：未达到创建标准：强制性指标 2.2 的满分没有验收采信的佐证支持，不计为达标" in out
    assert "  - 2.2 设施配建“四同步”机制：初评得分 3 分，其中有据 2 分（社区养老服务设施配建达标率：所引文件经评审未予采信" in out


# ---------------------------------------------------------------- refusals


def test_unknown_indicator(runner: CliRunner, tmp_path: Path, sample_sha: str) -> None:
    f = write(tmp_path, "r.yaml", review_text("初评", sample_sha, '  "9.9":\n    - score: 1\n      reason: 无\n'))
    refused(runner, f, expected=(str(f), "第 9 行", "评分细则中没有指标 “9.9”"))


def test_unknown_input(runner: CliRunner, tmp_path: Path, sample_sha: str) -> None:
    f = write(tmp_path, "r.yaml", review_text(
        "初评", sample_sha, '  "2.3":\n    - input: nope\n      value: 1\n      reason: 无\n'))
    refused(runner, f, expected=(str(f), "第 9 行", "指标 2.3", "没有输入 “nope”", "cases_not_implemented"))


def test_unknown_document(runner: CliRunner, tmp_path: Path, sample_sha: str) -> None:
    f = write(tmp_path, "r.yaml", review_text("初评", sample_sha, '  "2.2":\n    - reject: D99\n      reason: 无\n'))
    refused(runner, f, expected=(str(f), "第 9 行", "指标 2.2", "材料包中没有文件编号 “D99”"))


def test_document_the_indicator_does_not_cite(runner: CliRunner, tmp_path: Path, sample_sha: str) -> None:
    f = write(tmp_path, "r.yaml", review_text("初评", sample_sha, '  "2.2":\n    - reject: D01\n      reason: 无\n'))
    refused(runner, f, expected=("指标 2.2 的填报没有引用文件 D01", "D11、D12"))


@pytest.mark.parametrize(("value", "why"), [("3.5", "3.5 无效"), ("-1", "过小"), ("1.5", "1.5 无效"),
                                            ('"2"', "类型错误")])
def test_score_out_of_range_or_off_step(runner: CliRunner, tmp_path: Path, sample_sha: str, value: str,
                                        why: str) -> None:
    f = write(tmp_path, "r.yaml", review_text(
        "初评", sample_sha, f'  "2.2":\n    - score: {value}\n      reason: 无\n'))
    refused(runner, f, expected=(str(f), "第 9 行", why))


def test_score_message_names_max_and_step(runner: CliRunner, tmp_path: Path, sample_sha: str) -> None:
    f = write(tmp_path, "r.yaml", review_text("初评", sample_sha, '  "2.3":\n    - score: 1.75\n      reason: 无\n'))
    refused(runner, f, expected=("指标 2.3", "应在 0 至 2 分之间，且为 0.1 分的整数倍"))


@pytest.mark.parametrize(("reason", "line", "why"), [("", 9, "缺少必填项 “reason”"),
                                                     ("      reason: ''\n", 10, "reason：不能为空"),
                                                     ("      reason: '  '\n", 10, "理由（reason）不能为空")])
def test_missing_reason(runner: CliRunner, tmp_path: Path, sample_sha: str, reason: str, line: int,
                        why: str) -> None:
    f = write(tmp_path, "r.yaml", review_text("初评", sample_sha, '  "7.1":\n    - score: 2\n' + reason))
    refused(runner, f, expected=(str(f), f"第 {line} 行", "指标 7.1" if line == 10 and "理由" in why else "", why))


def test_two_actions_in_one_entry(runner: CliRunner, tmp_path: Path, sample_sha: str) -> None:
    f = write(tmp_path, "r.yaml", review_text(
        "初评", sample_sha, '  "7.1":\n    - score: 2\n      reject: D46\n      reason: 无\n'))
    refused(runner, f, expected=("每条评审意见只能做一件事", "score、reject"))


def test_the_same_change_twice(runner: CliRunner, tmp_path: Path, sample_sha: str) -> None:
    f = write(tmp_path, "r.yaml", review_text(
        "初评", sample_sha, '  "7.1":\n    - score: 2\n      reason: 甲\n    - score: 4\n      reason: 乙\n'))
    refused(runner, f, expected=("第 11 行", "写了两次（第一次在第 9 行）"))


def test_review_of_another_bundle(runner: CliRunner, tmp_path: Path, sample_sha: str) -> None:
    f = write(tmp_path, "r.yaml", review_text("初评", "f" * 64, CITY))
    out = refused(runner, f, expected=(str(f), "第 6 行", "另一个材料包", "ffffffffffff…", sample_sha[:12] + "…",
                                       "scoring review carry"))
    assert "重新报送" in out


def test_review_of_a_changed_bundle(runner: CliRunner, tmp_path: Path, sample_sha: str) -> None:
    resubmitted = copy_tree(SAMPLE, tmp_path / "b")
    manifest = resubmitted / "bundle.yaml"
    manifest.write_text(manifest.read_text("utf-8") + "\n# 补充材料\n", "utf-8")
    f = write(tmp_path, "r.yaml", review_text("初评", sample_sha, CITY))
    result = runner.invoke(main, ["score", str(resubmitted), "--review", str(f)])
    assert result.exit_code == 1 and "另一个材料包" in result.output and sample_sha[:12] in result.output


def test_review_for_another_rubric(runner: CliRunner, tmp_path: Path, sample_sha: str) -> None:
    f = write(tmp_path, "r.yaml", review_text("初评", sample_sha, CITY, rubric="qingdao_2023"))
    refused(runner, f, expected=(str(f), "第 5 行", "“qingdao_2023”", "“gaoqing_2022”"))


def test_acceptance_without_preliminary_review(runner: CliRunner, tmp_path: Path, sample_sha: str) -> None:
    f = write(tmp_path, "p.yaml", review_text("验收", sample_sha, PROVINCE))
    refused(runner, f, expected=(str(f), "第 1 行", "只有“验收”而没有“初评”"))


def test_stages_out_of_order(runner: CliRunner, tmp_path: Path, sample_sha: str) -> None:
    city, province = chain_files(tmp_path, sample_sha)
    refused(runner, province, city, expected=(str(province), "顺序不对", "自评 → 验收 → 初评"))


def test_a_stage_twice(runner: CliRunner, tmp_path: Path, sample_sha: str) -> None:
    city, _ = chain_files(tmp_path, sample_sha)
    refused(runner, city, city, expected=("评审阶段“初评”给了两次",))


@pytest.mark.parametrize(("head", "expected"), [
    ("stage: 复核\n", "评审阶段“复核”无效：应为 初评、验收 之一"),
    ("date: 2022-02-30\n", "日期 “2022-02-30” 不存在"),
    ("reviewer: ''\n", "没有填写评审人"),
])
def test_bad_header(runner: CliRunner, tmp_path: Path, sample_sha: str, head: str, expected: str) -> None:
    text = review_text("初评", sample_sha, CITY)
    key = head.split(":")[0]
    text = "\n".join(line for line in text.splitlines() if not line.startswith(key + ":")) + "\n" + head
    refused(runner, write(tmp_path, "r.yaml", text), expected=(expected,))


def test_bad_correction_value_names_the_review(runner: CliRunner, tmp_path: Path, sample_sha: str) -> None:
    f = write(tmp_path, "r.yaml", review_text(
        "初评", sample_sha, '  "4.4":\n    - input: community_facility_level\n      value: top\n      reason: 无\n'))
    refused(runner, f, expected=(str(f), "第 9 行", "指标 4.4 输入 community_facility_level", "“top”"))


def test_hostile_review_file(runner: CliRunner, tmp_path: Path, sample_sha: str) -> None:
    f = write(tmp_path, "r.yaml", review_text("初评", sample_sha, '  "7.1": &a []\n  "7.2": *a\n'))
    refused(runner, f, expected=("锚点和别名",))
    big = write(tmp_path, "big.yaml", review_text("初评", sample_sha, "") + "#" * (2 * 1024 * 1024))
    refused(runner, big, expected=("文件过大",))
    refused(runner, tmp_path / "none.yaml", expected=("评审意见文件不存在",))


# ---------------------------------------------------------------- review init


def test_review_init_loads_back_and_changes_nothing(runner: CliRunner, tmp_path: Path, gaoqing_rubric: Rubric,
                                                    sample_bundle: Bundle) -> None:
    out = tmp_path / "初评.yaml"
    result = runner.invoke(main, ["review", "init", str(SAMPLE), "-o", str(out), "--unit", "淄博市民政局",
                                  "--reviewer", "李明"])
    assert result.exit_code == 0, result.output
    text = out.read_text("utf-8")
    assert 'unit: "淄博市民政局"' in text and "stage: 初评" in text and "rubric: gaoqing_2022" in text
    rubric, bundle = gaoqing_rubric, sample_bundle
    (stage,) = reviews.checked([review.read(p) for p in [out]], rubric, bundle)
    assert stage.name == "初评" and stage.author == "李明" and stage.overrides == ()
    result_ = engine.score(rubric, bundle, [stage])
    assert replace(result_.final.totals, mandatory=replace(result_.final.mandatory, judged="")) == result_.own.totals
    assert result_.final.mandatory.judged == "初评" and result_.final.verdict == result_.own.verdict


def test_review_init_lists_unsupported_and_mandatory_first(runner: CliRunner, tmp_path: Path,
                                                            gaoqing_rubric: Rubric) -> None:
    bundle = copy_tree(SAMPLE, tmp_path / "b")
    (bundle / "documents" / "D21_高民发〔2021〕25号_特殊老年人巡访.txt").unlink()  # 3.2 (mandatory)
    (bundle / "documents" / "D43_高民发〔2022〕6号_连锁化运营.txt").unlink(missing_ok=True)
    manifest = (bundle / "bundle.yaml").read_text("utf-8")
    d43 = next(line for line in manifest.splitlines() if "file: documents/D43" in line).split("file: ")[1]
    (bundle / d43).unlink()  # 6.2 (advisory)
    out = tmp_path / "验收.yaml"
    result = runner.invoke(main, ["review", "init", str(bundle), "-o", str(out), "--stage", "验收"])
    assert result.exit_code == 0, result.output
    assert "其中佐证不足 2 项" in result.output
    text = out.read_text("utf-8")
    entries, fingerprints = text.split("entries:")[1].split("\nfingerprints:\n")
    order = [line.split('"')[1] for line in entries.splitlines() if line.startswith('  "')]
    assert order[:2] == ["3.2", "6.2"]
    assert len(fingerprints.splitlines()) == 33
    rubric = gaoqing_rubric
    mandatory = [i.id for i in rubric.indicators if i.mandatory and i.id != "3.2"]
    assert order[2:2 + len(mandatory)] == mandatory
    assert len(order) == len(rubric.indicators) == len(set(order))
    assert "# 标记：文件缺失" in text
    assert "stage: 验收" in text
    stage = review.read(out).stage
    assert stage.name == "验收" and not stage.overrides


def test_review_init_refuses_output_inside_the_bundle(runner: CliRunner, tmp_path: Path) -> None:
    bundle = copy_tree(SAMPLE, tmp_path / "b")
    result = runner.invoke(main, ["review", "init", str(bundle), "-o", str(bundle / "r.yaml")])
    assert result.exit_code == 1 and "输出文件不能写在材料包内" in result.output
    assert not (bundle / "r.yaml").exists()


def test_review_init_keeps_bundle_text_in_comments(runner: CliRunner, tmp_path: Path) -> None:
    bundle = copy_tree(SAMPLE, tmp_path / "b")
    manifest = bundle / "bundle.yaml"
    text = manifest.read_text("utf-8").replace(
        '"1.3":\n    in_assessment: {value: true, documents: [D06]}',
        '"1.3":\n    in_assessment: {value: "是\\nentries: {x: 1}\\u2028stage: 验收", documents: [D06]}')
    manifest.write_text(text, "utf-8")
    out = tmp_path / "r.yaml"
    result = runner.invoke(main, ["review", "init", str(bundle), "-o", str(out)])
    # The bundle's bad answer is refused when scoring, before any file is written.
    assert result.exit_code == 1 and not out.exists()
    assert review._comment("是\nentries: {x: 1}\u2028stage: 验收") == "是 entries: {x: 1} stage: 验收"


# ---------------------------------------------------------------- the shipped examples


def test_the_shipped_examples_give_the_hand_worked_figures(runner: CliRunner) -> None:
    from .conftest import ROOT

    city = ROOT / "evidence" / "gaoqing_2022_review_city.yaml"
    province = ROOT / "evidence" / "gaoqing_2022_review_province.yaml"
    data = score_json(runner, "--review", str(city), "--review", str(province))
    assert [(r["stage"], r["total"], r["supported_total"], r["mandatory"]["met"], r["mandatory"]["unsupported"],
             r["verdict"]["passed"]) for r in data["reviews"]] == [
        ("初评", 82.9, 81.9, 15, ["2.2"], False), ("验收", 80.9, 79.9, 15, ["2.2"], False)]
    for path, figures in ((city, ("82.9", "81.9")), (province, ("80.9", "79.9"))):
        head = path.read_text("utf-8").split("stage:")[0]
        assert all(f in head for f in figures)


# ---------------------------------------------------------------- carrying a review to a resubmitted bundle


def resubmit(tmp_path: Path) -> Path:
    """The sample resubmitted after the 初评: the county accepts a second case under 2.3, and adds the
    housing bureau's ledger to D12 (cited by 2.2 only)."""
    bundle = copy_tree(SAMPLE, tmp_path / "new")
    manifest = bundle / "bundle.yaml"
    text = manifest.read_text("utf-8").replace("    cases_not_implemented:\n      value: 1\n",
                                               "    cases_not_implemented:\n      value: 2\n")
    (d12,) = (bundle / "documents").glob("D12_*")
    old = hashlib.sha256(d12.read_bytes()).hexdigest()
    d12.write_bytes(d12.read_bytes() + "\n附：逐个小区核查台账（住建局会签）。\n".encode())
    manifest.write_text(text.replace(old, hashlib.sha256(d12.read_bytes()).hexdigest()), "utf-8")
    return bundle


def carry(runner: CliRunner, old: Path, bundle: Path, out: Path) -> str:
    result = runner.invoke(main, ["review", "carry", str(old), str(bundle), "-o", str(out)])
    assert result.exit_code == 0, result.output
    return result.output


def test_carry_marks_exactly_the_changed_indicators(runner: CliRunner, tmp_path: Path) -> None:
    from .conftest import ROOT

    bundle, out = resubmit(tmp_path), tmp_path / "初评_结转.yaml"
    said = carry(runner, ROOT / "evidence" / "gaoqing_2022_review_city.yaml", bundle, out)
    assert "材料有变化的指标 2 项（2.2、2.3）" in said and "2 条评审意见标为待复核" in said
    carried = review.read(out)
    assert carried.bundle_sha256 == open_bundle(bundle).sha256
    assert [(o.indicator, o.action) for o in carried.stage.pending] == [("2.2", "reject"), ("2.3", "input")]
    assert [(o.indicator, o.target, o.value) for o in carried.stage.overrides] == [
        ("4.4", "community_facility_level", "low")]
    assert carried.stage.overrides[0].reason.startswith("实地抽查12处农村幸福院")
    assert (carried.stage.author, carried.stage.unit, carried.stage.date) == ("李明", "淄博市民政局", "2022-12-05")
    entries = out.read_text("utf-8").split("entries:")[1].split("\nfingerprints:")[0]
    order = [line.split('"')[1] for line in entries.splitlines() if line.startswith('  "')]
    assert order[:2] == ["2.2", "2.3"]
    # By hand: the new self-score is 84.2 − 0.3 = 83.9 (2.3 now 1 − 0.3×2 + 1 = 1.4); only 4.4's ruling
    # applies (−1): 82.9, fully supported since D12's rejection waits for the re-check.
    data = json.loads(runner.invoke(main, ["score", str(bundle), "--format", "json", "--review", str(out)]).stdout)
    assert (data["total"], data["reviews"][0]["total"], data["reviews"][0]["supported_total"]) == (83.9, 82.9, 82.9)


def test_carry_onto_the_same_bundle_keeps_every_ruling(runner: CliRunner, tmp_path: Path) -> None:
    from .conftest import ROOT

    out = tmp_path / "again.yaml"
    said = carry(runner, ROOT / "evidence" / "gaoqing_2022_review_city.yaml", SAMPLE, out)
    assert "材料有变化的指标 0 项" in said and "recheck" not in out.read_text("utf-8").split("entries:")[1]
    data = score_json(runner, "--review", str(out))
    assert (data["reviews"][0]["total"], data["reviews"][0]["supported_total"]) == (82.9, 81.9)
    # Carried twice, a pending entry stays pending even where nothing changed since.
    bundle = resubmit(tmp_path)
    first, second = tmp_path / "1.yaml", tmp_path / "2.yaml"
    carry(runner, out, bundle, first)
    carry(runner, first, bundle, second)
    assert len(review.read(second).stage.pending) == 2


def test_carry_refusals(runner: CliRunner, tmp_path: Path, sample_sha: str) -> None:
    bare = write(tmp_path, "bare.yaml", review_text("初评", sample_sha, CITY))
    result = runner.invoke(main, ["review", "carry", str(bare), str(SAMPLE), "-o", str(tmp_path / "o.yaml")])
    assert result.exit_code == 1 and "没有各指标的材料指纹" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "o.yaml").exists()
    result = runner.invoke(main, ["review", "carry", str(bare), str(SAMPLE), "-o", str(bare)])
    assert result.exit_code == 1 and "不能覆盖原评审意见文件" in result.output
    other = write(tmp_path, "other.yaml", review_text("初评", sample_sha, "", rubric="mini")
                  + 'fingerprints:\n  "1.1": "0123456789abcdef"\n')
    result = runner.invoke(main, ["review", "carry", str(other), str(SAMPLE), "-o", str(tmp_path / "o.yaml")])
    assert result.exit_code == 1 and "评分细则是 “mini”" in result.output


# ---------------------------------------------------------------- writing a stage back (the review desk)


def test_a_stage_written_back_reads_the_same(runner: CliRunner, tmp_path: Path, gaoqing_rubric: Rubric,
                                            sample_bundle: Bundle, sample_result: Result) -> None:
    from .conftest import ROOT

    rubric, bundle = gaoqing_rubric, sample_bundle
    city = review.read(ROOT / "evidence" / "gaoqing_2022_review_city.yaml")
    added = Override("7.1", "score", "", Decimal(2), "新的理由", "李明")
    stage = reviews.check(city, rubric, bundle)
    stage = replace(stage, overrides=(*stage.overrides, added))
    text = review.write(stage, sample_result)
    again = review.parse(text.encode(), "again.yaml")
    assert again.fingerprints == city.fingerprints
    assert [(o.indicator, o.action, o.target, o.value, o.reason) for o in again.stage.overrides] == [
        (o.indicator, o.action, o.target, o.value, o.reason) for o in stage.overrides]
    out = write(tmp_path, "again.yaml", text)
    data = score_json(runner, "--review", str(out))
    assert (data["reviews"][0]["total"], data["reviews"][0]["supported_total"]) == (80.9, 79.9)


def test_a_correction_may_give_the_choice_label(sample_sha: str, tmp_path: Path, gaoqing_rubric: Rubric,
                                               sample_bundle: Bundle) -> None:
    rubric, bundle = gaoqing_rubric, sample_bundle
    by_label = CITY.replace("value: low", "value: 三档（1分）")
    city = write(tmp_path, "city.yaml", review_text("初评", sample_sha, by_label))
    result = engine.score(rubric, bundle, reviews.checked([review.read(p) for p in [city]], rubric, bundle))
    ind = next(i for i in result.indicators if i.id == "4.4")
    assert (ind.own.points, ind.final.points) == (2, 1)  # 二档 → 三档, as with the code `low`


# ---------------------------------------------------------------- a stage marked finished (初评完成)

DONE = 'completed:\n  reviewer: "李明"\n  unit: "淄博市民政局"\n  at: "2022-12-05T16:30:00+08:00"\n'


def test_a_finished_stage_reads_back_and_scores_as_before(runner: CliRunner, tmp_path: Path,
                                                         sample_result: Result) -> None:
    path = write(tmp_path, "done.yaml", review_text("初评", sample_result.bundle.sha256, CITY, head=DONE))
    stage = review.read(path).stage
    assert stage.completed == Completion("李明", "淄博市民政局", "2022-12-05T16:30:00+08:00")
    again = review.parse(review.write(stage, sample_result).encode(), "again.yaml")
    assert again.stage.completed == stage.completed
    data = score_json(runner, "--review", str(path))  # scoring ignores it: the city's worked 初评
    assert (data["reviews"][0]["total"], data["reviews"][0]["supported_total"]) == (82.9, 81.9)
    # Carried to a resubmitted bundle, whose changed indicators wait to be re-checked, it is open again.
    kept = write(tmp_path, "kept.yaml", review.write(stage, sample_result))
    carry(runner, kept, resubmit(tmp_path), tmp_path / "carried.yaml")
    carried = review.read(tmp_path / "carried.yaml").stage
    assert carried.pending and carried.completed is None


@pytest.mark.parametrize(("change", "expected"), [
    (lambda t: t.replace("date: 2022-12-05\n", "").split("entries:")[0] + "entries:\n",
     ("已标记完成（completed），但没有填写评审人或评审日期", "第 6 行")),
    (lambda t: t.replace("实地抽查12处农村幸福院，5处未正常运营，农村助餐覆盖率偏低。\n",
                         "实地抽查12处农村幸福院，5处未正常运营，农村助餐覆盖率偏低。\n      recheck: true\n"),
     ("已标记完成（completed），但指标 4.4 还有待复核的意见", "第 7 行")),
    (lambda t: t.replace('  at: "2022-12-05T16:30:00+08:00"\n', ""), ("completed",)),
])
def test_a_finished_stage_with_something_open_is_refused(runner: CliRunner, tmp_path: Path, sample_sha: str,
                                                        change: Any, expected: tuple[str, ...]) -> None:
    text = change(review_text("初评", sample_sha, CITY, head=DONE))
    refused(runner, write(tmp_path, "r.yaml", text), expected=expected)
