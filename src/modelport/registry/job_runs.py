"""The record of scheduled batch runs, kept in the registry database.

A scheduler (``modelport.schedule``) may run on any machine; recording its runs where the
models are recorded lets anyone with the registry see what ran, when, on which version,
how many rows, and why it failed (``modelport jobs list``), without the scheduler's logs.

A run is one firing of a job, however many attempts it took::

    start ──► running ──touch (heartbeat; each attempt appended)──► finish
                 │                                                  succeeded | failed
                 └── no heartbeat for a while (its scheduler died) ──► abandoned

The scheduler refreshes ``heartbeat_at`` while a run is in progress, so a run whose
scheduler was killed is told apart from one still going by its age alone: no guess about
which process on which host is alive.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from modelport.errors import InvalidInput, NotFound
from modelport.registry.database import Database
from modelport.registry.schema import JobRunRow

__all__ = ["JobRun", "JobRuns", "RunStatus"]

_MAX_ERROR = 4_000  # characters of an error kept: enough for a reason, not a whole log
_MAX_ATTEMPTS_KEPT = 50  # attempts listed in ``detail``; the count is always exact


class RunStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # every attempt failed (the retries are exhausted)
    ABANDONED = "abandoned"  # its scheduler stopped (killed, or interrupted) mid-run


@dataclass(frozen=True)
class JobRun:
    """One run of a scheduled job; ``detail["attempts"]`` holds each attempt's story."""

    id: int
    job: str
    scheduled_for: datetime
    started_at: datetime
    heartbeat_at: datetime
    ended_at: datetime | None
    status: RunStatus
    attempts: int
    host: str
    pid: int
    model: str | None = None
    rows_read: int | None = None
    rows_scored: int | None = None
    rows_rejected: int | None = None
    error: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: times as ISO 8601 strings."""

        def iso(at: datetime | None) -> str | None:
            return None if at is None else at.isoformat()

        return {
            "id": self.id,
            "job": self.job,
            "status": self.status.value,
            "scheduled_for": iso(self.scheduled_for),
            "started_at": iso(self.started_at),
            "ended_at": iso(self.ended_at),
            "heartbeat_at": iso(self.heartbeat_at),
            "attempts": self.attempts,
            "model": self.model,
            "rows_read": self.rows_read,
            "rows_scored": self.rows_scored,
            "rows_rejected": self.rows_rejected,
            "error": self.error,
            "host": self.host,
            "pid": self.pid,
            "detail": self.detail,
        }


class JobRuns:
    """The runs of scheduled jobs, as ``registry.job_runs``: started, touched (heartbeat,
    attempts), finished, abandoned when their scheduler went silent, listed."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def start(self, job: str, scheduled_for: datetime, *, host: str, pid: int) -> JobRun:
        """Record a new running run of ``job`` (its firing due at ``scheduled_for``)."""

        def add(session: Session) -> JobRun:
            now = datetime.now(UTC)
            row = JobRunRow(
                job=job[:64],
                scheduled_for=scheduled_for,
                started_at=now,
                heartbeat_at=now,
                status=RunStatus.RUNNING.value,
                attempts=0,
                host=host[:128],
                pid=pid,
                detail={"attempts": []},
            )
            session.add(row)
            session.flush()
            return _snapshot(row)

        return self._database.write(add)

    def touch(self, run_id: int, attempt: dict[str, Any] | None = None) -> JobRun:
        """Refresh a running run's heartbeat; with ``attempt`` (a JSON-ready description),
        record one more attempt."""

        def touch(session: Session) -> JobRun:
            row = _running(session, run_id)
            row.heartbeat_at = datetime.now(UTC)
            if attempt is not None:
                row.attempts += 1
                kept = [*row.detail.get("attempts", []), attempt][-_MAX_ATTEMPTS_KEPT:]
                row.detail = {**row.detail, "attempts": kept}  # a new value: JSON is not tracked
            return _snapshot(row)

        return self._database.write(touch)

    def finish(
        self,
        run_id: int,
        status: RunStatus,
        *,
        error: str | None = None,
        model: str | None = None,
        rows: tuple[int, int, int] | None = None,
        detail: dict[str, Any] | None = None,
    ) -> JobRun:
        """End a running run; ``rows`` is (read, scored, rejected); ``detail`` adds keys."""
        if status is RunStatus.RUNNING:
            raise InvalidInput("a run is finished as succeeded, failed or abandoned")

        def finish(session: Session) -> JobRun:
            row = _running(session, run_id)
            now = datetime.now(UTC)
            row.status, row.ended_at, row.heartbeat_at = status.value, now, now
            row.error = None if error is None else error[:_MAX_ERROR]
            if model is not None:
                row.model = model[:160]
            if rows is not None:
                row.rows_read, row.rows_scored, row.rows_rejected = rows
            if detail:
                row.detail = {**row.detail, **detail}
            return _snapshot(row)

        return self._database.write(finish)

    def abandon_stale(self, older_than: timedelta) -> builtins.list[JobRun]:
        """Mark ``abandoned`` every running run with no heartbeat for ``older_than``."""

        def abandon(session: Session) -> builtins.list[JobRun]:
            now = datetime.now(UTC)
            rows = session.scalars(
                select(JobRunRow)
                .where(JobRunRow.status == RunStatus.RUNNING.value)
                .where(JobRunRow.heartbeat_at < now - older_than)
                .order_by(JobRunRow.id)
            ).all()
            for row in rows:
                silent = now - row.heartbeat_at
                row.status, row.ended_at = RunStatus.ABANDONED.value, now
                row.error = (
                    f"abandoned: its scheduler ({row.host}, pid {row.pid}) stopped sending "
                    f"heartbeats {int(silent.total_seconds())} s ago, mid-run (killed, or the "
                    "machine was lost)"
                )
            return [_snapshot(row) for row in rows]

        return self._database.write(abandon)

    def list(
        self, job: str | None = None, *, status: RunStatus | None = None, limit: int | None = None
    ) -> builtins.list[JobRun]:
        """Recorded runs, newest first (``limit`` of them): all, one job's, or one status's."""
        query = select(JobRunRow).order_by(JobRunRow.id.desc())
        if job is not None:
            query = query.where(JobRunRow.job == job)
        if status is not None:
            query = query.where(JobRunRow.status == status.value)
        if limit is not None:
            query = query.limit(limit)
        with self._database.reading() as session:
            return [_snapshot(row) for row in session.scalars(query)]


def _running(session: Session, run_id: int) -> JobRunRow:
    row = session.get(JobRunRow, run_id)
    if row is None:
        raise NotFound(f"there is no job run #{run_id}; see `modelport jobs list`")
    if row.status != RunStatus.RUNNING.value:
        raise InvalidInput(
            f"job run #{run_id} already ended ({row.status}); a finished run is not changed"
        )
    return row


def _snapshot(row: JobRunRow) -> JobRun:
    return JobRun(
        id=row.id,
        job=row.job,
        scheduled_for=row.scheduled_for,
        started_at=row.started_at,
        heartbeat_at=row.heartbeat_at,
        ended_at=row.ended_at,
        status=RunStatus(row.status),
        attempts=row.attempts,
        host=row.host,
        pid=row.pid,
        model=row.model,
        rows_read=row.rows_read,
        rows_scored=row.rows_scored,
        rows_rejected=row.rows_rejected,
        error=row.error,
        detail=dict(row.detail or {}),
    )
