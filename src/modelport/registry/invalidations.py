"""Enrichment-cache invalidations, shared through the registry database.

Each server worker keeps its own enrichment cache (``modelport.orchestrate.cache``). An
operator who knows rows changed records an invalidation here, once; every worker of every
server sharing the registry reads new invalidations on its regular poll (the one that
picks up alias moves) and drops the rows named, so the change is seen everywhere within
the poll interval instead of after the sources' TTL.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from modelport.errors import InvalidInput
from modelport.registry.audit import default_actor
from modelport.registry.database import Database
from modelport.registry.schema import CacheInvalidationRow

__all__ = ["CacheInvalidation", "CacheInvalidations"]

# the patterns of source names and key columns (modelport.orchestrate.sources)
_SOURCE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


@dataclass(frozen=True)
class CacheInvalidation:
    """Drop every row (``source`` None), a source's rows, or one entity's (``entity``)."""

    id: int
    at: datetime
    actor: str
    source: str | None
    entity: dict[str, Any] | None


class CacheInvalidations:
    """Enrichment-cache invalidations, as ``registry.invalidations``: added by an operator,
    read by every server on its poll."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def add(
        self,
        source: str | None = None,
        entity: dict[str, Any] | None = None,
        *,
        actor: str | None = None,
    ) -> CacheInvalidation:
        """Ask every server sharing this registry to drop cached rows (within its poll):
        all of them, ``source``'s, or (with ``entity``, its key columns) one entity's."""
        _check(source, entity)
        who = (actor or default_actor())[:128]

        def add(session: Session) -> CacheInvalidation:
            row = CacheInvalidationRow(
                at=datetime.now(UTC), actor=who, source=source, entity=entity or None
            )
            session.add(row)
            session.flush()
            return _snapshot(row)

        return self._database.write(add)

    def since(self, after: int | None) -> tuple[int, list[CacheInvalidation]]:
        """The newest id and the invalidations after ``after``; ``None`` (a server starting
        with an empty cache) only asks for the newest id."""
        with self._database.reading() as session:
            if after is None:
                return int(session.scalar(select(func.max(CacheInvalidationRow.id))) or 0), []
            rows = session.scalars(
                select(CacheInvalidationRow)
                .where(CacheInvalidationRow.id > after)
                .order_by(CacheInvalidationRow.id)
            ).all()
            return (rows[-1].id if rows else after), [_snapshot(row) for row in rows]


def _check(source: str | None, entity: dict[str, Any] | None) -> None:
    if source is not None and not _SOURCE.fullmatch(source):
        raise InvalidInput(f"{source[:70]!r} is not a source name (lowercase, digits, - and _)")
    for key, value in (entity or {}).items():
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            raise InvalidInput(f"{str(key)[:70]!r} is not an entity key column name")
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise InvalidInput(f"entity key {key}: give a string or a number, not {value!r:.70}")
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidInput(f"entity key {key}: give a finite number, not {value}")


def _snapshot(row: CacheInvalidationRow) -> CacheInvalidation:
    return CacheInvalidation(row.id, row.at, row.actor, row.source, row.entity)
