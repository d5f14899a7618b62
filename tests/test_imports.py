"""What each entry point imports, and the one line a missing extra gives.

The development environment has every extra installed, so these tests check what is
*imported* (scoring never loads the build or server stacks) and simulate a missing
extra by blocking its modules (``sys.modules[name] = None`` makes both the import and
the lookup fail, as an absent package does). ``test_install.py`` does it for real in a
fresh environment holding the core install only.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import modelport as mp
from modelport import extras
from modelport.cli import main as cli_main
from modelport.cli.main import app
from modelport.errors import ConfigurationError, MissingExtra
from scoring_package import build_scoring_package

# the top-level modules of the extras: what scoring must never import
EXTRA_MODULES = sorted({m for modules in extras.EXTRAS.values() for m in modules} | {"scipy"})


@pytest.fixture(scope="module")
def scoring_package(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return build_scoring_package(tmp_path_factory.mktemp("imports"))


def _imported(code: str, *args: str) -> list[str]:
    """The extras' modules imported by running ``code`` in a new interpreter."""
    watched = set(EXTRA_MODULES)
    probe = (
        f"{code}\nimport json, sys\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & {watched!r})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, *args], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    loaded: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


def test_the_probe_sees_an_import() -> None:
    # the probe itself works: a module of an extra, once imported, is reported
    assert _imported("import sklearn") == ["scipy", "sklearn"]


def test_importing_modelport_imports_no_extra() -> None:
    assert _imported("import modelport") == []


def test_scoring_by_path_imports_no_extra(scoring_package: tuple[Path, Path]) -> None:
    path, rows = scoring_package
    code = (
        "import sys, pandas as pd, modelport as mp\n"
        "rows = pd.read_parquet(sys.argv[2]).drop(columns='approved')\n"
        "out = mp.load(sys.argv[1]).predict(rows)\n"
        "assert len(out) == 50 and out['proba_1'].between(0, 1).all(), out"
    )
    assert _imported(code, str(path), str(rows)) == []


@pytest.mark.parametrize(
    ("module", "allowed"),
    [
        ("modelport.cli.main", []),  # every command is registered; none imports an extra
        ("modelport.registry", []),
        ("modelport.batch", []),
        ("modelport.features", []),  # the functions and pre-steps, not the sklearn steps
        # the HTTP server imports its own extra and nothing of the build stack
        ("modelport.server.app", ["anyio", "fastapi", "jwt", "prometheus_client", "starlette"]),
    ],
)
def test_entry_points_import_only_their_extra(module: str, allowed: list[str]) -> None:
    assert set(_imported(f"import {module}")) <= set(allowed)


def test_require_names_the_extra_and_the_command(monkeypatch: pytest.MonkeyPatch) -> None:
    extras.require("server", "modelport serve")  # installed here: no error
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    with pytest.raises(MissingExtra) as caught:
        extras.require("server", "modelport serve")
    assert str(caught.value) == (
        "modelport serve needs the server extra: pip install 'modelport[server]'"
    )
    assert caught.value.code == "missing_extra"
    assert isinstance(caught.value, ConfigurationError)


def test_require_refuses_an_unknown_extra() -> None:
    with pytest.raises(ValueError, match="unknown extra 'gpu'"):
        extras.require("gpu", "something")


def test_extra_for_maps_modules_to_their_extra() -> None:
    assert extras.extra_for("psycopg") == "postgres"
    assert extras.extra_for("sklearn.ensemble") == "build"
    assert extras.extra_for("distributed") == "dask"
    assert extras.extra_for("numpy") is None
    assert extras.extra_for(None) is None


def test_package_without_the_build_extra_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "skops", None)
    with pytest.raises(MissingExtra, match=r"^mp.package needs the build extra: pip install"):
        mp.package(object(), pd.DataFrame({"x": [1.0]}), name="m", path="unused")


def test_feature_steps_without_the_build_extra_say_so(monkeypatch: pytest.MonkeyPatch) -> None:
    import modelport.features as features

    monkeypatch.delitem(features.__dict__, "AgeFromDate", raising=False)
    monkeypatch.setitem(sys.modules, "sklearn", None)
    with pytest.raises(MissingExtra, match=r"modelport.features.AgeFromDate needs the build"):
        features.AgeFromDate  # noqa: B018


SERVER_LINE = "needs the server extra: pip install 'modelport[server]'"


@pytest.mark.parametrize(
    ("args", "blocked", "line"),
    [
        (["serve"], "uvicorn", f"error (missing_extra): modelport serve {SERVER_LINE}"),
        (
            ["token", "create", "--subject", "a", "-s", "admin"],
            "jwt",
            f"error (missing_extra): modelport token create {SERVER_LINE}",
        ),
    ],
)
def test_commands_needing_an_extra_print_one_line(
    monkeypatch: pytest.MonkeyPatch, args: list[str], blocked: str, line: str
) -> None:
    monkeypatch.setitem(sys.modules, blocked, None)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [line]


def _command_importing(monkeypatch: pytest.MonkeyPatch, module: str) -> None:
    """Add ``modelport connect NAME`` (for this test only): it imports ``module``."""

    def connect(name: str) -> None:
        importlib.import_module(module)

    monkeypatch.setattr(app, "registered_commands", list(app.registered_commands))
    app.command("connect")(connect)
    monkeypatch.setattr(sys, "argv", ["modelport", "connect", "x"])


def test_the_console_script_names_the_extra_of_a_missing_module(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # what no command foresaw: main() names the extra instead of printing a traceback
    monkeypatch.setitem(sys.modules, "psycopg", None)
    _command_importing(monkeypatch, "psycopg")
    with pytest.raises(SystemExit) as exited:
        cli_main.main()
    assert exited.value.code == 1
    assert capsys.readouterr().err.splitlines() == [
        "error (missing_extra): modelport connect needs the postgres extra: "
        "pip install 'modelport[postgres]' (psycopg is not installed)"
    ]


def test_the_console_script_lets_other_missing_modules_through(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _command_importing(monkeypatch, "modelport_nowhere")
    with pytest.raises(ModuleNotFoundError, match="modelport_nowhere"):
        cli_main.main()
