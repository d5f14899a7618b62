"""``modelport promote`` with a raw holdout of the demo's loan model, as a user runs it.

The demo model derives ``age`` from ``date_of_birth`` in a declared pre-step, so its raw
holdout has a date of birth and no age: the promotion gates must score it through the
same door as serving (pre-steps, then the contract), and whenever a test dataset is given
its metrics are measured, shown and stored, with or without ``--require``. On SQLite and
PostgreSQL (the ``registry_settings`` fixture runs both).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

import modelport as mp
from modelport.datasets import customer_loan_applications, customers
from modelport.lifecycle import evaluate, read_test_data
from modelport.registry import Action, Outcome, Registry
from modelport.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
MODEL = "loan-approval"


def _example() -> ModuleType:
    """``examples/loan_approval/train.py``, the script ``make demo`` runs, as a module."""
    spec = importlib.util.spec_from_file_location(
        "demo_train", ROOT / "examples/loan_approval/train.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The demo's package (trained as ``make demo`` trains it, on fewer rows) and a raw
    holdout CSV of 3,000 applications it never saw: date of birth, no age."""
    example = _example()
    table = customers(1_000, seed=42)
    features = example.FROM_CUSTOMER + example.FROM_APPLICATION
    train = customer_loan_applications(table, 4_000, seed=42).merge(table, on="customer_id")
    model = example.pipeline().fit(train[features], train["approved"])
    work = tmp_path_factory.mktemp("demo")
    built = mp.package(
        model, train[features], name=MODEL, path=work / MODEL, decisions=example.DECISIONS
    )
    holdout = customer_loan_applications(table, 3_000, seed=7).merge(table, on="customer_id")
    assert "age" not in holdout.columns and "date_of_birth" in holdout.columns
    path = work / "holdout.csv"
    holdout[[*features, "approved"]].to_csv(path, index=False)
    return built.path, path


def _promote(settings: Settings, holdout: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MODELPORT_HOME": str(settings.home), "COLUMNS": "250"}
    env.pop("MODELPORT_DATABASE_URL", None)
    if settings.database_url:
        env["MODELPORT_DATABASE_URL"] = settings.database_url
    command = [sys.executable, "-m", "modelport.cli.main", "promote", MODEL, "1", *args]
    command += ["--test-data", str(holdout), "--target", "approved"]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


def test_promotion_measures_the_raw_holdout_with_and_without_thresholds(
    registry_settings: Settings, demo: tuple[Path, Path]
) -> None:
    package, holdout = demo
    with Registry.from_settings(registry_settings) as registry:
        registry.register(package)

    # The same rows through the Python API: what the gate must agree with.
    evaluation = evaluate(mp.open_package(package), read_test_data(holdout), "approved")
    assert (evaluation.rows, evaluation.refused, evaluation.scored) == (3_000, 0, 3_000)
    roc_auc = evaluation.metrics["roc_auc"]
    assert 0.5 < roc_auc <= 1.0

    plain = _promote(registry_settings, holdout, "--to", "staging")
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert "test metrics" in plain.stdout and f"roc_auc {roc_auc:.4g}" in plain.stdout
    assert "all 3000 labelled rows scored" in plain.stdout

    required = _promote(
        registry_settings, holdout, "--to", "production", "--require", "roc_auc>=0.5"
    )
    assert required.returncode == 0, required.stdout + required.stderr
    assert "roc_auc >= 0.5" in required.stdout and f"measured {roc_auc:.4g}" in required.stdout
    assert "cannot be measured" not in required.stdout

    with Registry.from_settings(registry_settings) as registry:
        events = [e for e in registry.history(MODEL) if e.action is Action.PROMOTE]
    assert [(e.alias, e.outcome) for e in reversed(events)] == [
        ("staging", Outcome.DONE),
        ("production", Outcome.DONE),
    ]
    for event in events:  # the metrics are stored with every promotion that had test data
        stored = {g["gate"]: g for g in event.detail["gates"]}
        assert stored["test metrics"]["measured"]["roc_auc"] == pytest.approx(roc_auc)
        assert stored["test data fits the contract"]["measured"]["refused"] == 0


def test_a_holdout_the_version_cannot_score_says_why_not(
    registry_settings: Settings, demo: tuple[Path, Path], tmp_path: Path
) -> None:
    """Rows refused by a hard limit fail the contract gate, and the metric gates name
    that cause instead of calling the metric undefined."""
    package, holdout = demo
    with Registry.from_settings(registry_settings) as registry:
        registry.register(package)
    broken = pd.read_csv(holdout)
    broken["loan_amount"] = -1.0  # never negative in the training rows: a hard limit
    path = tmp_path / "broken.csv"
    broken.to_csv(path, index=False)
    refused = _promote(registry_settings, path, "--to", "staging", "--require", "roc_auc>=0.5")
    assert refused.returncode == 1
    out = " ".join(refused.stdout.split())
    assert "3000 of 3000 test rows (100%) break a hard limit" in out
    assert "loan_amount" in out
    assert "no test row was scored: the version refuses 3000 of 3000 rows" in out
    assert "not defined" not in out
