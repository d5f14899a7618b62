"""The registry's records of operations around the models, apart from the models' own:
enrichment-cache invalidations (:mod:`modelport.registry.invalidations`) and scheduled
batch runs (:mod:`modelport.registry.job_runs`). Part of :class:`~modelport.registry.Registry`,
kept here so that each file holds one concern.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TypeVar

from modelport.registry.audit import default_actor
from modelport.registry.invalidations import (
    CacheInvalidation,
    invalidations_after,
    record_invalidation,
)
from modelport.registry.job_runs import (
    JobRun,
    RunStatus,
    abandon_stale,
    finish_run,
    runs_for,
    start_run,
    touch_run,
)
from modelport.registry.transactions import Transactions

__all__ = ["OperationsLog"]

T = TypeVar("T")


class OperationsLog(Transactions):
    """Cache invalidations and job runs, in the registry's transactions (``_write``,
    ``_reading``: :class:`~modelport.registry.Registry` provides them)."""

    # -- enrichment-cache invalidations (see modelport.registry.invalidations) --------------

    def invalidate_cache(
        self,
        source: str | None = None,
        entity: dict[str, Any] | None = None,
        *,
        actor: str | None = None,
    ) -> CacheInvalidation:
        """Ask every server sharing this registry to drop cached rows (within its poll)."""
        who = actor or default_actor()
        return self._write(lambda session: record_invalidation(session, source, entity, who))

    def cache_invalidations(self, after: int | None) -> tuple[int, list[CacheInvalidation]]:
        with self._reading() as session:
            return invalidations_after(session, after)

    # -- scheduled batch runs (see modelport.registry.job_runs) ----------------------------

    def start_job_run(self, job: str, scheduled_for: datetime, *, host: str, pid: int) -> JobRun:
        return self._write(lambda session: start_run(session, job, scheduled_for, host, pid))

    def touch_job_run(self, run_id: int, attempt: dict[str, Any] | None = None) -> JobRun:
        """Refresh a running run's heartbeat; with ``attempt``, record one more attempt."""
        return self._write(lambda session: touch_run(session, run_id, attempt))

    def finish_job_run(
        self,
        run_id: int,
        status: RunStatus,
        *,
        error: str | None = None,
        model: str | None = None,
        rows: tuple[int, int, int] | None = None,
        detail: dict[str, Any] | None = None,
    ) -> JobRun:
        """End a running run; ``rows`` is (read, scored, rejected), ``detail`` adds keys."""
        return self._write(
            lambda session: finish_run(
                session, run_id, status, error=error, model=model, rows=rows, detail=detail
            )
        )

    def abandon_stale_job_runs(self, older_than: timedelta) -> list[JobRun]:
        return self._write(lambda session: abandon_stale(session, older_than))

    def job_runs(
        self, job: str | None = None, *, status: RunStatus | None = None, limit: int | None = None
    ) -> list[JobRun]:
        """Recorded runs, newest first (``limit`` of them), of every job or of ``job``."""
        with self._reading() as session:
            return runs_for(session, job, status=status, limit=limit)
