"""``modelport scheduler`` and ``modelport jobs`` as an operator uses them: checking a file,
a glob of inputs scored file by file with a package path, listings, usage mistakes."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pandas as pd
import pytest
from schedule_helpers import Run, WriteSchedule, write_applications

from modelport.schedule import post_report

SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@SQLITE
def test_check_shows_each_jobs_next_run(cli: Run, write_schedule: WriteSchedule) -> None:
    job = {"cron": "0 2 * * *", "model": "m", "input": "in-{date:%Y%m%d}.csv", "output": "o.csv"}
    result = cli("scheduler", "check", str(write_schedule({"nightly": job}, timezone="UTC")))
    assert result.exit_code == 0, result.output
    assert "nightly" in result.stdout and "0 2 * * *" in result.stdout
    assert "T02:00" in result.stdout and "1 jobs, times in UTC" in result.stdout

    broken = write_schedule({"nightly": {**job, "cron": "25 hours"}})
    result = cli("scheduler", "check", str(broken))
    assert result.exit_code == 1
    assert "job 'nightly': cron: '25 hours' is not a cron expression" in result.stderr


@SQLITE
def test_a_glob_of_inputs_with_a_package_path(
    cli: Run, write_schedule: WriteSchedule, tmp_path: Path, loan_package_path: Path
) -> None:
    for part, rows in (("east", 40), ("west", 60)):
        write_applications(tmp_path / "drop" / f"2026-03-01-{part}.parquet", rows=rows)
    job = {
        "cron": "0 6 * * *",
        "model": str(loan_package_path),
        "input": "drop/{date}-*.parquet",
        "output": "scores/{stem}.scores.csv",
        "rejects": "rejects/{stem}.jsonl",
        "carry": ["id"],
    }
    path = write_schedule({"regions": job})
    result = cli("scheduler", "run", str(path), "--once", "--at", "2026-03-01T06:00")
    assert result.exit_code == 0, result.output
    for part, rows in (("east", 40), ("west", 60)):
        scores = pd.read_csv(tmp_path / "scores" / f"2026-03-01-{part}.scores.csv")
        rejects = (tmp_path / "rejects" / f"2026-03-01-{part}.jsonl").read_text().splitlines()
        assert len(scores) + len(rejects) == rows
    listed = cli("jobs", "list", "--job", "regions")
    assert "succeeded" in listed.stdout and " / 100" in listed.stdout
    assert str(loan_package_path) in result.stdout


@SQLITE
def test_usage_mistakes(cli: Run, write_schedule: WriteSchedule) -> None:
    job = {"cron": "0 2 * * *", "model": "m", "input": "in.csv", "output": "o.csv"}
    path = str(write_schedule({"nightly": job}))
    result = cli("scheduler", "run", path, "--job", "weekly", "--once")
    assert result.exit_code == 1 and "no job 'weekly' in the schedule" in result.stderr
    result = cli("scheduler", "run", path, "--at", "2026-03-01")
    assert result.exit_code == 1 and "--at is for --once runs" in result.stderr
    result = cli("scheduler", "run", path, "--once", "--at", "yesterday")
    assert result.exit_code == 1 and "'yesterday' is not an ISO 8601 time" in result.stderr
    assert "no runs recorded yet" in cli("jobs", "list").stdout
    assert cli("jobs", "list", "--status", "exploded").exit_code == 2


def test_a_webhook_that_hangs_is_given_up_after_its_timeout() -> None:
    with socket.socket() as server:  # accepts connections (the backlog), never answers
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        url = f"http://127.0.0.1:{server.getsockname()[1]}/hook"
        started = time.monotonic()
        assert post_report(url, {"job": "x"}, timeout=0.3) is False
        assert time.monotonic() - started < 5
