"""``modelport scheduler``: run the batch jobs of a schedule file, forever or once."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import FrameType

import typer
from rich.markup import escape
from rich.table import Column, Table

from modelport.batch.locations import Location
from modelport.cli.output import console, err_console, fail_on_errors
from modelport.errors import BatchError
from modelport.registry import JobRun, Registry, RunStatus
from modelport.schedule import Schedule, Scheduler, format_duration, load_schedule
from modelport.schedule.templates import render_template
from modelport.settings import Settings

__all__ = ["app"]

app = typer.Typer(help="Run scheduled batch jobs.", no_args_is_help=True)


@app.callback()
def _scheduler() -> None:
    """Run batch jobs declared in a schedule file (YAML): cron times, retries, timeouts."""


@app.command()
def run(
    file: Path = typer.Argument(..., metavar="FILE", help="The schedule file (YAML)."),
    once: bool = typer.Option(
        False,
        "--once",
        help="Run each job once now (for its latest cron time), then exit: status 1 if "
        "any failed after its retries.",
    ),
    job: list[str] | None = typer.Option(
        None, "--job", "-j", metavar="NAME", help="Only this job (repeatable)."
    ),
    at: str | None = typer.Option(
        None,
        "--at",
        metavar="TIME",
        help="With --once: the scheduled time the run is for (ISO 8601, e.g. "
        "2026-03-01T02:00, in the schedule's zone unless an offset is given), to run a "
        "missed night again; 'now' for the current time.",
    ),
) -> None:
    """Run the jobs at their cron times until stopped (Ctrl-C, SIGTERM), or --once.

    Every run is recorded in the registry database (`modelport jobs list`); a run that
    fails after its retries is reported to the schedule's webhook, if it names one.
    """
    settings = Settings()
    with fail_on_errors(), _log_lines(), _stoppable():
        schedule = load_schedule(file)
        schedule.select(job)  # unknown job names fail before the registry is opened
        if at is not None and not once:
            raise BatchError("--at is for --once runs: give --once too")
        moment = _moment(at, schedule) if at is not None else None
        with Registry.from_settings(settings) as registry:
            scheduler = Scheduler(schedule, registry, settings)
            if not once:
                scheduler.run_forever(job)
                return
            runs = scheduler.run_once(job, at=moment)
    _print_runs(runs)
    if any(r is None or r.status is not RunStatus.SUCCEEDED for r in runs.values()):
        raise typer.Exit(1)


@app.command()
def check(
    file: Path = typer.Argument(..., metavar="FILE", help="The schedule file (YAML)."),
) -> None:
    """Check a schedule file and show each job's next run and the input it will read."""
    with fail_on_errors():
        schedule = load_schedule(file)
    now = datetime.now(schedule.zone)
    table = Table(
        Column("job", no_wrap=True),
        "cron",
        Column("next run", no_wrap=True),
        "model",
        Column("input then", overflow="fold"),
        "retries",
        "timeout",
    )
    for spec in schedule.jobs.values():
        when = spec.next_after(now)
        table.add_row(
            spec.name,
            spec.cron,
            when.isoformat(timespec="minutes"),
            spec.model,
            escape(Location.safe(render_template(spec.input, when, {"job": spec.name}))),
            str(spec.retries),
            format_duration(spec.timeout) if spec.timeout else "-",
        )
    console.print(table)
    console.print(f"{len(schedule.jobs)} jobs, times in {schedule.timezone}", highlight=False)


def _moment(text: str, schedule: Schedule) -> datetime:
    if text == "now":
        return datetime.now(schedule.zone)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BatchError(f"--at {text!r} is not an ISO 8601 time (e.g. 2026-03-01T02:00)") from None
    return moment.replace(tzinfo=schedule.zone) if moment.tzinfo is None else moment


def _print_runs(runs: dict[str, JobRun | None]) -> None:
    for name, ran in runs.items():
        if ran is None:
            err_console.print(f"[bold red]{name}[/]: not recorded (see the log above)")
        elif ran.status is RunStatus.SUCCEEDED:
            console.print(
                f"[green]{name}[/]: run #{ran.id} succeeded ({_attempts(ran.attempts)}): "
                f"{ran.rows_scored or 0:,} of {ran.rows_read or 0:,} rows scored, "
                f"{ran.rows_rejected or 0:,} rejected, with {ran.model}",
                highlight=False,
            )
        else:
            err_console.print(
                f"[bold red]{name}[/]: run #{ran.id} {ran.status.value} "
                f"({_attempts(ran.attempts)}): {escape(ran.error or '')}",
                highlight=False,
            )


def _attempts(count: int) -> str:
    return f"{count} attempt{'s' if count != 1 else ''}"


@contextmanager
def _log_lines() -> Iterator[None]:
    """The scheduler's log (runs, retries, failures) as plain lines on standard error."""
    logger = logging.getLogger("modelport.schedule")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


class _Stopped(BaseException):
    """SIGTERM (systemd stopping the service): raised where the scheduler is."""

    def __str__(self) -> str:
        return "SIGTERM"


def _sigterm(signum: int, frame: FrameType | None) -> None:
    raise _Stopped


@contextmanager
def _stoppable() -> Iterator[None]:
    """Ctrl-C and SIGTERM stop the attempt in progress, record its run as abandoned, and
    exit with status 130 / 143."""
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _sigterm)
    try:
        yield
    except KeyboardInterrupt:
        err_console.print("[bold red]interrupted[/]: a run in progress is now abandoned")
        raise typer.Exit(130) from None
    except _Stopped:
        err_console.print("[bold red]stopped[/] (SIGTERM): a run in progress is now abandoned")
        raise typer.Exit(143) from None
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
