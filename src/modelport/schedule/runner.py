"""One run of a job: attempts under its retry policy, each recorded, the failure reported.

    job_runs.start ──► attempt 1 ──fails──► wait initial ──► attempt 2 ──fails──► wait
        initial × factor ──► ... ──► succeeded (rows, model version)
                                 └─► failed after 1 + retries attempts ──► webhook

Every attempt is appended to the run's record as soon as it ends, and the run's heartbeat
is refreshed while attempts run and between them, so ``modelport jobs list`` shows a run
in progress truthfully, and a run whose scheduler died is recognisably abandoned.
Stopping the scheduler mid-run (Ctrl-C, SIGTERM) stops the attempt and records the run as
``abandoned`` before the stop goes on. Each file is scored as a resumable job in the run's
work directory, so a retry after a failure part-way scores only what is left.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import time
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from modelport.errors import ModelportError
from modelport.registry import JobRun, Registry, RunStatus
from modelport.schedule.attempt import DEFAULT_GRACE_SECONDS, AttemptResult, run_attempt
from modelport.schedule.config import JobSpec, Schedule
from modelport.schedule.durations import format_duration
from modelport.schedule.webhook import failure_report, post_report
from modelport.settings import Settings

__all__ = ["RunTuning", "run_job", "run_work_directory"]

logger = logging.getLogger("modelport.schedule")


@dataclass(frozen=True)
class RunTuning:
    """How often a run proves it is alive, and how long a stopped attempt gets to clean up.

    ``stale_after`` must be well over ``heartbeat_seconds``: a run silent that long is
    taken for abandoned by any scheduler sharing the registry.
    """

    heartbeat_seconds: float = 30.0
    stale_after_seconds: float = 300.0
    grace_seconds: float = DEFAULT_GRACE_SECONDS


def run_job(
    schedule: Schedule,
    job: JobSpec,
    scheduled_for: datetime,
    registry: Registry,
    settings: Settings,
    tuning: RunTuning | None = None,
) -> JobRun:
    """Run ``job`` for ``scheduled_for`` until an attempt succeeds or the retries run out."""
    tuning = tuning or RunTuning()
    run = registry.job_runs.start(
        job.name, scheduled_for, host=socket.gethostname(), pid=os.getpid()
    )
    beat = _Heartbeat(registry, run.id)
    total = job.retries + 1
    work = run_work_directory(settings, job.name, run.id)
    logger.info("job %s: run #%d for %s started", job.name, run.id, scheduled_for.isoformat())
    try:
        for number in range(1, total + 1):
            result = run_attempt(
                job,
                scheduled_for,
                schedule.directory,
                settings,
                tick=beat,
                tick_every=tuning.heartbeat_seconds,
                grace=tuning.grace_seconds,
                work=work,
            )
            registry.job_runs.touch(run.id, result.to_dict(number))
            if result.ok:
                return _succeeded(registry, run, result, number)
            if number < total:
                delay = job.backoff.delay(number)
                logger.warning(
                    "job %s: run #%d attempt %d of %d failed: %s; trying again in %s",
                    job.name, run.id, number, total, result.error, format_duration(delay),
                )  # fmt: skip
                _pause(delay, beat, tuning.heartbeat_seconds)
            else:
                logger.warning(
                    "job %s: run #%d attempt %d of %d failed: %s",
                    job.name, run.id, number, total, result.error,
                )  # fmt: skip
        run = registry.job_runs.finish(
            run.id,
            RunStatus.FAILED,
            error=f"failed after {total} attempt{'s' if total > 1 else ''}: {result.error}",
            model=result.model,
        )
    except BaseException as exc:
        with suppress(ModelportError):
            registry.job_runs.finish(
                run.id, RunStatus.ABANDONED, error=f"the scheduler stopped mid-run: {_why(exc)}"
            )
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    logger.error("job %s: run #%d %s", job.name, run.id, run.error)
    target = schedule.report_to(job)
    if target is not None:
        post_report(target.webhook, failure_report(run), target.timeout)
    return run


def run_work_directory(settings: Settings, job: str, run_id: int) -> Path:
    """Where a run keeps the chunks its attempts finished, so a retry resumes; removed
    when the run ends (``<home>/schedule-runs/<job>/<run id>``)."""
    return settings.home / "schedule-runs" / job / str(run_id)


def _succeeded(registry: Registry, run: JobRun, result: AttemptResult, number: int) -> JobRun:
    outputs = [f["output"] for f in result.files]
    done = registry.job_runs.finish(
        run.id,
        RunStatus.SUCCEEDED,
        model=result.model,
        rows=result.rows,
        detail={"outputs": outputs},
    )
    read, scored, rejected = result.rows
    logger.info(
        "job %s: run #%d succeeded at attempt %d: %d of %d rows scored (%d rejected) "
        "into %s with %s",
        run.job, run.id, number, scored, read, rejected, ", ".join(outputs), result.model,
    )  # fmt: skip
    return done


class _Heartbeat:
    """Refresh a run's heartbeat; a database hiccup is logged, never fatal to the run."""

    def __init__(self, registry: Registry, run_id: int) -> None:
        self._registry = registry
        self._run_id = run_id

    def __call__(self) -> None:
        try:
            self._registry.job_runs.touch(self._run_id)
        except ModelportError as exc:
            logger.warning("job run #%d: heartbeat not recorded: %s", self._run_id, exc)


def _pause(seconds: float, beat: _Heartbeat, every: float) -> None:
    """Sleep ``seconds`` (the back-off), beating every ``every`` seconds."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(left, every))
        if deadline - time.monotonic() > 0:
            beat()


def _why(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted (Ctrl-C)"
    text = str(exc)
    if text and not isinstance(exc, Exception):  # a stop signal, e.g. SIGTERM, says itself
        return text[:500]
    return f"{type(exc).__name__}{': ' + text if text else ''}"[:500]
