"""The retry policy, for real: ``modelport scheduler run FILE --once`` over a real registry
(SQLite and PostgreSQL), attempts in child processes failing for real reasons, every
attempt recorded, and a run that exhausts its retries reported to a real webhook."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from pathlib import Path

import orjson
import pandas as pd
import pyarrow.parquet as pq
import pytest
from schedule_helpers import Receiver, Run, WriteSchedule, applications, write_applications

from modelport.registry import Registry, RunStatus
from modelport.settings import Settings


@contextmanager
def between_attempts(settings: Settings, act: Callable[[int], bool]) -> Iterator[None]:
    """``act(attempts recorded so far)`` called every 20 ms, as the outside world changes
    between a nightly job's attempts, until it returns True."""
    stop = threading.Event()

    def watch() -> None:
        with Registry.from_settings(settings) as registry:
            while not stop.wait(0.02):
                runs = registry.job_runs.list("nightly")
                if act(runs[0].attempts if runs else 0):
                    return

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(10)


def arriving_late(settings: Settings, path: Path) -> AbstractContextManager[None]:
    """The input of a nightly job as an upstream system might deliver it: missing while
    the first attempt runs, a truncated file during the second, whole for the third."""

    def deliver(attempts: int) -> bool:
        if attempts == 1 and not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"PAR1 truncated in transit")
        elif attempts == 2:
            write_applications(path, rows=300)
            return True
        return False

    return between_attempts(settings, deliver)


def test_a_job_that_fails_twice_then_succeeds(
    cli: Run, production: Settings, write_schedule: WriteSchedule, webhook: Receiver, tmp_path: Path
) -> None:
    job = {
        "cron": "0 2 * * *",
        "model": "loan-approval@production",
        "input": "incoming/applications-{date:%Y-%m-%d}.parquet",
        "output": "scores/{job}-{date:%Y-%m-%d}.parquet",
        "carry": ["id"],
        "retries": 3,
        "backoff": {"initial": "0.5s", "factor": 2, "max": "10s"},
        "timeout": "2m",
    }
    path = write_schedule({"nightly": job}, on_failure={"webhook": webhook.url})
    incoming = tmp_path / "incoming" / "applications-2026-03-01.parquet"
    with arriving_late(production, incoming):
        result = cli("scheduler", "run", str(path), "--once", "--at", "2026-03-01T02:00")
    assert result.exit_code == 0, result.output
    assert "nightly: run #1 succeeded (3 attempts)" in result.stdout
    assert "attempt 1 of 4 failed" in result.stderr and "trying again in 500ms" in result.stderr

    with Registry.from_settings(production) as registry:
        [run] = registry.job_runs.list()
    assert (run.job, run.status, run.attempts) == ("nightly", RunStatus.SUCCEEDED, 3)
    assert run.scheduled_for == datetime.fromisoformat("2026-03-01T02:00+00:00")
    assert run.model == "loan-approval:1" and run.error is None
    first, second, third = run.detail["attempts"]
    assert [a["outcome"] for a in (first, second, third)] == ["failed", "failed", "succeeded"]
    assert "does not exist (yet)" in first["error"]
    assert second["error"].startswith("batch_error") or "parquet" in second["error"].lower()
    waits = [
        datetime.fromisoformat(b["started_at"]) - datetime.fromisoformat(a["ended_at"])
        for a, b in ((first, second), (second, third))
    ]
    assert waits[0].total_seconds() >= 0.5 and waits[1].total_seconds() >= 1.0  # back-off

    output = tmp_path / "scores" / "nightly-2026-03-01.parquet"
    scores = pd.read_parquet(output)
    assert run.rows_read == 300 and run.rows_scored == len(scores)
    assert run.rows_scored + run.rows_rejected == 300  # type: ignore[operator]
    assert list(scores.columns[:2]) == ["id", "label"]
    assert run.detail["outputs"] == [str(output)]
    assert webhook.reports == []  # it succeeded: nothing to report

    listed = cli("jobs", "list")
    assert listed.exit_code == 0, listed.output
    assert "nightly" in listed.stdout and "succeeded" in listed.stdout
    assert f"{run.rows_scored:,} / 300" in listed.stdout and "loan-approval:1" in listed.stdout


def unreadable_until_retried(settings: Settings, path: Path) -> AbstractContextManager[None]:
    """The fourth row group of ``path`` unreadable during the first attempt, as after a
    storage hiccup, then the same bytes and modification time again (the same file)."""
    offset = pq.ParquetFile(path).metadata.row_group(3).column(0).data_page_offset
    times = (path.stat().st_atime_ns, path.stat().st_mtime_ns)
    good = _overwrite(path, offset, b"\xff" * 64, times)

    def repair(attempts: int) -> bool:
        if attempts == 1:
            _overwrite(path, offset, good, times)
        return attempts == 1

    return between_attempts(settings, repair)


def _overwrite(path: Path, offset: int, data: bytes, times: tuple[int, int]) -> bytes:
    """``data`` written at ``offset``, the file's times kept; the bytes it replaced."""
    with path.open("r+b") as handle:
        handle.seek(offset)
        replaced = handle.read(len(data))
        handle.seek(offset)
        handle.write(data)
    os.utime(path, ns=times)
    return replaced


def test_a_retry_scores_only_what_the_failed_attempt_left(
    cli: Run, production: Settings, write_schedule: WriteSchedule, tmp_path: Path
) -> None:
    job = {
        "cron": "0 2 * * *",
        "model": "loan-approval@production",
        "input": "incoming/applications.parquet",
        "output": "scores/{job}-{date:%Y-%m-%d}.parquet",
        "carry": ["id"],
        "chunk_rows": 500,
        "workers": 1,
        "retries": 1,
        "backoff": {"initial": "1s"},
    }
    incoming = tmp_path / "incoming" / "applications.parquet"
    incoming.parent.mkdir()
    applications(3_000).to_parquet(incoming, index=False, row_group_size=500)
    with unreadable_until_retried(production, incoming):
        result = cli("scheduler", "run", str(write_schedule({"nightly": job})), "--once")
    assert result.exit_code == 0, result.output
    with Registry.from_settings(production) as registry:
        [run] = registry.job_runs.list()
    first, second = run.detail["attempts"]
    assert first["outcome"] == "failed" and "cannot read" in first["error"]
    # the three row groups scored before the failure were kept, not scored again
    assert second["files"][0]["rows_resumed"] == 1_500
    assert run.rows_read == 3_000 and run.rows_scored + run.rows_rejected == 3_000  # type: ignore[operator]
    scores = pd.read_parquet(next((tmp_path / "scores").glob("nightly-*.parquet")))
    assert len(scores) == run.rows_scored
    assert scores["id"].is_unique and scores["id"].is_monotonic_increasing  # once, in order
    assert not (production.home / "schedule-runs" / "nightly" / str(run.id)).exists()


def test_a_job_that_exhausts_its_retries_is_reported(
    cli: Run, production: Settings, write_schedule: WriteSchedule, webhook: Receiver, tmp_path: Path
) -> None:
    jobs = {
        "never-delivered": {
            "cron": "30 1 * * *",
            "model": "loan-approval@production",
            "input": "incoming/missing-{date}.csv",
            "output": "scores/missing-{date}.csv",
            "retries": 2,
            "backoff": {"initial": "0.1s", "factor": 2},
        },
        "fine": {
            "cron": "0 1 * * *",
            "model": "loan-approval:1",
            "input": "incoming/present.csv",
            "output": "scores/present.csv",
            "carry": ["id"],
        },
    }
    write_applications(tmp_path / "incoming" / "present.csv", rows=50)
    path = write_schedule(jobs, on_failure={"webhook": webhook.url})
    result = cli("scheduler", "run", str(path), "--once", "--at", "2026-03-01T01:30:00+00:00")
    assert result.exit_code == 1, result.output
    assert "never-delivered: run #1 failed (3 attempts): failed after 3 attempts" in result.stderr
    assert "fine: run #2 succeeded (1 attempt)" in result.stdout  # the other job still ran

    listed = cli("jobs", "list", "--job", "never-delivered", "--json")
    assert listed.exit_code == 0, listed.output
    [run] = [orjson.loads(line) for line in listed.stdout.splitlines()]
    assert (run["status"], run["attempts"], run["rows_read"]) == ("failed", 3, None)
    assert "missing-2026-03-01.csv of job never-delivered does not exist" in run["error"]
    assert run["ended_at"] is not None
    assert [a["outcome"] for a in run["detail"]["attempts"]] == ["failed"] * 3

    [report] = webhook.reports
    assert report == {
        "event": "job_failed",
        "job": "never-delivered",
        "run_id": run["id"],
        "status": "failed",
        "attempts": 3,
        "error": run["error"],
        "scheduled_for": "2026-03-01T01:30:00+00:00",
        "started_at": run["started_at"],
        "ended_at": run["ended_at"],
        "host": run["host"],
        "model": "loan-approval:1",
    }
    assert webhook.headers[0]["Content-Type"] == "application/json"
    assert not (tmp_path / "scores" / "missing-2026-03-01.csv").exists()

    table = cli("jobs", "list", "--status", "failed")
    assert "never-delivered" in table.stdout and "fine" not in table.stdout


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_webhook_that_is_down_does_not_stop_the_scheduler(
    cli: Run, write_schedule: WriteSchedule, webhook: Receiver, tmp_path: Path
) -> None:
    webhook.status = 500
    job = {
        "cron": "0 2 * * *",
        "model": "loan-approval@production",
        "input": "missing.csv",
        "output": "out.csv",
    }
    path = write_schedule({"a": job, "b": {**job, "on_failure": {"webhook": "http://127.0.0.1:1/x"}}},
                          on_failure={"webhook": webhook.url})  # fmt: skip
    result = cli("scheduler", "run", str(path), "--once")
    assert result.exit_code == 1, result.output
    assert "a: run #1 failed" in result.stderr and "b: run #2 failed" in result.stderr
    assert "webhook http://127.0.0.1 answered 500" in result.stderr
    assert "webhook http://127.0.0.1 failed for job b" in result.stderr
    assert "TOKEN-123" not in result.stderr  # the webhook's path is never logged
    assert len(webhook.reports) == 1
