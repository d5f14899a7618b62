"""Stopping attempts: past the job's timeout, when the scheduler is stopped (SIGTERM), or
killed (SIGKILL, the run then abandoned by the next scheduler); never a partial output."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
from schedule_helpers import WriteSchedule, write_applications

from modelport.registry import JobRun, Registry, RunStatus
from modelport.schedule import RunTuning, Scheduler, load_schedule
from modelport.settings import Settings

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
SRC = Path(__file__).resolve().parents[2] / "src"
SLOW = {  # 30,000 rows one at a time: far longer than any test waits
    "cron": "0 2 * * *",
    "model": "loan-approval@production",
    "input": "incoming/big.csv",
    "output": "scores/big-{date}.csv",
    "carry": ["id"],
    "chunk_rows": 1,
    "workers": 1,
}


def partials(directory: Path) -> list[Path]:
    return list(directory.glob(".*.modelport-partial")) if directory.is_dir() else []


def scored_parts(settings: Settings) -> list[Path]:
    """The chunks a run's attempts finished, kept in its work directory for a retry."""
    return list((settings.home / "schedule-runs").glob("*/*/file-*/parts/*.json"))


class PartsWatch:
    """Notes whether a scored chunk ever appeared in a run's work directory (scoring began)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.seen = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> PartsWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _watch(self) -> None:
        while not self._stop.wait(0.02):
            if scored_parts(self.settings):
                self.seen.set()


def test_an_attempt_past_its_timeout_is_stopped_and_leaves_nothing(
    production: Settings, write_schedule: WriteSchedule, tmp_path: Path
) -> None:
    write_applications(tmp_path / "incoming" / "big.csv", rows=30_000)
    schedule = load_schedule(write_schedule({"slow": {**SLOW, "timeout": "6s"}}))
    started = time.monotonic()
    with Registry.from_settings(production) as registry, PartsWatch(production) as watch:
        runs = Scheduler(schedule, registry, production).run_once()
    took = time.monotonic() - started
    run = runs["slow"]
    assert run is not None and (run.status, run.attempts) == (RunStatus.FAILED, 1)
    assert run.error == "failed after 1 attempt: timed out after 6s: stopped with SIGTERM"
    assert run.detail["attempts"][0]["outcome"] == "timed_out"
    assert watch.seen.is_set(), "scoring never began: the test proves nothing"
    assert partials(tmp_path / "scores") == [] and not (tmp_path / "scores").exists()
    assert not (production.home / "schedule-runs" / "slow" / str(run.id)).exists()
    assert 6 <= took < 6 + 8, took  # stopped at once: no grace period needed


def scheduler_process(schedule: Path, settings: Settings) -> subprocess.Popen[bytes]:
    env = {**os.environ, "MODELPORT_HOME": str(settings.home), "PYTHONPATH": str(SRC)}
    env.pop("MODELPORT_DATABASE_URL", None)
    command = [sys.executable, "-m", "modelport.cli.main", "scheduler", "run", str(schedule)]
    return subprocess.Popen(
        [*command, "--once"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def wait_for(condition: object, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting after {seconds} s")
        time.sleep(0.05)


def only_run(settings: Settings) -> JobRun:
    with Registry.from_settings(settings) as registry:
        [run] = registry.job_runs.list()
    return run


def test_sigterm_stops_the_attempt_and_records_the_run_abandoned(
    production: Settings, write_schedule: WriteSchedule, tmp_path: Path
) -> None:
    write_applications(tmp_path / "incoming" / "big.csv", rows=30_000)
    scores = tmp_path / "scores"
    process = scheduler_process(write_schedule({"slow": SLOW}), production)
    try:
        wait_for(lambda: scored_parts(production))  # scoring is under way
        attempt = psutil.Process(process.pid).children(recursive=True)
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 143, err.decode()
    _gone, alive = psutil.wait_procs(attempt, timeout=15)  # (multiprocessing's tracker too)
    assert attempt and alive == [], "the attempt outlived the scheduler"
    run = only_run(production)
    assert run.status is RunStatus.ABANDONED
    assert run.error == "the scheduler stopped mid-run: SIGTERM"
    assert partials(scores) == [] and not scores.exists()
    assert scored_parts(production) == []  # the run's work directory went with it


def test_a_killed_scheduler_takes_its_attempt_along_and_its_run_is_abandoned(
    production: Settings, write_schedule: WriteSchedule, tmp_path: Path
) -> None:
    write_applications(tmp_path / "incoming" / "big.csv", rows=30_000)
    scores = tmp_path / "scores"
    path = write_schedule({"slow": SLOW})
    process = scheduler_process(path, production)
    try:
        wait_for(lambda: scored_parts(production))
        attempt = psutil.Process(process.pid).children(recursive=True)
        process.kill()  # kill -9: no chance to record anything
        process.wait(10)
    finally:
        process.kill()
    _gone, alive = psutil.wait_procs(attempt, timeout=15)  # the orphan noticed, cleaned up
    assert attempt and alive == []
    assert partials(scores) == [] and not scores.exists()
    assert scored_parts(production)  # kept for a retry the killed scheduler never made
    assert only_run(production).status is RunStatus.RUNNING  # as the killed scheduler left it

    time.sleep(0.5)
    with Registry.from_settings(production) as registry:
        tuning = RunTuning(stale_after_seconds=0.3)
        [abandoned] = Scheduler(load_schedule(path), registry, production, tuning).sweep()
    assert abandoned.status is RunStatus.ABANDONED
    assert abandoned.error is not None and "stopped sending heartbeats" in abandoned.error
    assert scored_parts(production) == []  # the sweep removed the abandoned run's work
    assert only_run(production).status is RunStatus.ABANDONED


def test_run_forever_runs_jobs_at_their_cron_times(
    production: Settings, write_schedule: WriteSchedule, tmp_path: Path
) -> None:
    write_applications(tmp_path / "incoming" / "small.csv", rows=20)
    job = {
        "cron": "* * * * * */2",  # every 2 seconds (a sixth field counts seconds)
        "model": "loan-approval@production",
        "input": "incoming/small.csv",
        "output": "scores/at-{date:%H%M%S}.csv",
        "carry": ["id"],
    }
    schedule = load_schedule(write_schedule({"often": job}))
    with Registry.from_settings(production) as registry:
        scheduler = Scheduler(schedule, registry, production)
        thread = threading.Thread(target=scheduler.run_forever, daemon=True)
        thread.start()
        wait_for(lambda: any(r.status is RunStatus.SUCCEEDED for r in registry.job_runs.list()))
        scheduler.stop()
        thread.join(30)
        assert not thread.is_alive()
        run = registry.job_runs.list()[-1]
    assert run.status is RunStatus.SUCCEEDED and run.rows_read == 20
    assert run.scheduled_for.second % 2 == 0 and run.scheduled_for.microsecond == 0
    local = run.scheduled_for.astimezone(schedule.zone)
    assert (tmp_path / "scores" / f"at-{local:%H%M%S}.csv").is_file()
