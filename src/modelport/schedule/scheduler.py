"""The scheduler: run a schedule's jobs at their cron times, or each once, now.

    scheduler = Scheduler(load_schedule("schedules.yaml"), registry, Settings())
    scheduler.run_forever()              # until stop() / Ctrl-C / SIGTERM
    runs = scheduler.run_once()          # each job once, for its latest cron time

One job runs at a time, in the order they fall due (the host's cores go to the scoring,
not to jobs competing with each other). A firing missed while the scheduler was down or
busy is not made up: the job runs once, late, then at its next time; run the missed one
with ``run_once(["job"], at=...)`` (``modelport scheduler run FILE --once --job NAME
--at TIME``). On starting, and before each run, runs that stopped sending heartbeats
(their scheduler was killed) are marked ``abandoned`` in the registry.
"""

from __future__ import annotations

import logging
import shutil
import threading
from datetime import datetime, timedelta

from modelport.errors import BatchError, ModelportError
from modelport.registry import JobRun, Registry
from modelport.schedule.config import JobSpec, Schedule
from modelport.schedule.runner import RunTuning, run_job, run_work_directory
from modelport.schedule.webhook import post_report
from modelport.settings import Settings

__all__ = ["Scheduler"]

logger = logging.getLogger("modelport.schedule")
_LONGEST_SLEEP = 60.0  # wake up at least this often: clock changes, sweeps


class Scheduler:
    """Runs the jobs of ``schedule``, recording every run in ``registry``."""

    def __init__(
        self,
        schedule: Schedule,
        registry: Registry,
        settings: Settings,
        tuning: RunTuning | None = None,
    ) -> None:
        self.schedule = schedule
        self.registry = registry
        self.settings = settings
        self.tuning = tuning or RunTuning()
        self._stop = threading.Event()

    def stop(self) -> None:
        """Make :meth:`run_forever` return before its next run (a running one finishes)."""
        self._stop.set()

    def sweep(self) -> list[JobRun]:
        """Mark abandoned the runs whose scheduler stopped sending heartbeats."""
        stale = timedelta(seconds=self.tuning.stale_after_seconds)
        abandoned = self.registry.job_runs.abandon_stale(stale)
        for run in abandoned:
            logger.warning("job %s: run #%d %s", run.job, run.id, run.error)
            # what its attempts finished is of no use to a later run (another run id)
            shutil.rmtree(run_work_directory(self.settings, run.job, run.id), ignore_errors=True)
        return abandoned

    def run_once(
        self, names: list[str] | None = None, at: datetime | None = None
    ) -> dict[str, JobRun | None]:
        """Run each job (or those named) once, one after the other; their runs by job
        (``None``: the registry could not record it, so it did not run to the end).

        The templates get ``at`` (aware; default: each job's latest cron time, i.e. the
        run the scheduler would have made last)."""
        jobs = self.schedule.select(names)
        self.sweep()
        now = datetime.now(self.schedule.zone)
        runs: dict[str, JobRun | None] = {}
        for job in jobs:
            when = at.astimezone(self.schedule.zone) if at else job.latest_at_or_before(now)
            runs[job.name] = self._run(job, when)
        return runs

    def run_forever(self, names: list[str] | None = None) -> None:
        """Run the jobs (or those named) at their cron times until :meth:`stop`."""
        jobs = self.schedule.select(names)
        if not jobs:
            raise BatchError("the schedule has no jobs: nothing to run")
        self.sweep()
        now = datetime.now(self.schedule.zone)
        due = [job.next_after(now) for job in jobs]
        for job, when in zip(jobs, due, strict=True):
            logger.info("job %s: next run at %s", job.name, when.isoformat())
        while not self._stop.is_set():
            index = min(range(len(jobs)), key=lambda i: (due[i], i))
            left = (due[index] - datetime.now(self.schedule.zone)).total_seconds()
            if left > 0:
                self._stop.wait(min(left, _LONGEST_SLEEP))
                continue
            job, when = jobs[index], due[index]
            self.sweep()
            self._run(job, when)
            due[index] = job.next_after(max(when, datetime.now(self.schedule.zone)))
            logger.info("job %s: next run at %s", job.name, due[index].isoformat())

    def _run(self, job: JobSpec, when: datetime) -> JobRun | None:
        """One run; a registry that cannot record it is logged and reported, not fatal."""
        try:
            return run_job(self.schedule, job, when, self.registry, self.settings, self.tuning)
        except ModelportError as exc:
            logger.error("job %s: the run for %s was not recorded: %s", job.name, when, exc)
            target = self.schedule.report_to(job)
            if target is not None:
                report = {
                    "event": "job_failed",
                    "job": job.name,
                    "run_id": None,
                    "status": "failed",
                    "attempts": 0,
                    "error": f"the run could not be recorded: {exc}",
                    "scheduled_for": when.isoformat(),
                }
                post_report(target.webhook, report, target.timeout)
            return None
