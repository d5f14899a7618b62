"""No pickle anywhere: nothing in modelport imports or calls an unpickler."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[1] / "src" / "modelport"
FORBIDDEN_MODULES = {"pickle", "cloudpickle", "dill", "joblib", "shelve", "marshal", "_pickle"}
FORBIDDEN_CALLS = {"read_pickle", "load_pickle"}


def _violations(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [(node.module or "").split(".")[0]]
        elif isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_CALLS:
            names = [node.attr]
        elif isinstance(node, ast.keyword) and node.arg == "allow_pickle":
            names = ["allow_pickle"]
        else:
            continue
        found += [
            f"{path.name}:{node.lineno}: {n}"
            for n in names
            if n in FORBIDDEN_MODULES or n in FORBIDDEN_CALLS or n == "allow_pickle"
        ]
    return found


@pytest.mark.parametrize("path", sorted(SOURCE.rglob("*.py")), ids=lambda p: p.name)
def test_no_module_imports_an_unpickler(path: Path) -> None:
    assert _violations(path) == []


def test_the_scan_catches_what_it_looks_for(tmp_path: Path) -> None:
    sample = tmp_path / "bad.py"
    sample.write_text(
        "import pickle\nfrom joblib import load\nimport pandas as pd\npd.read_pickle('x')\n"
    )
    assert len(_violations(sample)) == 3
