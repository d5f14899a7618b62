"""Gate policies stored per alias: the gates every promotion to it must pass.

The registry keeps a policy as the JSON it was given; what the fields mean is
:class:`modelport.lifecycle.gates.GatePolicy`'s business, so the registry does not depend
on the lifecycle package. A policy for model ``*`` applies to every model.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from modelport.errors import GatedAlias
from modelport.registry.audit import Action, record_event
from modelport.registry.schema import PolicyRow

__all__ = ["ALL_MODELS", "policies_for", "refuse_if_gated", "store_policy"]

ALL_MODELS = "*"


def policies_for(session: Session, name: str, alias: str) -> list[dict[str, Any]]:
    """The policy for every model first, then the model's own."""
    query = select(PolicyRow).where(
        PolicyRow.alias == alias, PolicyRow.model.in_([ALL_MODELS, name])
    )
    rows = sorted(session.scalars(query), key=lambda row: row.model != ALL_MODELS)
    return [dict(row.policy) for row in rows]


def store_policy(
    session: Session, model: str, alias: str, policy: dict[str, Any] | None, actor: str
) -> None:
    """Set, replace or (``policy=None``) remove a policy, and record it in the audit trail."""
    row = session.scalar(
        select(PolicyRow).where(PolicyRow.model == model, PolicyRow.alias == alias)
    )
    now = datetime.now(UTC)
    if policy is None:
        if row is not None:
            session.delete(row)
    elif row is None:
        session.add(
            PolicyRow(model=model, alias=alias, policy=policy, updated_at=now, updated_by=actor)
        )
    else:
        row.policy, row.updated_at, row.updated_by = policy, now, actor
    record_event(
        session,
        actor=actor,
        action=Action.POLICY,
        model=model,
        alias=alias,
        detail={"policy": policy},
    )


def refuse_if_gated(session: Session, name: str, alias: str) -> None:
    """A policy's gates cannot be skipped by moving the alias directly."""
    if policies_for(session, name, alias):
        raise GatedAlias(
            f"{name}@{alias} has a gate policy: move it with `modelport promote {name} VERSION "
            f"--to {alias}` (or `modelport rollback`); a direct move needs --force"
        )
