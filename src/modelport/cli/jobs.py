"""``modelport jobs list``: the recorded runs of scheduled batch jobs, newest first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import orjson
import typer
from rich.markup import escape
from rich.table import Column, Table

from modelport.cli.models import open_registry
from modelport.cli.output import console
from modelport.registry import JobRun, RunStatus
from modelport.schedule import RunTuning, format_duration

__all__ = ["app"]

app = typer.Typer(help="Runs of scheduled batch jobs.", no_args_is_help=True)

_STYLES = {
    RunStatus.SUCCEEDED: "green",
    RunStatus.FAILED: "bold red",
    RunStatus.ABANDONED: "yellow",
    RunStatus.RUNNING: "cyan",
}
_STALE = timedelta(seconds=RunTuning().stale_after_seconds)


@app.callback()
def _jobs() -> None:
    """Runs of scheduled batch jobs (`modelport scheduler run`), from the registry."""


@app.command("list")
def list_runs(
    job: Annotated[str | None, typer.Option("--job", "-j", help="Only this job's runs.")] = None,
    status: Annotated[
        RunStatus | None, typer.Option("--status", "-s", help="Only runs with this status.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Newest N runs.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """The newest runs: when, status, attempts, rows (scored / read, rejected), error."""
    with open_registry() as registry:
        runs = registry.job_runs.list(job, status=status, limit=limit)
    if as_json:
        for run in runs:
            console.out(orjson.dumps(run.to_dict()).decode(), highlight=False)
        return
    if not runs:
        console.print("no runs recorded yet; start some with: modelport scheduler run FILE")
        return
    table = Table(
        Column("run", justify="right"),
        Column("job", no_wrap=True),
        Column("scheduled for", no_wrap=True),
        Column("started", no_wrap=True),
        Column("took", justify="right"),
        "status",
        Column("attempts", justify="right"),
        Column("model", no_wrap=True),
        Column("rows", justify="right"),
        Column("error", overflow="fold", ratio=1),
    )
    for run in runs:
        table.add_row(
            str(run.id),
            run.job,
            f"{run.scheduled_for.astimezone(UTC):%Y-%m-%d %H:%M}",
            f"{run.started_at:%Y-%m-%d %H:%M:%S}",
            _took(run),
            _status(run),
            str(run.attempts),
            run.model or "",
            _rows(run),
            escape(run.error or ""),
        )
    console.print(table)
    console.print("times in UTC", style="dim")


def _status(run: JobRun) -> str:
    text = f"[{_STYLES[run.status]}]{run.status.value}[/]"
    if run.status is RunStatus.RUNNING and datetime.now(UTC) - run.heartbeat_at > _STALE:
        text += " [yellow](no heartbeat: its scheduler may be gone)[/]"
    return text


def _took(run: JobRun) -> str:
    end = run.ended_at or datetime.now(UTC)
    return format_duration(max((end - run.started_at).total_seconds(), 0.0))


def _rows(run: JobRun) -> str:
    if run.rows_read is None:
        return ""
    text = f"{run.rows_scored or 0:,} / {run.rows_read:,}"
    return text + (f", {run.rows_rejected:,} rejected" if run.rows_rejected else "")
