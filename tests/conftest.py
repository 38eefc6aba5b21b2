from __future__ import annotations

import hashlib
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
MINI = FIXTURES / "mini.yaml"
GAOQING = ROOT / "rubrics" / "gaoqing_2022.yaml"
SAMPLE = ROOT / "evidence" / "gaoqing_2022_sample"


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True  # the loader refuses anchors: one object used twice is written out twice


def _decimal(dumper: yaml.SafeDumper, value: Decimal) -> yaml.ScalarNode:
    # Plain scalars only: a whole number as an int, so no explicit tag (refused by the loader) is written.
    if value == value.to_integral_value():
        return dumper.represent_scalar("tag:yaml.org,2002:int", str(int(value)))
    return dumper.represent_scalar("tag:yaml.org,2002:float", str(value))


_Dumper.add_representer(Decimal, _decimal)


def dump(data: Any) -> str:
    """YAML as a person writes it: plain scalars, exact decimals, Chinese as it is."""
    return yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_bundle(folder: Path, inputs: dict[str, Any] | None = None, rubric: str = "mini",
                documents: dict[str, tuple[str, bytes, str]] | None = None, **extra: Any) -> Path:
    """Write a bundle: documents maps id -> (file, content, date)."""
    folder.mkdir(parents=True, exist_ok=True)
    docs = []
    for ident, (file, content, date) in (documents or {}).items():
        (folder / file).parent.mkdir(parents=True, exist_ok=True)
        (folder / file).write_bytes(content)
        docs.append({"id": ident, "file": file, "title": f"文件{ident}", "date": date, "sha256": sha256(content)})
    manifest = {"rubric": rubric, "assessee": {"name": "测试县"},
                "period": {"start": "2022-01-01", "end": "2022-12-31"},
                "documents": docs, "inputs": inputs or {}, **extra}
    (folder / "bundle.yaml").write_text(dump(manifest), "utf-8")
    return folder


def copy_tree(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst
