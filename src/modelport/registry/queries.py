"""The registry's lookups and alias moves, within a caller's session (and transaction).

Not-found errors are built here so they can say what does exist: the registered model
names, a model's version range, its aliases and where they point.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from modelport.errors import AliasNotFound, ModelNotFound, VersionNotFound
from modelport.registry.refs import ModelRef, parse_ref
from modelport.registry.schema import AliasRow, ModelRow, VersionRow

__all__ = [
    "aliased_or_raise",
    "latest_version",
    "model_or_raise",
    "point_alias",
    "resolve_row",
    "version_or_raise",
]

_LISTED = 20  # names shown in a not-found message


def latest_version(session: Session, model_id: int) -> int:
    """The highest version number of a model (0 before its first version)."""
    latest = session.scalar(
        select(func.max(VersionRow.version)).where(VersionRow.model_id == model_id)
    )
    return latest or 0


def point_alias(session: Session, model_id: int, alias: str, version: int) -> None:
    now = datetime.now(UTC)
    row = session.scalar(
        select(AliasRow).where(AliasRow.model_id == model_id, AliasRow.name == alias)
    )
    if row is None:
        session.add(
            AliasRow(model_id=model_id, name=alias, version=version, revision=1, updated_at=now)
        )
    elif row.version != version:
        row.version = version
        row.revision += 1
        row.updated_at = now
    session.flush()


def resolve_row(session: Session, ref: str | ModelRef) -> tuple[ModelRow, VersionRow]:
    ref = ref if isinstance(ref, ModelRef) else parse_ref(ref)
    model = model_or_raise(session, ref.name)
    if ref.version is not None:
        return model, version_or_raise(session, model, ref.version)
    return model, aliased_or_raise(session, model, str(ref.alias))


def model_or_raise(session: Session, name: str) -> ModelRow:
    model = session.scalar(select(ModelRow).where(ModelRow.name == name))
    if model is not None:
        return model
    names = session.scalars(select(ModelRow.name).order_by(ModelRow.name).limit(_LISTED + 1)).all()
    known = f"registered models: {_listing(names)}" if names else "no models are registered"
    raise ModelNotFound(f"no model named {name!r}; {known}")


def version_or_raise(session: Session, model: ModelRow, version: int) -> VersionRow:
    row = session.scalar(
        select(VersionRow).where(VersionRow.model_id == model.id, VersionRow.version == version)
    )
    if row is not None:
        return row
    latest = latest_version(session, model.id)
    known = "its only version is 1" if latest == 1 else f"its versions are 1 to {latest}"
    raise VersionNotFound(f"model {model.name!r} has no version {version}; {known}")


def aliased_or_raise(session: Session, model: ModelRow, alias: str) -> VersionRow:
    row = session.scalar(
        select(VersionRow)
        .join(
            AliasRow,
            (AliasRow.model_id == VersionRow.model_id) & (AliasRow.version == VersionRow.version),
        )
        .where(AliasRow.model_id == model.id, AliasRow.name == alias)
    )
    if row is not None:
        return row
    aliases = session.execute(
        select(AliasRow.name, AliasRow.version)
        .where(AliasRow.model_id == model.id)
        .order_by(AliasRow.name)
        .limit(_LISTED + 1)
    ).all()
    latest = latest_version(session, model.id)
    if aliases:
        known = "its aliases: " + _listing([f"{a} (version {v})" for a, v in aliases])
    else:
        known = f"it has no aliases; refer to a version instead, e.g. '{model.name}:{latest}'"
    raise AliasNotFound(f"model {model.name!r} has no alias {alias!r}; {known}")


def _listing(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_LISTED])
    return f"{shown}, ..." if len(names) > _LISTED else shown
