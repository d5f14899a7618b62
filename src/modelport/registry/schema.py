"""The registry's tables as typed SQLAlchemy models.

The schema itself is created and changed only by the Alembic migrations in
``migrations/versions``; ``tests/registry/test_registry_migrations.py`` proves the two agree.
Everything here is portable SQL (SQLite and PostgreSQL): no dialect-only types.

An alias stores the version *number* and a composite foreign key to
``model_versions (model_id, version)``, so the database itself guarantees that an alias
points at a version of its own model. ``revision`` grows by one on every move: with
``updated_at`` it tells a poller that something changed, and a promotion that read
revision N moves the alias only if it is still at N (compare and set).

A version is never removed, only marked deleted (``deleted_at``): its number is never
given to another package, and the audit trail keeps pointing at something real. The audit
trail names models by name rather than by key, so it outlives what it describes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "VERSION_TABLE",
    "AliasRow",
    "ApiKeyRow",
    "AuditRow",
    "CacheInvalidationRow",
    "Base",
    "JobRunRow",
    "SignatureRow",
    "ModelRow",
    "PolicyRow",
    "UTCDateTime",
    "VersionRow",
]

VERSION_TABLE = "modelport_schema_version"
"""Alembic's bookkeeping table, named so it cannot collide with another application's."""

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, whatever the database keeps.

    SQLite stores no offset and hands back naive values; they were written as UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("registry timestamps must be timezone-aware")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ModelRow(Base):
    __tablename__ = "models"
    __table_args__ = (UniqueConstraint("name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class VersionRow(Base):
    __tablename__ = "model_versions"
    __table_args__ = (
        UniqueConstraint("model_id", "version"),
        UniqueConstraint("model_id", "digest"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"))
    version: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64))
    task: Mapped[str] = mapped_column(String(32))
    runtime: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text)
    manifest: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    owner: Mapped[str | None] = mapped_column(String(128))
    tags: Mapped[list[str] | None] = mapped_column(JSON)
    lineage: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    training_metrics: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    sample_fingerprint: Mapped[str | None] = mapped_column(String(64))
    registered_by: Mapped[str | None] = mapped_column(String(128))
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AliasRow(Base):
    __tablename__ = "aliases"
    __table_args__ = (
        UniqueConstraint("model_id", "name"),
        ForeignKeyConstraint(
            ["model_id", "version"], ["model_versions.model_id", "model_versions.version"]
        ),
        CheckConstraint("revision >= 1", name="revision_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"))
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    revision: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AuditRow(Base):
    """One event: a registration, alias move, promotion attempt, rollback, deletion, policy."""

    __tablename__ = "audit_events"
    __table_args__ = (Index(None, "model", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(16))
    model: Mapped[str] = mapped_column(String(64))
    version: Mapped[int | None] = mapped_column(Integer)
    alias: Mapped[str | None] = mapped_column(String(64))
    previous_version: Mapped[int | None] = mapped_column(Integer)
    undoes: Mapped[int | None] = mapped_column(ForeignKey("audit_events.id"))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)


class PolicyRow(Base):
    """The gates every promotion to ``alias`` must pass; ``model`` ``*`` means every model."""

    __tablename__ = "gate_policies"
    __table_args__ = (UniqueConstraint("model", "alias"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model: Mapped[str] = mapped_column(String(64))
    alias: Mapped[str] = mapped_column(String(64))
    policy: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(128))


class CacheInvalidationRow(Base):
    """A request to drop enrichment-cache rows in every server sharing this registry: all
    rows (``source`` null), a source's, or one entity's (``entity``: its keys by name)."""

    __tablename__ = "cache_invalidations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(128))
    source: Mapped[str | None] = mapped_column(String(64))
    entity: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class JobRunRow(Base):
    """One run of a scheduled batch job (``modelport.schedule``): its attempts, outcome, rows.

    ``heartbeat_at`` is refreshed while the run is in progress, so a run whose scheduler
    died (``kill -9``, a lost machine) can be told apart from one still going and marked
    ``abandoned``. ``detail`` keeps each attempt (times, outcome, error) and each file.
    """

    __tablename__ = "job_runs"
    __table_args__ = (
        Index(None, "job", "id"),
        CheckConstraint(
            "status IN ('running', 'succeeded', 'failed', 'abandoned')", name="status_known"
        ),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job: Mapped[str] = mapped_column(String(64))
    scheduled_for: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    host: Mapped[str] = mapped_column(String(128))
    pid: Mapped[int] = mapped_column(Integer)
    model: Mapped[str | None] = mapped_column(String(160))
    rows_read: Mapped[int | None] = mapped_column(BigInteger)
    rows_scored: Mapped[int | None] = mapped_column(BigInteger)
    rows_rejected: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)


class ApiKeyRow(Base):
    """An API key: its public id, scopes and a salted hash of its secret (never the secret).

    ``key_id`` is the part of the key before the secret, so a request's key is found by
    id and then checked against the hash in constant time.
    """

    __tablename__ = "api_keys"
    __table_args__ = (UniqueConstraint("key_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    salt: Mapped[str] = mapped_column(String(64))
    secret_hash: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by: Mapped[str | None] = mapped_column(String(128))


class SignatureRow(Base):
    """An Ed25519 signature over a package digest, by the key ``key_id`` names.

    Kept by digest, not by version: a signature vouches for content, whichever versions
    hold it. Which keys are trusted is never stored here (see ``modelport.signing``):
    whoever can write to the registry must not be able to make a package trusted.
    """

    __tablename__ = "package_signatures"
    __table_args__ = (UniqueConstraint("digest", "key_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(Text)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())
    added_by: Mapped[str] = mapped_column(String(128))
