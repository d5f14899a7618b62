"""The registry's lookups and alias moves, within a caller's session (and transaction).

Not-found errors are built here so they can say what does exist: the registered model
names, a model's version range, its aliases and where they point.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from modelport.errors import AliasNotFound, Conflict, ModelNotFound, VersionNotFound
from modelport.registry.records import ModelVersion, RegisteredModel, VersionMetadata
from modelport.registry.refs import ModelRef, parse_ref
from modelport.registry.schema import AliasRow, ModelRow, VersionRow

__all__ = [
    "ANY_REVISION",
    "alias_row",
    "assemble_models",
    "aliased_or_raise",
    "aliases_of",
    "latest_version",
    "model_or_raise",
    "point_alias",
    "resolve_row",
    "version_or_raise",
    "version_snapshot",
]

_LISTED = 20  # names shown in a not-found message


def latest_version(session: Session, model_id: int) -> int:
    """The highest version number of a model (0 before its first version)."""
    latest = session.scalar(
        select(func.max(VersionRow.version)).where(VersionRow.model_id == model_id)
    )
    return latest or 0


ANY_REVISION = -1
"""``expect_revision`` for a move that does not care where the alias was."""


def point_alias(
    session: Session,
    model: ModelRow,
    alias: str,
    version: int,
    *,
    expect_revision: int | None = ANY_REVISION,
) -> tuple[int | None, int]:
    """Point ``alias`` at ``version``; the version it pointed at before (if any) and the
    alias's new revision.

    ``expect_revision`` is compare-and-set: the revision the caller read (``None``: the
    alias did not exist). If the alias has moved since, :class:`Conflict` and nothing
    changes. The row is locked for the rest of the transaction (``FOR UPDATE`` where the
    database has it; SQLite's write transactions are serial anyway).
    """
    row = session.scalar(
        select(AliasRow)
        .where(AliasRow.model_id == model.id, AliasRow.name == alias)
        .with_for_update()
    )
    current = None if row is None else row.revision
    if expect_revision != ANY_REVISION and expect_revision != current:
        where = "did not exist" if expect_revision is None else f"was at revision {expect_revision}"
        now = "it has been removed" if row is None else f"it now points at version {row.version}"
        raise Conflict(
            f"{model.name}@{alias} was moved by someone else while this ran (it {where}; "
            f"{now}); nothing was changed: check `modelport history {model.name}` and retry"
        )
    now_at = datetime.now(UTC)
    if row is None:
        session.add(
            AliasRow(model_id=model.id, name=alias, version=version, revision=1, updated_at=now_at)
        )
        session.flush()
        return None, 1
    previous = row.version
    if previous != version:
        row.version = version
        row.revision += 1
        row.updated_at = now_at
        session.flush()
    return previous, row.revision


def alias_row(session: Session, model: ModelRow, alias: str) -> AliasRow | None:
    return session.scalar(
        select(AliasRow).where(AliasRow.model_id == model.id, AliasRow.name == alias)
    )


def aliases_of(session: Session, model_id: int, version: int) -> list[str]:
    """The aliases pointing at a version, by name (sorted here: collations differ)."""
    query = select(AliasRow.name).where(AliasRow.model_id == model_id, AliasRow.version == version)
    return sorted(session.scalars(query))


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
    if row is not None and row.deleted_at is None:
        return row
    if row is not None and row.deleted_at is not None:
        raise VersionNotFound(
            f"version {version} of model {model.name!r} was deleted on "
            f"{row.deleted_at:%Y-%m-%d %H:%M} UTC; register its package again to restore it"
        )
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


def version_snapshot(
    name: str, row: VersionRow, aliases: tuple[str, ...], path: Path
) -> ModelVersion:
    """A version row as the frozen record the registry hands out."""
    return ModelVersion(
        name=name,
        version=row.version,
        digest=row.digest,
        task=row.task,
        runtime=row.runtime,
        description=row.description,
        created_at=row.created_at,
        path=path,
        aliases=aliases,
        metadata=VersionMetadata(
            owner=row.owner,
            tags=tuple(row.tags or ()),
            lineage=dict(row.lineage or {}),
            training_metrics=dict(row.training_metrics or {}),
            sample_fingerprint=row.sample_fingerprint,
            registered_by=row.registered_by,
        ),
    )


def assemble_models(
    session: Session, models: Sequence[ModelRow], path_for: Callable[[str], Path]
) -> list[RegisteredModel]:
    """The listed models with their live versions and aliases, in two queries."""
    ids = [m.id for m in models]
    versions = session.scalars(
        select(VersionRow)
        .where(VersionRow.model_id.in_(ids), VersionRow.deleted_at.is_(None))
        .order_by(VersionRow.version)
    ).all()
    aliases = session.scalars(select(AliasRow).where(AliasRow.model_id.in_(ids))).all()
    aliases = sorted(aliases, key=lambda a: a.name)
    assembled = []
    for model in models:
        if not any(v.model_id == model.id for v in versions):
            continue  # every version deleted: nothing to list
        pointing: dict[int, list[str]] = {}
        for alias in aliases:
            if alias.model_id == model.id:
                pointing.setdefault(alias.version, []).append(alias.name)
        assembled.append(
            RegisteredModel(
                name=model.name,
                created_at=model.created_at,
                versions=tuple(
                    version_snapshot(
                        model.name, v, tuple(pointing.get(v.version, ())), path_for(v.digest)
                    )
                    for v in versions
                    if v.model_id == model.id
                ),
                aliases={a.name: a.version for a in aliases if a.model_id == model.id},
            )
        )
    return assembled
