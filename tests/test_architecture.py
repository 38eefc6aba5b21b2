"""docs/architecture.md stays true: every module is on the map, the folders are the layers it draws, and
the forbidden arrows do not exist, on each module's whole import closure (what it imports, what that
imports, and so on), lazy imports inside functions included."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

from .conftest import ROOT

PACKAGE = ROOT / "scoring"
LAYERS = ("base", "domain", "loading", "papers", "pipeline", "jobs", "faces")
ENGINE = "domain.engine"


def _module(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE).with_suffix("").parts).removesuffix(".__init__").removesuffix("__init__")


MODULES = {_module(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer(name: str) -> str:
    return name.split(".")[0]


@cache
def imports(name: str) -> frozenset[str]:
    """What a module imports: the package's own modules by their name inside it (domain.model), and the
    top-level name of anything else. `from scoring.domain import model` names the module domain.model."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(MODULES[name].read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{name}: the package's own imports are absolute"
            mod = node.module or ""
            found.add(mod)
            found.update(f"{mod}.{a.name}" for a in node.names if f"{mod}.{a.name}".removeprefix("scoring.") in MODULES)
    own = {n.removeprefix("scoring.") for n in found if n.startswith("scoring.")}
    return frozenset({n for n in own if n in MODULES and n not in LAYERS}
                     | {n.split(".")[0] for n in found if not n.startswith("scoring")})


@cache
def closure(name: str) -> frozenset[str]:
    """Every module of the package `name` reaches through imports, itself excluded."""
    seen: set[str] = set()
    todo = [name]
    while todo:
        for n in imports(todo.pop()):
            if n in MODULES and n not in seen:
                seen.add(n)
                todo.append(n)
    return frozenset(seen - {name})


def own(names: frozenset[str]) -> set[str]:
    return {n for n in names if n in MODULES}


def test_every_module_is_on_the_map() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text("utf-8")
    for path in MODULES.values():
        rel = path.relative_to(ROOT).as_posix()
        assert f"`{rel}`" in text, f"{rel} is missing from docs/architecture.md"


def test_every_module_sits_in_a_layer() -> None:
    loose = [n for n in MODULES if n and n not in LAYERS and layer(n) not in LAYERS and n != "__main__"]
    assert loose == []


@pytest.mark.parametrize("name", sorted(n for n in MODULES if layer(n) == "base"))
def test_base_imports_only_base(name: str) -> None:
    assert {layer(n) for n in closure(name)} <= {"base"}


@pytest.mark.parametrize("name", sorted(n for n in MODULES if layer(n) == "domain"))
def test_the_domain_imports_nothing_above_it(name: str) -> None:
    assert {layer(n) for n in closure(name)} <= {"base", "domain"}


def test_the_model_is_the_floor_of_the_domain() -> None:
    assert {n for n in closure("domain.model") if layer(n) == "domain"} == set()


def test_the_engine_never_reads_the_records() -> None:
    """A city's summary and a committee's rating are built from results; scoring one bundle needs neither."""
    assert {n for n in closure("domain.records") if layer(n) == "domain"} == {"domain.model"}
    for name in (ENGINE, "domain.rules", "domain.inputs"):
        assert "domain.records" not in closure(name), name


@pytest.mark.parametrize("name", sorted(n for n in MODULES if layer(n) in ("loading", "papers")))
def test_loaders_and_papers_stand_on_the_domain_not_the_engine(name: str) -> None:
    """A loader builds the model's types and a paper reads them; neither scores, so neither reaches the
    engine, and a loader reaches no paper (nor a paper a loader)."""
    reached = closure(name)
    assert ENGINE not in reached
    other = "papers" if layer(name) == "loading" else "loading"
    assert {n for n in reached if layer(n) in (other, "pipeline", "jobs", "faces")} == set()


def test_only_the_rubric_loader_reaches_the_rule_registry() -> None:
    """Rule kinds build and lint a rubric when it is read; after that an indicator carries its step and
    words its answers itself, so no paper, no other loader and no face needs the registry."""
    reached = {n for n in MODULES if "domain.rules" in closure(n) and layer(n) in ("loading", "papers", "faces")}
    assert reached == {"loading.rubric"} | {n for n in reached if "loading.rubric" in closure(n)}
    assert not {n for n in MODULES if layer(n) in ("papers", "faces") and "domain.rules" in imports(n)}


def test_only_the_pipeline_imports_both_loading_and_the_engine() -> None:
    both = [n for n in MODULES if ENGINE in imports(n) and any(layer(m) == "loading" for m in imports(n))]
    assert both and {layer(n) for n in both} == {"pipeline"}
    direct = {n for n in MODULES if ENGINE in imports(n)}
    assert {layer(n) for n in direct} <= {"domain", "pipeline"}


@pytest.mark.parametrize("name", sorted(n for n in MODULES if layer(n) == "jobs"))
def test_no_job_imports_another(name: str) -> None:
    reached = closure(name)
    assert {n for n in reached if layer(n) == "jobs"} == set()
    assert {n for n in reached if layer(n) == "faces"} == set()


def test_the_pipeline_is_below_the_jobs_and_faces() -> None:
    for name in (n for n in MODULES if layer(n) == "pipeline"):
        assert {layer(n) for n in closure(name)} <= {"base", "domain", "loading", "pipeline"}


def test_render_knows_nothing_of_scoring() -> None:
    assert own(imports("papers.report.render")) == {"base.errors", "papers.report.pdfparts"}
    assert own(imports("papers.report.pdfparts")) == set()


def test_only_the_cli_imports_click() -> None:
    # faces.chinese holds click's own words in Chinese and faces.command what the commands share, for the cli alone.
    assert [name for name in MODULES if "click" in imports(name)] == ["faces.chinese", "faces.cli", "faces.command"]


def test_only_the_desk_serves() -> None:
    web = {"starlette", "uvicorn", "h11"}
    assert {name for name in MODULES if web & imports(name)} <= {"faces.desk", "faces.desk.app", "faces.desk.safety"}
    outside = [name for name in MODULES if not name.startswith("faces.desk") and name != "faces.cli"
               and any(n.startswith("faces.desk") for n in imports(name))]
    assert outside == []


def test_every_room_is_small_enough_to_read() -> None:
    """No module of 450 lines or more, no function over 40: past those a room wants splitting."""
    big = [f"{name}: {n} lines" for name, path in MODULES.items()
           if (n := len(path.read_text("utf-8").splitlines())) >= 450]
    long = [f"{name}.{node.name}: {node.end_lineno - node.lineno + 1} lines"
            for name, path in MODULES.items() for node in ast.walk(ast.parse(path.read_text("utf-8")))
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno - node.lineno >= 40]
    assert big == [] and long == []
