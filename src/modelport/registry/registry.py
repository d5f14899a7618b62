"""The registry: numbered versions of named models, aliases that point at them, and
the verified package files behind every version.

Registering copies and verifies the package into the artifact store *first*, then records
it in one database transaction, so a crash leaves either nothing or an unreferenced (but
complete) store entry, never rows pointing at missing files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TypeVar

from sqlalchemy import exc as sa_exc
from sqlalchemy import select
from sqlalchemy.orm import Session

from modelport.errors import RegistryError
from modelport.package.load import Package
from modelport.package.manifest import Manifest, check_name
from modelport.registry.database import WRITE_OPTION, create_registry_engine, database_errors
from modelport.registry.migrate import upgrade_to_head
from modelport.registry.queries import (
    latest_version,
    model_or_raise,
    point_alias,
    resolve_row,
    version_or_raise,
)
from modelport.registry.records import ModelVersion, RegisteredModel
from modelport.registry.refs import ModelRef, check_version
from modelport.registry.schema import AliasRow, ModelRow, VersionRow
from modelport.registry.store import ArtifactStore
from modelport.settings import Settings

__all__ = ["Registry"]

T = TypeVar("T")
_WRITE_ATTEMPTS = 5  # concurrent writers may collide on a unique constraint; retry


class Registry:
    """Models, versions and aliases in a SQL database; package files in an artifact store.

    Opening one upgrades the database schema to the newest revision if needed.
    """

    def __init__(self, database_url: str, artifacts_dir: Path) -> None:
        self._engine = create_registry_engine(database_url)
        self._writer = self._engine.execution_options(**{WRITE_OPTION: True})
        self._store = ArtifactStore(Path(artifacts_dir))
        try:
            with database_errors(self._engine):
                upgrade_to_head(self._engine, self._writer)
        except BaseException:
            self._engine.dispose()
            raise

    @classmethod
    def from_settings(cls, settings: Settings) -> Registry:
        return cls(settings.resolved_database_url, settings.artifacts_dir)

    def __repr__(self) -> str:
        url = self._engine.url.render_as_string(hide_password=True)
        return f"Registry({url!r}, {str(self._store.root)!r})"

    def __enter__(self) -> Registry:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._engine.dispose()

    # -- writing ---------------------------------------------------------------------------

    def register(self, source: str | Path, *, alias: str | None = None) -> ModelVersion:
        """Store a package (directory or ``.mpk``) as the next version of the model it names.

        The same package registered again returns its existing version (moving ``alias``
        to it if given). A package that fails verification raises :class:`IntegrityError`
        and leaves nothing behind.
        """
        if alias is not None:
            check_name(alias, "alias")
        manifest = self._store.add(Path(source))
        return self._write(lambda session: self._record(session, manifest, alias))

    def set_alias(self, name: str, alias: str, version: int) -> ModelVersion:
        """Point ``name@alias`` at ``version`` (creating the alias or moving it)."""
        check_name(name)
        check_name(alias, "alias")
        check_version(version)

        def move(session: Session) -> ModelVersion:
            model = model_or_raise(session, name)
            row = version_or_raise(session, model, version)
            point_alias(session, model.id, alias, row.version)
            return self._snapshot(session, model.name, row)

        return self._write(move)

    # -- reading ---------------------------------------------------------------------------

    def list_models(self) -> list[RegisteredModel]:
        with self._reading() as session:
            models = session.scalars(select(ModelRow).order_by(ModelRow.name)).all()
            return self._assemble(session, models)

    def get_model(self, name: str) -> RegisteredModel:
        check_name(name)
        with self._reading() as session:
            return self._assemble(session, [model_or_raise(session, name)])[0]

    def get_version(self, name: str, version: int) -> ModelVersion:
        return self.resolve(ModelRef(name, version=version))

    def resolve(self, ref: str | ModelRef) -> ModelVersion:
        """The version a reference names: ``NAME`` (production), ``NAME@ALIAS``, ``NAME:N``."""
        with self._reading() as session:
            model, row = resolve_row(session, ref)
            return self._snapshot(session, model.name, row)

    def manifest(self, ref: str | ModelRef) -> Manifest:
        """The manifest recorded (verified) at registration; reads no package files."""
        with self._reading() as session:
            _, row = resolve_row(session, ref)
            stored = row.manifest
        return Manifest.model_validate(stored)

    def open(self, ref: str | ModelRef) -> Package:
        """Resolve ``ref`` and open its stored package, re-verifying every digest."""
        version = self.resolve(ref)
        return self._store.open(version.digest)

    def alias_state(self) -> dict[tuple[str, str], int]:
        """``(model, alias) -> version`` for every alias, in one query: cheap to poll."""
        query = select(ModelRow.name, AliasRow.name, AliasRow.version).join(
            ModelRow, AliasRow.model_id == ModelRow.id
        )
        with database_errors(self._engine), self._engine.connect() as connection:
            return {(model, alias): version for model, alias, version in connection.execute(query)}

    # -- internals -------------------------------------------------------------------------

    @contextmanager
    def _reading(self) -> Iterator[Session]:
        """One read transaction: every query inside sees the same snapshot."""
        with database_errors(self._engine), Session(self._engine) as session, session.begin():
            yield session

    def _write(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in one write transaction, again if a concurrent writer collided."""
        attempt = 0
        while True:
            try:
                with (
                    database_errors(self._engine),
                    Session(self._writer) as session,
                    session.begin(),
                ):
                    return work(session)
            except RegistryError as exc:
                attempt += 1
                collided = isinstance(exc.__cause__, sa_exc.IntegrityError)
                if not collided or attempt >= _WRITE_ATTEMPTS:
                    raise

    def _record(self, session: Session, manifest: Manifest, alias: str | None) -> ModelVersion:
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
        if row is None:
            row = VersionRow(
                model_id=model.id,
                version=latest_version(session, model.id) + 1,
                digest=manifest.digest,
                task=manifest.task.value,
                runtime=manifest.runtime.value,
                description=manifest.description,
                manifest=manifest.model_dump(mode="json"),
                created_at=now,
            )
            session.add(row)
            session.flush()
        if alias is not None:
            point_alias(session, model.id, alias, row.version)
        return self._snapshot(session, model.name, row)

    def _snapshot(self, session: Session, name: str, row: VersionRow) -> ModelVersion:
        aliases = session.scalars(
            select(AliasRow.name)
            .where(AliasRow.model_id == row.model_id, AliasRow.version == row.version)
            .order_by(AliasRow.name)
        ).all()
        return self._version(name, row, tuple(aliases))

    def _version(self, name: str, row: VersionRow, aliases: tuple[str, ...]) -> ModelVersion:
        return ModelVersion(
            name=name,
            version=row.version,
            digest=row.digest,
            task=row.task,
            runtime=row.runtime,
            description=row.description,
            created_at=row.created_at,
            path=self._store.path_for(row.digest),
            aliases=aliases,
        )

    def _assemble(self, session: Session, models: Sequence[ModelRow]) -> list[RegisteredModel]:
        ids = [m.id for m in models]
        versions = session.scalars(
            select(VersionRow).where(VersionRow.model_id.in_(ids)).order_by(VersionRow.version)
        ).all()
        aliases = session.scalars(
            select(AliasRow).where(AliasRow.model_id.in_(ids)).order_by(AliasRow.name)
        ).all()
        assembled = []
        for model in models:
            pointing: dict[int, list[str]] = {}
            for alias in aliases:
                if alias.model_id == model.id:
                    pointing.setdefault(alias.version, []).append(alias.name)
            assembled.append(
                RegisteredModel(
                    name=model.name,
                    created_at=model.created_at,
                    versions=tuple(
                        self._version(model.name, v, tuple(pointing.get(v.version, ())))
                        for v in versions
                        if v.model_id == model.id
                    ),
                    aliases={a.name: a.version for a in aliases if a.model_id == model.id},
                )
            )
        return assembled
