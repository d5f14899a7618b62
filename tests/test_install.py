"""``pip install modelport`` (the core, no extras) in a fresh virtual environment.

This checkout is installed into a new venv the way a user installs it, with no extra; its
dependencies are pinned to the versions of the environment running the tests (its
``pip freeze`` as constraints), so predictions compare exactly and pip takes every wheel
from its cache. The package is built here, where the build extra is installed; the
fresh environment then scores it by path and through a registry on SQLite, runs the CLI,
and everything that needs an extra stops with the one line naming it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import venv
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from sklearn.neighbors import KNeighborsClassifier

import modelport as mp
from modelport.datasets import LOAN_FEATURES, loan_applications, loan_pipeline
from scoring_package import NAME, build_scoring_package

ROOT = Path(__file__).resolve().parents[1]
Run = Callable[..., subprocess.CompletedProcess[str]]
Built = tuple[Path, Path, pd.DataFrame]  # the package, rows to score, the expected predictions
# what the core leaves out: the build stack, the server stack, PostgreSQL and Dask
NOT_IN_CORE = [
    "dask",
    "distributed",
    "fastapi",
    "jwt",
    "onnx",
    "prometheus_client",
    "psycopg",
    "scipy",
    "skops",
    "sklearn",
    "starlette",
    "uvicorn",
]


def _install_core(work: Path) -> Path:
    """A fresh venv with this checkout installed, without extras; its python."""
    source = work / "modelport"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    # a copy, so the build leaves nothing in the shared checkout
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(ROOT / "src", source / "src", ignore=ignore)
    frozen = subprocess.run(
        [sys.executable, "-m", "pip", "freeze", "--exclude-editable"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    pins = [line for line in frozen if "==" in line and not line.startswith("modelport")]
    constraints = work / "constraints.txt"
    constraints.write_text("\n".join(pins) + "\n")
    venv.create(work / "venv", with_pip=False)  # pip runs from here, with --python
    python = work / "venv" / "bin" / "python"
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet"]
    result = subprocess.run(
        [*install, "--constraint", str(constraints), str(source)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return python


@pytest.fixture(scope="module")
def core(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The python of a fresh venv holding ``pip install modelport`` and nothing else."""
    return _install_core(tmp_path_factory.mktemp("core-install"))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The package (built here), rows to score, and what this environment predicts."""
    path, rows = build_scoring_package(tmp_path_factory.mktemp("core-package"))
    expected = mp.load(path).predict(pd.read_parquet(rows).drop(columns="approved"))
    return path, rows, expected


@pytest.fixture
def run(core: Path, tmp_path: Path) -> Run:
    """``run(*args, env=...)``: a command of the fresh venv (python, modelport) in ``tmp_path``."""
    base = {
        "PATH": f"{core.parent}:/usr/bin:/bin",
        "MODELPORT_HOME": str(tmp_path / "home"),
        "HOME": str(tmp_path),
    }

    def run_(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(core.parent / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            env={**base, **(env or {})},
            cwd=tmp_path,
            check=False,
        )

    return run_


SCORE = """
import importlib.util, json, sys
import pandas as pd
import modelport as mp
from modelport.datasets import LOAN_FEATURES, loan_applications, loan_pipeline
rows = pd.read_parquet(sys.argv[2]).drop(columns="approved")
mp.load(sys.argv[1]).predict(rows).to_parquet(sys.argv[3])
watched = set(sys.argv[4].split(","))
print(json.dumps({
    "imported": sorted(m for m in sys.modules if m.split(".")[0] in watched),
    "installed": sorted(m for m in watched if importlib.util.find_spec(m) is not None),
}))
"""


def _score(run: Run, source: str, rows: Path, out: Path) -> dict[str, list[str]]:
    result = run("python", "-c", SCORE, source, str(rows), str(out), ",".join(NOT_IN_CORE))
    assert result.returncode == 0, result.stderr
    found: dict[str, list[str]] = json.loads(result.stdout)
    return found


def test_core_install_scores_a_package_by_path(run: Run, built: Built, tmp_path: Path) -> None:
    path, rows, expected = built
    found = _score(run, str(path), rows, tmp_path / "scored.parquet")
    assert found == {"imported": [], "installed": []}  # neither imported nor even installed
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "scored.parquet"), expected)


def test_core_install_keeps_a_registry_on_sqlite(run: Run, built: Built, tmp_path: Path) -> None:
    path, rows, expected = built
    assert run("modelport", "package", "verify", str(path)).returncode == 0
    registered = run("modelport", "models", "register", str(path), "--alias", "production")
    assert registered.returncode == 0, registered.stderr
    listed = run("modelport", "models", "list")
    assert listed.returncode == 0 and NAME in listed.stdout, listed.stderr
    found = _score(run, NAME, rows, tmp_path / "scored.parquet")  # mp.load("NAME")
    assert found["installed"] == []
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "scored.parquet"), expected)
    batch = ["modelport", "batch", "score", NAME, "-i", str(rows), "-o", "out.parquet"]
    scored = run(*batch, "--workers", "1", "--quiet", "--ignore-extra")
    assert scored.returncode == 0, scored.stderr
    assert len(pd.read_parquet(tmp_path / "out.parquet")) == len(expected)
    # a promotion with test data measures metrics with scikit-learn: not here
    promote = ["modelport", "promote", NAME, "1", "--to", "staging", "--target", "approved"]
    refused = run(*promote, "--test-data", str(rows))
    assert (refused.returncode, refused.stderr.strip()) == (
        1,
        _line("measuring metrics on test data", "build"),
    )


def _line(what: str, extra: str) -> str:
    install = f"pip install 'modelport[{extra}]'"
    return f"error (missing_extra): {what} needs the {extra} extra: {install}"


def test_commands_needing_an_extra_say_which(run: Run, built: Built, tmp_path: Path) -> None:
    path, rows, _ = built
    commands = {
        ("modelport", "serve"): _line("modelport serve", "server"),
        ("modelport", "token", "create", "--subject", "ci", "--scope", "admin"): _line(
            "modelport token create", "server"
        ),
        (
            "modelport", "batch", "score", str(path), "-i", str(rows), "-o", "out.parquet",
            "--ignore-extra", "--engine", "dask", "--quiet",
        ): _line("batch scoring with the dask engine", "dask"),
    }  # fmt: skip
    for command, line in commands.items():
        result = run(*command)
        assert (result.returncode, result.stderr.strip()) == (1, line), command


@pytest.fixture(scope="module")
def native_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A package storing its estimator natively (skops): scoring it needs scikit-learn."""
    rows = loan_applications(300, seed=5)
    model = loan_pipeline(KNeighborsClassifier(n_neighbors=5))
    model.fit(rows[LOAN_FEATURES], rows["approved"])
    path = tmp_path_factory.mktemp("core-native") / "knn"
    mp.package(model, rows, name="knn", path=path, allow_native=True)
    return path


def test_a_native_package_without_the_build_extra_says_which(
    run: Run, native_package: Path
) -> None:
    result = run("modelport", "package", "verify", str(native_package))
    assert (result.returncode, result.stderr.strip()) == (
        1,
        _line("scoring the native (skops) model model.skops", "build"),
    )


def test_postgres_without_its_extra_says_which(run: Run) -> None:
    url = "postgresql+psycopg://modelport@127.0.0.1:9/none"  # never reached: no driver
    result = run("modelport", "models", "list", env={"MODELPORT_DATABASE_URL": url})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        _line("the registry database on PostgreSQL", "postgres")
    ]


API = """
import json
import pandas as pd
import modelport as mp
from modelport.datasets import LOAN_FEATURES, loan_applications, loan_pipeline
from modelport.errors import MissingExtra

said = {}
def attempt(what, call):
    try:
        call()
    except MissingExtra as exc:
        said[what] = str(exc)

attempt("package", lambda: mp.package(None, pd.DataFrame({"x": [1.0]}), name="m", path="m"))
attempt("step", lambda: __import__("modelport.features", fromlist=["AgeFromDate"]).AgeFromDate)
attempt("pipeline", lambda: __import__("modelport.datasets", fromlist=["x"]).loan_pipeline(None))
attempt("server", lambda: __import__("modelport.server.app"))
print(json.dumps(said))
"""


def test_python_api_needing_an_extra_says_which(run: Run) -> None:
    result = run("python", "-c", API)
    assert result.returncode == 0, result.stderr
    build = "needs the build extra: pip install 'modelport[build]'"
    assert json.loads(result.stdout) == {
        "package": f"mp.package {build}",
        "step": f"modelport.features.AgeFromDate {build}",
        "pipeline": f"modelport.datasets.loan_pipeline {build}",
        "server": "modelport.server needs the server extra: pip install 'modelport[server]'",
    }
