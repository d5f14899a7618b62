"""The HTTP modules call the dataplane only: from ``modelport.serving`` they import the
dataplane module and the names it exports, nothing else (no pool, batcher or service), so
every door (HTTP today, other protocols later) goes through the same domain calls."""

from __future__ import annotations

import ast
from pathlib import Path

import modelport.server
from modelport.serving import dataplane

SERVER = Path(modelport.server.__file__).parent
DATAPLANE = "modelport.serving.dataplane"


def serving_imports_besides_the_dataplane(source: str) -> list[str]:
    """Every import of ``modelport.serving`` in ``source`` that is not a name the
    dataplane exports, as ``module.name``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [
                alias.name
                for alias in node.names
                if alias.name.startswith("modelport.serving") and alias.name != DATAPLANE
            ]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "modelport.serving"
        ):
            if node.module == "modelport.serving":  # `from modelport.serving import dataplane`
                allowed = {"dataplane"}
            elif node.module == DATAPLANE:
                allowed = set(dataplane.__all__)
            else:
                allowed = set()
            found += [f"{node.module}.{a.name}" for a in node.names if a.name not in allowed]
        elif isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError("the server uses absolute imports only")
    return found


def test_the_server_imports_only_the_dataplane_from_serving() -> None:
    modules = sorted(SERVER.rglob("*.py"))
    assert len(modules) > 10, "the server's modules were not found"
    offending = {
        str(path.relative_to(SERVER)): found
        for path in modules
        if (found := serving_imports_besides_the_dataplane(path.read_text()))
    }
    assert offending == {}


def test_the_check_sees_every_way_around_the_dataplane() -> None:
    for source in [
        "from modelport.serving.batching import Batchers",
        "from modelport.serving import ServingService",
        "import modelport.serving.pool",
        "def f():\n    from modelport.serving.service import version_number",
        "from modelport.serving.dataplane import ServingService",  # not one of its exports
    ]:
        assert serving_imports_besides_the_dataplane(source), source
    assert not serving_imports_besides_the_dataplane(
        "from modelport.serving.dataplane import Dataplane, LoadedModel\n"
        "import modelport.serving.dataplane\n"
        "from modelport.orchestrate import Enricher\n"
    )
