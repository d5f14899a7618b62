"""``modelport promote``, ``rollback``, ``history`` and ``policy`` as a user runs them, and a
promotion killed at random moments never leaving the registry half-changed."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from modelport.datasets import LOAN_FEATURES, loan_applications
from modelport.registry import Action, Outcome, Registry
from modelport.settings import Settings

MODEL = "loan-approval"
SRC = Path(__file__).resolve().parents[2] / "src"


def _env(settings: Settings) -> dict[str, str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
        "MODELPORT_HOME": str(settings.home),
        "MODELPORT_ACTOR": "release-bot",
        "COLUMNS": "200",
    }
    env.pop("MODELPORT_DATABASE_URL", None)
    if settings.database_url:
        env["MODELPORT_DATABASE_URL"] = settings.database_url
    return env


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "modelport.cli.main", *args]
    return subprocess.run(command, env=_env(settings), capture_output=True, text=True, timeout=120)


@pytest.fixture
def holdout(tmp_path: Path) -> Path:
    path = tmp_path / "holdout.csv"
    loan_applications(1_000, seed=5)[[*LOAN_FEATURES, "approved"]].to_csv(path, index=False)
    return path


@pytest.fixture
def two_versions(
    registry_settings: Settings, loan_package_path: Path, build_loan_version: Callable[..., Path]
) -> Settings:
    with Registry.from_settings(registry_settings) as registry:
        registry.register(loan_package_path, alias="production")
        registry.register(build_loan_version("weak", model__n_estimators=2, model__max_depth=1))
    return registry_settings


def test_promote_refuse_rollback_and_history_from_the_command_line(
    two_versions: Settings, holdout: Path
) -> None:
    gates = ["--test-data", str(holdout), "--target", "approved"]
    refused = _cli(two_versions, "promote", MODEL, "2", "--to", "production", *gates,
                   "--no-worse-than-current")  # fmt: skip
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "FAIL" in refused.stdout and "no worse than" in refused.stdout
    assert "refused" in refused.stderr

    set_policy = _cli(two_versions, "policy", "set", MODEL, "staging", "--require", "accuracy>=0.3")
    assert set_policy.returncode == 0, set_policy.stderr
    passed = _cli(two_versions, "promote", MODEL, "2", "--to", "staging", *gates)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "accuracy >= 0.3" in passed.stdout and "promoted" in passed.stdout

    moved = _cli(two_versions, "promote", MODEL, "2", "--to", "production", "--allow-breaking")
    assert moved.returncode == 0, moved.stdout + moved.stderr
    back = _cli(two_versions, "rollback", MODEL, "--alias", "production")
    assert back.returncode == 0, back.stdout + back.stderr
    assert "rolled back" in back.stdout and "version 1" in back.stdout

    history = _cli(two_versions, "history", MODEL, "--json")
    assert history.returncode == 0, history.stderr
    events = [json.loads(line) for line in history.stdout.splitlines()]
    assert [(e["action"], e["outcome"]) for e in events[:5]] == [
        ("rollback", "done"),
        ("promote", "done"),
        ("promote", "done"),
        ("policy", "done"),
        ("promote", "refused"),
    ]
    assert {e["actor"] for e in events[:5]} == {"release-bot"}
    table = _cli(two_versions, "history", MODEL)
    assert table.returncode == 0 and "rollback" in table.stdout


def test_a_killed_promotion_leaves_the_registry_consistent(
    two_versions: Settings, holdout: Path
) -> None:
    """Kill ``modelport promote`` at random moments; after each kill the alias is where it
    was or where it was promoted to, and a move always has its audit event."""
    rng = random.Random(7)
    command = [sys.executable, "-m", "modelport.cli.main", "promote", MODEL, "2", "--to",
               "production", "--test-data", str(holdout), "--target", "approved",
               "--allow-breaking"]  # fmt: skip
    finished = 0
    for _ in range(8):
        with Registry.from_settings(two_versions) as registry:
            registry.set_alias(MODEL, "production", 1)
        process = subprocess.Popen(
            command, env=_env(two_versions), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(rng.uniform(0.3, 3.0))
        process.kill()
        finished += process.wait() == 0
        with Registry.from_settings(two_versions) as registry:
            state = registry.alias_info(MODEL, "production")
            newest = registry.history(MODEL, limit=1)[0]
        assert state is not None and state.version in (1, 2)
        if state.version == 2:  # the move happened: its audit event is the newest line
            assert (newest.action, newest.outcome, newest.version) == (
                Action.PROMOTE,
                Outcome.DONE,
                2,
            )
            assert newest.detail["revision"] == state.revision
        else:  # no move: the newest event is our own reset, not a promotion
            assert newest.action is Action.ALIAS and newest.version == 1
    assert finished < 8, "every promotion finished before the kill: the test proved nothing"
