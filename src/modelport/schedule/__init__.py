"""Scheduled batch jobs: cron times, retries with back-off, timeouts, runs recorded.

    schedule = load_schedule("schedules.yaml")
    with Registry.from_settings(settings) as registry:
        Scheduler(schedule, registry, settings).run_forever()

Each run of a job (one firing) makes attempts in a child process of their own until one
succeeds or its retries are spent; the run, its attempts, rows and error are recorded in
the registry database (``modelport jobs list``), and a run that failed after its retries
is reported to the webhook the schedule names. See ``docs/schedules.md``.
"""

from modelport.schedule.attempt import AttemptResult, run_attempt
from modelport.schedule.config import Backoff, JobSpec, OnFailure, Schedule, load_schedule
from modelport.schedule.durations import format_duration, parse_duration
from modelport.schedule.plan import FileTask, plan_files
from modelport.schedule.runner import RunTuning, run_job
from modelport.schedule.scheduler import Scheduler
from modelport.schedule.templates import check_template, render_template
from modelport.schedule.webhook import failure_report, post_report

__all__ = [
    "AttemptResult",
    "Backoff",
    "FileTask",
    "JobSpec",
    "OnFailure",
    "RunTuning",
    "Schedule",
    "Scheduler",
    "check_template",
    "failure_report",
    "format_duration",
    "load_schedule",
    "parse_duration",
    "plan_files",
    "post_report",
    "render_template",
    "run_attempt",
    "run_job",
]
