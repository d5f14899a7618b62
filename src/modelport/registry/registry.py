"""The registry: numbered versions of named models, aliases that point at them, and
the verified package files behind every version.

Registering copies and verifies the package into the artifact store *first*, then records
it in one database transaction, so a crash leaves either nothing or an unreferenced (but
complete) store entry, never rows pointing at missing files.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from modelport.errors import InUse, ModelNotFound
from modelport.package.load import Package
from modelport.package.manifest import Manifest, check_name
from modelport.registry.api_keys import ApiKeys
from modelport.registry.audit import (
    ALIAS_MOVES,
    Action,
    AuditEvent,
    Outcome,
    default_actor,
    events_for,
    record_event,
)
from modelport.registry.database import Database
from modelport.registry.invalidations import CacheInvalidations
from modelport.registry.job_runs import JobRuns
from modelport.registry.policies import ALL_MODELS, policies_for, refuse_if_gated, store_policy
from modelport.registry.queries import (
    ANY_REVISION,
    alias_row,
    aliases_of,
    assemble_models,
    latest_version,
    model_or_raise,
    point_alias,
    resolve_row,
    version_or_raise,
    version_snapshot,
)
from modelport.registry.records import AliasState, ModelVersion, RegisteredModel, VersionMetadata
from modelport.registry.refs import ModelRef, check_version
from modelport.registry.schema import AliasRow, ModelRow, VersionRow
from modelport.registry.signatures import Signatures, put_signatures
from modelport.registry.store import Store, open_store
from modelport.settings import Settings
from modelport.signing import Keyring

__all__ = ["Registry"]


class Registry:
    """Models, versions and aliases in a SQL database; package files in an artifact store.

    Opening one upgrades the database schema to the newest revision if needed. What else
    the database keeps has its own small repository, sharing the registry's database:
    :attr:`job_runs` (scheduled batch runs), :attr:`api_keys`, :attr:`signatures` (of
    registered packages) and :attr:`invalidations` (of the servers' enrichment caches).
    """

    job_runs: JobRuns
    api_keys: ApiKeys
    signatures: Signatures
    invalidations: CacheInvalidations

    def __init__(
        self,
        database_url: str,
        artifacts: Path | str | Store,
        *,
        cache_dir: Path | None = None,
        require_signature: bool = False,
        trusted_keys: Keyring | Path | None = None,
    ) -> None:
        """``artifacts`` is the artifact store: a directory, a ``file://`` or other fsspec
        URL (a remote store, downloaded into ``cache_dir``), or a store object.

        ``trusted_keys`` (a :class:`Keyring` or its directory) are the public keys whose
        signatures count; with ``require_signature``, :meth:`register` and :meth:`open`
        refuse a package without a valid signature by one of them (:class:`SignatureError`).
        """
        keyring = Keyring(trusted_keys) if isinstance(trusted_keys, Path) else trusted_keys
        self._store = (
            open_store(artifacts, cache_dir=cache_dir)
            if isinstance(artifacts, str | Path)
            else artifacts
        )
        self._database = Database(database_url)
        try:
            self._database.upgrade()
        except BaseException:
            self._database.close()
            raise
        self.job_runs = JobRuns(self._database)
        self.api_keys = ApiKeys(self._database)
        self.invalidations = CacheInvalidations(self._database)
        self.signatures = Signatures(
            self._database,
            self.resolve,
            keyring=keyring,
            require_signature=require_signature,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> Registry:
        return cls(
            settings.resolved_database_url,
            settings.resolved_artifacts_url,
            cache_dir=settings.artifacts_cache_dir,
            require_signature=settings.require_signature,
            trusted_keys=Keyring(settings.resolved_trusted_keys_dir),
        )

    @property
    def require_signature(self) -> bool:
        """Whether :meth:`register` and :meth:`open` insist on a trusted key's signature."""
        return self.signatures.require_signature

    @property
    def keyring(self) -> Keyring | None:
        """The public keys whose signatures count here."""
        return self.signatures.keyring

    def __repr__(self) -> str:
        return f"Registry({self._database.url!r}, {str(self._store.root)!r})"

    def __enter__(self) -> Registry:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._database.close()

    # -- writing ---------------------------------------------------------------------------

    def register(
        self,
        source: str | Path,
        *,
        alias: str | None = None,
        metadata: VersionMetadata | None = None,
        actor: str | None = None,
    ) -> ModelVersion:
        """Store a package (directory or ``.mpk``) as the next version of the model it names.

        The same package registered again returns its existing version (moving ``alias``
        to it if given; restoring it if it was deleted). A package that fails
        verification raises :class:`IntegrityError` and leaves nothing behind.
        ``metadata`` adds to what the package itself says (owner, tags, lineage).

        The signatures in the package's ``signature.json`` over its digest are kept (in the
        same transaction); one by a trusted key that does not verify raises
        :class:`SignatureError`. With ``require_signature``, a package without a valid
        signature by a trusted key is refused (:class:`SignatureError`, saying why) before
        anything is stored.
        """
        if alias is not None:
            check_name(alias, "alias")
        who = actor or default_actor()
        source = Path(source)
        carried = self.signatures.carried(source)  # refused before anything is stored
        manifest = self._store.add(source)
        # again over the verified digest: the source may have changed while it was copied
        kept = self.signatures.vouch(manifest.digest, carried.signatures, f"the package {source}")

        def record(session: Session) -> ModelVersion:
            version = self._record(session, manifest, alias, metadata, who)
            put_signatures(session, manifest.digest, kept, who)  # in the same transaction
            return version

        return self._database.write(record)

    def set_alias(
        self,
        name: str,
        alias: str,
        version: int,
        *,
        actor: str | None = None,
        expect_revision: int | None = ANY_REVISION,
        force: bool = False,
    ) -> ModelVersion:
        """Point ``name@alias`` at ``version`` (creating the alias or moving it), no gates.

        An alias with a gate policy is moved only by a promotion (or a rollback): a direct
        move raises :class:`GatedAlias` unless ``force`` (recorded as forced). With
        ``expect_revision`` (from :meth:`alias_info`), the move happens only if the alias
        has not moved since; else :class:`Conflict`.
        """
        return self.move_alias(
            name,
            alias,
            version,
            actor=actor,
            action=Action.ALIAS,
            expect_revision=expect_revision,
            detail={"forced": True} if force else None,
        )

    def move_alias(
        self,
        name: str,
        alias: str,
        version: int,
        *,
        action: Action,
        actor: str | None = None,
        expect_revision: int | None = ANY_REVISION,
        detail: dict[str, Any] | None = None,
        undoes: int | None = None,
    ) -> ModelVersion:
        """Move an alias and record why (``action``, ``detail``) in one transaction."""
        check_name(name)
        check_name(alias, "alias")
        check_version(version)
        who = actor or default_actor()

        def move(session: Session) -> ModelVersion:
            model = model_or_raise(session, name)
            row = version_or_raise(session, model, version)
            if action is Action.ALIAS and not (detail or {}).get("forced"):
                refuse_if_gated(session, model.name, alias)
            previous, revision = point_alias(
                session, model, alias, row.version, expect_revision=expect_revision
            )
            record_event(
                session,
                actor=who,
                action=action,
                model=model.name,
                version=row.version,
                alias=alias,
                previous_version=previous,
                undoes=undoes,
                detail={**(detail or {}), "revision": revision},
            )
            return self._snapshot(session, model.name, row)

        return self._database.write(move)

    def record_attempt(
        self,
        name: str,
        *,
        action: Action,
        outcome: Outcome,
        version: int | None,
        alias: str | None,
        detail: dict[str, Any],
        actor: str | None = None,
    ) -> AuditEvent:
        """Record an attempt that changed nothing (a refused or conflicting promotion)."""
        who = actor or default_actor()

        def record(session: Session) -> AuditEvent:
            model = model_or_raise(session, name)
            current = alias_row(session, model, alias) if alias else None
            return record_event(
                session,
                actor=who,
                action=action,
                outcome=outcome,
                model=model.name,
                version=version,
                alias=alias,
                previous_version=None if current is None else current.version,
                detail=detail,
            )

        return self._database.write(record)

    def delete_version(self, name: str, version: int, *, actor: str | None = None) -> ModelVersion:
        """Mark a version deleted and drop its stored package (unless another version
        shares it). Refused while an alias points at it. Its number is never reused."""
        check_name(name)
        check_version(version)
        who = actor or default_actor()

        def delete(session: Session) -> ModelVersion:
            model = model_or_raise(session, name)
            row = version_or_raise(session, model, version)
            pointing = aliases_of(session, model.id, row.version)
            if pointing:
                raise InUse(
                    f"{model.name}:{row.version} is what {', '.join(pointing)} "
                    f"point{'s' if len(pointing) == 1 else ''} at; move "
                    f"{'it' if len(pointing) == 1 else 'them'} to another version first"
                )
            snapshot = self._snapshot(session, model.name, row)
            row.deleted_at = datetime.now(UTC)
            record_event(
                session,
                actor=who,
                action=Action.DELETE,
                model=model.name,
                version=row.version,
                detail={"digest": row.digest},
            )
            return snapshot

        deleted = self._database.write(delete)
        with self._database.reading() as session:
            shared = session.scalar(
                select(VersionRow.id).where(
                    VersionRow.digest == deleted.digest, VersionRow.deleted_at.is_(None)
                )
            )
        if shared is None:
            self._store.remove(deleted.digest)
        return deleted

    def history(self, name: str, *, limit: int | None = None) -> list[AuditEvent]:
        """The model's audit trail, newest first."""
        check_name(name)
        with self._database.reading() as session:
            model_or_raise(session, name)
            return events_for(session, name, limit=limit)

    def alias_history(self, name: str, alias: str) -> list[AuditEvent]:
        """The moves of one alias that happened (no refused attempts), newest first."""
        check_name(name)
        check_name(alias, "alias")
        with self._database.reading() as session:
            model_or_raise(session, name)
            return events_for(session, name, alias=alias, actions=ALIAS_MOVES, outcome=Outcome.DONE)

    def alias_info(self, name: str, alias: str) -> AliasState | None:
        """Where ``name@alias`` points now and its revision (``None`` if there is no such alias)."""
        check_name(name)
        check_name(alias, "alias")
        with self._database.reading() as session:
            row = alias_row(session, model_or_raise(session, name), alias)
            return None if row is None else AliasState(row.version, row.revision, row.updated_at)

    # -- gate policies ---------------------------------------------------------------------

    def gate_policies(self, name: str, alias: str) -> list[dict[str, Any]]:
        """The policies a promotion of ``name`` to ``alias`` must satisfy (see
        :mod:`modelport.registry.policies`): the one for every model first."""
        with self._database.reading() as session:
            return policies_for(session, name, alias)

    def set_gate_policy(
        self, model: str, alias: str, policy: dict[str, Any] | None, *, actor: str | None = None
    ) -> None:
        """Declare (or with ``None`` remove) the gate policy of ``model`` (or ``*``) @ ``alias``."""
        if model != ALL_MODELS:
            check_name(model)
        check_name(alias, "alias")
        who = actor or default_actor()
        self._database.write(lambda session: store_policy(session, model, alias, policy, who))

    # -- reading ---------------------------------------------------------------------------

    def list_models(self) -> list[RegisteredModel]:
        with self._database.reading() as session:
            # sorted here, not by the database: PostgreSQL's collation may order '-' and '_'
            # differently from SQLite's code-point order
            models = sorted(session.scalars(select(ModelRow)), key=lambda m: m.name)
            return self._assemble(session, models)

    def get_model(self, name: str) -> RegisteredModel:
        check_name(name)
        with self._database.reading() as session:
            assembled = self._assemble(session, [model_or_raise(session, name)])
        if not assembled:
            raise ModelNotFound(
                f"every version of model {name!r} has been deleted; "
                "register a package to add one (see `modelport history` for what happened)"
            )
        return assembled[0]

    def get_version(self, name: str, version: int) -> ModelVersion:
        return self.resolve(ModelRef(name, version=version))

    def resolve(self, ref: str | ModelRef) -> ModelVersion:
        """The version a reference names: ``NAME`` (production), ``NAME@ALIAS``, ``NAME:N``."""
        with self._database.reading() as session:
            model, row = resolve_row(session, ref)
            return self._snapshot(session, model.name, row)

    def manifest(self, ref: str | ModelRef) -> Manifest:
        """The manifest recorded (verified) at registration; reads no package files."""
        with self._database.reading() as session:
            _, row = resolve_row(session, ref)
            stored = row.manifest
        return Manifest.model_validate(stored)

    def open(self, ref: str | ModelRef) -> Package:
        """Resolve ``ref`` and open its stored package, re-verifying every digest.

        With ``require_signature``, a version whose package has no valid signature by a
        trusted key is refused first (:class:`SignatureError`, saying why).
        """
        version = self.resolve(ref)
        if self.require_signature:
            self.signatures.require_signed(version)
        return self._store.open(version.digest)

    def alias_state(self) -> dict[tuple[str, str], int]:
        """``(model, alias) -> version`` for every alias, in one query: cheap to poll."""
        query = select(ModelRow.name, AliasRow.name, AliasRow.version).join(
            ModelRow, AliasRow.model_id == ModelRow.id
        )
        with self._database.connect() as connection:
            return {(model, alias): version for model, alias, version in connection.execute(query)}

    # -- internals -------------------------------------------------------------------------

    def _record(
        self,
        session: Session,
        manifest: Manifest,
        alias: str | None,
        metadata: VersionMetadata | None,
        actor: str,
    ) -> ModelVersion:
        now = datetime.now(UTC)
        model = session.scalar(select(ModelRow).where(ModelRow.name == manifest.name))
        if model is None:
            model = ModelRow(name=manifest.name, created_at=now)
            session.add(model)
            session.flush()
        row = session.scalar(
            select(VersionRow).where(
                VersionRow.model_id == model.id, VersionRow.digest == manifest.digest
            )
        )
        event: dict[str, Any] = {"digest": manifest.digest}
        if row is None:
            described = VersionMetadata.combined(manifest.metadata, metadata)
            row = VersionRow(
                model_id=model.id,
                version=latest_version(session, model.id) + 1,
                digest=manifest.digest,
                task=manifest.task.value,
                runtime=manifest.runtime.value,
                description=manifest.description,
                manifest=manifest.model_dump(mode="json"),
                created_at=now,
                owner=described.owner,
                tags=list(described.tags),
                lineage=described.lineage,
                training_metrics=described.training_metrics,
                sample_fingerprint=described.sample_fingerprint,
                registered_by=actor,
            )
            session.add(row)
            session.flush()
        elif row.deleted_at is not None:
            row.deleted_at = None
            event["restored"] = True
        else:
            event["already_registered"] = True
        previous = None
        if alias is not None:
            refuse_if_gated(session, model.name, alias)
            previous, revision = point_alias(session, model, alias, row.version)
            event["revision"] = revision
        if alias is not None or not event.get("already_registered"):
            record_event(
                session,
                actor=actor,
                action=Action.REGISTER,
                model=model.name,
                version=row.version,
                alias=alias,
                previous_version=previous,
                detail=event,
            )
        return self._snapshot(session, model.name, row)

    def _snapshot(self, session: Session, name: str, row: VersionRow) -> ModelVersion:
        aliases = aliases_of(session, row.model_id, row.version)
        return self._version(name, row, tuple(aliases))

    def _version(self, name: str, row: VersionRow, aliases: tuple[str, ...]) -> ModelVersion:
        return version_snapshot(name, row, aliases, self._store.path_for(row.digest))

    def _assemble(self, session: Session, models: Sequence[ModelRow]) -> list[RegisteredModel]:
        return assemble_models(session, models, self._store.path_for)
