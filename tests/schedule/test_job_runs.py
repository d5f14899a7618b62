"""The run record in the registry database (SQLite and PostgreSQL): a run is started,
touched (heartbeat, one attempt at a time), finished once, listed newest first, and
abandoned when its scheduler stops sending heartbeats."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from modelport.errors import InvalidInput, NotFound
from modelport.registry import Registry, RunStatus

AT = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


def test_a_run_from_start_to_finish(registry: Registry) -> None:
    run = registry.job_runs.start("nightly", AT, host="batch-1", pid=4242)
    assert (run.status, run.attempts, run.ended_at, run.scheduled_for) == (
        RunStatus.RUNNING, 0, None, AT,
    )  # fmt: skip
    before = run.heartbeat_at
    time.sleep(0.01)
    beaten = registry.job_runs.touch(run.id)
    assert beaten.heartbeat_at > before and beaten.attempts == 0
    registry.job_runs.touch(run.id, {"number": 1, "outcome": "failed", "error": "no file"})
    registry.job_runs.touch(run.id, {"number": 2, "outcome": "succeeded", "error": None})
    done = registry.job_runs.finish(
        run.id, RunStatus.SUCCEEDED, model="loan-approval:1", rows=(3_000_000_000, 2, 1),
        detail={"outputs": ["scores.parquet"]},
    )  # fmt: skip
    [listed] = registry.job_runs.list()
    assert listed == done
    assert (listed.status, listed.attempts, listed.model) == (
        RunStatus.SUCCEEDED,
        2,
        "loan-approval:1",
    )
    assert (listed.rows_read, listed.rows_scored, listed.rows_rejected) == (3_000_000_000, 2, 1)
    assert [a["outcome"] for a in listed.detail["attempts"]] == ["failed", "succeeded"]
    assert listed.detail["outputs"] == ["scores.parquet"]
    assert listed.ended_at is not None and listed.ended_at >= listed.started_at
    assert listed.to_dict()["status"] == "succeeded"
    assert listed.to_dict()["scheduled_for"] == "2026-03-01T02:00:00+00:00"
    with pytest.raises(InvalidInput, match="already ended \\(succeeded\\)"):
        registry.job_runs.finish(run.id, RunStatus.FAILED, error="late")
    with pytest.raises(InvalidInput, match="already ended"):
        registry.job_runs.touch(run.id)
    with pytest.raises(NotFound, match="no job run #999"):
        registry.job_runs.touch(999)


def test_listing_filters_and_limits(registry: Registry) -> None:
    for job in ("a", "b", "a", "a"):
        run = registry.job_runs.start(job, AT, host="h", pid=1)
        registry.job_runs.finish(run.id, RunStatus.FAILED if job == "b" else RunStatus.SUCCEEDED)
    assert [r.id for r in registry.job_runs.list()] == [4, 3, 2, 1]
    assert [r.id for r in registry.job_runs.list("a", limit=2)] == [4, 3]
    assert [r.id for r in registry.job_runs.list(status=RunStatus.FAILED)] == [2]
    assert registry.job_runs.list("c") == []


def test_runs_without_heartbeats_are_abandoned(registry: Registry) -> None:
    dead = registry.job_runs.start("nightly", AT, host="lost-host", pid=99)
    time.sleep(0.2)
    alive = registry.job_runs.start("weekly", AT, host="h", pid=1)
    [abandoned] = registry.job_runs.abandon_stale(timedelta(seconds=0.1))
    assert abandoned.id == dead.id and abandoned.status is RunStatus.ABANDONED
    assert abandoned.error is not None and "lost-host, pid 99" in abandoned.error
    assert registry.job_runs.list("weekly")[0].status is RunStatus.RUNNING
    assert registry.job_runs.abandon_stale(timedelta(hours=1)) == []
    registry.job_runs.finish(alive.id, RunStatus.SUCCEEDED)
