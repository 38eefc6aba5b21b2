"""docs/architecture.md stays true: every module is on the map, and the forbidden arrows do not exist."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from .conftest import ROOT

PACKAGE = ROOT / "scoring"
LOADERS = {"rubric", "bundle", "yamlio", "validate"}
OUTPUTS = {"outputs", "formats", "show", "report", "cli"}


def _module(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE).with_suffix("").parts).removesuffix(".__init__")


MODULES = {_module(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports(path: Path) -> set[str]:
    """What a file imports: the package's own modules by their name inside it (report.render), and the
    top-level name of anything else."""
    parts = ["scoring", *path.relative_to(PACKAGE).with_suffix("").parts]
    package = parts[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found.add(node.module or "")
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1]
            if node.module:
                found.add(".".join([*base, node.module]))
            else:
                found.update(".".join([*base, a.name]) for a in node.names)
    return {name.removeprefix("scoring.") if name.startswith("scoring.") else name.split(".")[0]
            for name in found}


def tops(names: set[str]) -> set[str]:
    return {name.split(".")[0] for name in names}


def test_every_module_is_on_the_map() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text("utf-8")
    for path in MODULES.values():
        rel = path.relative_to(ROOT).as_posix()
        assert f"`{rel}`" in text, f"{rel} is missing from docs/architecture.md"


def test_model_imports_only_numbers() -> None:
    assert imports(MODULES["model"]) - {"__future__", "collections", "dataclasses", "decimal", "functools", "typing"} \
        == {"numbers"}


@pytest.mark.parametrize("name", ["rules", "inputs", "engine"])
def test_the_engine_reads_only_the_model(name: str) -> None:
    assert not tops(imports(MODULES[name])) & (LOADERS | OUTPUTS)


@pytest.mark.parametrize("name", ["formats", "sheets", "show", "report", "report.context", "report.papers", "report.render"])
def test_outputs_read_results_only(name: str) -> None:
    assert not tops(imports(MODULES[name])) & (LOADERS | {"engine", "rules", "inputs"})


def test_render_knows_nothing_of_scoring() -> None:
    assert imports(MODULES["report.render"]) & set(MODULES) == {"errors"}


def test_only_the_cli_imports_click() -> None:
    assert [name for name, path in MODULES.items() if "click" in imports(path)] == ["cli"]


def test_only_the_desk_serves() -> None:
    web = {"starlette", "uvicorn"}
    assert {name for name, path in MODULES.items() if web & tops(imports(path))} <= {"desk", "desk.app"}
    outside = [name for name, path in MODULES.items() if not name.startswith("desk") and name != "cli"
               and "desk" in tops(imports(path))]
    assert outside == []
