"""`scoring score` and `scoring init` as a county would use them."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from jsonschema import Draft202012Validator

from scoring.faces.cli import main
from scoring.loading.validate import schema

from .conftest import GAOQING, MINI, ROOT, SAMPLE, make_bundle

EVIDENCE = ROOT / "evidence"


def score_json(runner: CliRunner, bundle: Path, *args: str) -> dict:
    result = runner.invoke(main, ["score", str(bundle), "--format", "json", *args])
    assert result.exit_code == 0, result.output
    data: dict = json.loads(result.stdout)
    Draft202012Validator(schema("result")).validate(data)
    return data


def test_sample_table(runner: CliRunner) -> None:
    result = runner.invoke(main, ["score", str(SAMPLE)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "高青县" in out and "强制性指标：16/16 项达到满分" in out
    for ident in ("1.1", "4.2", "7.1"):
        assert f"\n{ident} " in out
    assert "总分：" in out and "结论：" in out


def test_sample_json_validates_and_adds_up(runner: CliRunner) -> None:
    data = score_json(runner, SAMPLE)
    assert data["assessee"]["name"] == "高青县"
    assert data["rubric"]["id"] == "gaoqing_2022" and len(data["rubric"]["sha256"]) == 64
    assert data["max_total"] == 100 and len(data["indicators"]) == 33
    assert data["mandatory"] == {"met": 16, "total": 16, "failures": [], "unsupported": []}
    assert not any(i["missing"] for i in data["indicators"])
    # Subtotals and total are sums of the parts, printed exactly.
    for cat in data["categories"]:
        parts = [i["score"] for i in data["indicators"] if i["category"] == cat["id"]]
        assert round(sum(parts), 6) == cat["score"]
    assert round(sum(c["score"] for c in data["categories"]), 6) == data["total"]


def test_same_input_same_bytes(runner: CliRunner, tmp_path: Path) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    for out in (a, b):
        assert runner.invoke(main, ["score", str(SAMPLE), "--format", "json", "-o", str(out)]).exit_code == 0
    assert a.read_bytes() == b.read_bytes()
    assert not list(tmp_path.glob(".*.tmp"))


def test_shortfalls_fail_the_verdict(runner: CliRunner) -> None:
    data = score_json(runner, EVIDENCE / "gaoqing_2022_shortfalls")
    assert data["mandatory"]["failures"]
    assert data["verdict"]["passed"] is False
    assert "强制性指标未达标" in data["verdict"]["text"]


def test_evidence_problems_are_flagged(runner: CliRunner) -> None:
    data = score_json(runner, EVIDENCE / "gaoqing_2022_evidence_problems")
    codes = {f["code"] for i in data["indicators"] for f in i["flags"]}
    assert {"file_missing", "hash_mismatch", "document_date", "no_document"} <= codes
    ind14 = next(i for i in data["indicators"] if i["id"] == "1.4")
    assert ind14["supported_score"] < ind14["score"]
    assert data["supported_total"] < data["total"]
    assert data["mandatory"]["met"] == 16
    assert data["mandatory"]["unsupported"] == ["1.2", "1.4", "4.2", "5.5"]


def test_init_then_score_is_zero_with_every_input_missing(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "blank"
    result = runner.invoke(main, ["init", str(GAOQING), str(target), "--assessee", "某某县"])
    assert result.exit_code == 0, result.output
    text = (target / "bundle.yaml").read_text("utf-8")
    assert "是否已建立党委政府领导" in text  # prompts are there for the county
    data = score_json(runner, target)
    assert data["total"] == 0 and data["mandatory"]["met"] == 0
    declared = json.loads(runner.invoke(main, ["rubric", "show", str(GAOQING), "--format", "json"]).output)
    for cat in declared["categories"]:
        for ind in cat["indicators"]:
            got = next(i for i in data["indicators"] if i["id"] == ind["id"])
            assert sorted(got["missing"]) == sorted(x["name"] for x in ind["inputs"]), ind["id"]
    strict = runner.invoke(main, ["score", str(target), "--strict"])
    assert strict.exit_code == 1 and "有未填报的输入" in strict.output


def test_init_by_rubric_id_and_refuses_to_overwrite(runner: CliRunner, tmp_path: Path) -> None:
    assert runner.invoke(main, ["init", "gaoqing_2022", str(tmp_path / "x")]).exit_code == 0
    again = runner.invoke(main, ["init", "gaoqing_2022", str(tmp_path / "x")])
    assert again.exit_code == 1 and "不会覆盖" in again.output


def test_unanswered_inputs_are_missing_but_gated_ones_are_not(runner: CliRunner, tmp_path: Path) -> None:
    b = make_bundle(tmp_path / "b", {"1.1": {"meeting": False}})
    data = score_json(runner, b, "--rubric", str(MINI))
    ind = data["indicators"][0]
    assert ind["missing"] == []  # no system: who convenes it is moot
    assert data["indicators"][1]["missing"] == ["cases", "policies", "quality"]


def test_help_does_not_import_weasyprint() -> None:
    import subprocess
    import sys

    code = "import sys; from scoring.faces.cli import main; print('weasyprint' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_scoring_a_yaml_bundle_does_not_import_openpyxl() -> None:
    # openpyxl takes a seventh of a second to import: only a bundle with the workbook needs it.
    import subprocess
    import sys

    code = ("import sys; from pathlib import Path; from scoring.loading.bundle import open_bundle; "
            f"open_bundle(Path({str(SAMPLE)!r})); print('openpyxl' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_usage_errors_in_chinese() -> None:
    import subprocess
    import sys

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "scoring", *args], capture_output=True, text=True)

    missing = run("score")
    assert missing.returncode == 2 and "错误：缺少参数 BUNDLE" in missing.stderr
    bad = run("score", str(SAMPLE), "--format", "xml")
    assert bad.returncode == 2 and "参数 '--format' 应为 table、json、csv、xlsx、html、pdf 之一" in bad.stderr
    unknown = run("score", str(SAMPLE), "--bogus")
    assert unknown.returncode == 2 and "没有选项 --bogus" in unknown.stderr
    assert "Traceback" not in missing.stderr + bad.stderr + unknown.stderr


def test_judged_score_shows_the_facts_behind_it(runner: CliRunner) -> None:
    data = score_json(runner, SAMPLE)
    trace = [s["text"] for s in next(i for i in data["indicators"] if i["id"] == "4.1")["trace"]]
    assert trace[:3] == ["千名老年人拥有养老床位数：38.7 张（记录）", "护理型床位占比：56.4%（记录）",
                         "建成县级养老服务信息平台：是（记录）"]


def test_yes_no_and_choice_labels_score_as_true_false_and_codes(runner: CliRunner, tmp_path: Path) -> None:
    words = make_bundle(tmp_path / "words", {"1.1": {"meeting": "是", "convener": "负责同志"},
                                             "2.2": {"met": "是", "accident": "否"}})
    codes = make_bundle(tmp_path / "codes", {"1.1": {"meeting": True, "convener": "leader"},
                                             "2.2": {"met": True, "accident": False}})
    scored = [{i["id"]: i["score"] for i in score_json(runner, b, "--rubric", str(MINI))["indicators"]}
              for b in (words, codes)]
    assert scored[0] == scored[1]
    assert (scored[0]["1.1"], scored[0]["2.2"]) == (3, 2)  # 2 for the system + 1 for 负责同志; 2 with no accident
