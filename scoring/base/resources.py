"""Where the shipped data lies: the rubrics and the report templates.

In the repository they are `rubrics/` and `reports/templates/` at the root; pyproject.toml installs them
as the data packages `scoring.rubrics` and `scoring.templates`, so importlib.resources finds them in an
editable install and in one from a wheel alike. The package is installed as plain files, so each is a
real folder.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from scoring.base.errors import ScoringError

_HINT = "请重新安装 county-scoring（在本仓库目录中运行 bash scripts/setup.sh 或 pip install -e .）"


def rubrics_dir() -> Path:
    """The folder of the shipped rubrics: `<id>.yaml` with its test cases in `<id>.tests/`."""
    return _folder("scoring.rubrics", "评分细则")


def templates_dir() -> Path:
    """The folder of the shipped report templates."""
    return _folder("scoring.templates", "报告模板")


def _folder(package: str, what: str) -> Path:
    try:
        found = files(package)
    except ModuleNotFoundError as exc:
        raise ScoringError(f"安装不完整：找不到自带的{what}（{package}）", hint=_HINT) from exc
    if not isinstance(found, Path) or not found.is_dir():
        raise ScoringError(f"自带的{what}（{package}）不是文件系统中的文件夹：{found}",
                           hint="请以普通文件方式安装 county-scoring，而不是从 zip 中运行")
    return found
