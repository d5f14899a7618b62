"""The audit trail: every registration, alias move, promotion attempt, rollback, deletion
and policy change, with when, who, and the details (gate results for promotions).

Events are written in the same transaction as the change they describe, so the trail and
the registry can never disagree: a change that did not commit left no event, and an event
names only changes that happened. A refused or conflicting promotion changes nothing but
is recorded too, in a transaction of its own.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from modelport.registry.schema import AuditRow

__all__ = [
    "ALIAS_MOVES",
    "Action",
    "AuditEvent",
    "Outcome",
    "default_actor",
    "events_for",
    "record_event",
]

_MAX_ACTOR = 128


class Action(StrEnum):
    REGISTER = "register"
    ALIAS = "alias"  # a direct alias move (no gates)
    PROMOTE = "promote"
    ROLLBACK = "rollback"
    DELETE = "delete"
    POLICY = "policy"
    SIGN = "sign"  # a signature added to a registered version


class Outcome(StrEnum):
    DONE = "done"
    REFUSED = "refused"  # a gate failed: nothing changed
    CONFLICT = "conflict"  # someone else moved the alias first: nothing changed


ALIAS_MOVES = (Action.REGISTER, Action.ALIAS, Action.PROMOTE, Action.ROLLBACK)
"""Actions that can move an alias (a registration only when given ``alias``)."""


@dataclass(frozen=True)
class AuditEvent:
    """One line of a model's history."""

    id: int
    at: datetime
    actor: str
    action: Action
    outcome: Outcome
    model: str
    version: int | None
    alias: str | None
    previous_version: int | None
    undoes: int | None
    detail: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (the CLI's ``--json`` and the admin API)."""
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action.value,
            "outcome": self.outcome.value,
            "model": self.model,
            "version": self.version,
            "alias": self.alias,
            "previous_version": self.previous_version,
            "undoes": self.undoes,
            "detail": self.detail,
        }


def default_actor() -> str:
    """Who is acting, when the caller does not say: ``MODELPORT_ACTOR``, else the OS user."""
    named = os.environ.get("MODELPORT_ACTOR")
    if named:
        return named[:_MAX_ACTOR]
    try:
        return getpass.getuser()[:_MAX_ACTOR]
    except (KeyError, OSError):  # no passwd entry (some containers)
        return f"uid {os.getuid()}"


def record_event(
    session: Session,
    *,
    actor: str,
    action: Action,
    model: str,
    outcome: Outcome = Outcome.DONE,
    version: int | None = None,
    alias: str | None = None,
    previous_version: int | None = None,
    undoes: int | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    row = AuditRow(
        at=datetime.now(UTC),
        actor=actor[:_MAX_ACTOR],
        action=action.value,
        outcome=outcome.value,
        model=model,
        version=version,
        alias=alias,
        previous_version=previous_version,
        undoes=undoes,
        detail=detail or {},
    )
    session.add(row)
    session.flush()
    return _event(row)


def events_for(
    session: Session,
    model: str,
    *,
    alias: str | None = None,
    actions: tuple[Action, ...] | None = None,
    outcome: Outcome | None = None,
    limit: int | None = None,
) -> list[AuditEvent]:
    """A model's events, newest first."""
    query = select(AuditRow).where(AuditRow.model == model)
    if alias is not None:
        query = query.where(AuditRow.alias == alias)
    if actions is not None:
        query = query.where(AuditRow.action.in_([a.value for a in actions]))
    if outcome is not None:
        query = query.where(AuditRow.outcome == outcome.value)
    query = query.order_by(AuditRow.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return [_event(row) for row in session.scalars(query)]


def _event(row: AuditRow) -> AuditEvent:
    return AuditEvent(
        id=row.id,
        at=row.at,
        actor=row.actor,
        action=Action(row.action),
        outcome=Outcome(row.outcome),
        model=row.model,
        version=row.version,
        alias=row.alias,
        previous_version=row.previous_version,
        undoes=row.undoes,
        detail=dict(row.detail or {}),
    )
