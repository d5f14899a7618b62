"""The schema comes from the packaged Alembic scripts, matches the models, and is shared
safely by several connections (WAL, busy timeout, foreign keys)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy import exc as sa_exc

from modelport.errors import RegistryError
from modelport.registry import Registry
from modelport.registry.database import create_registry_engine
from modelport.registry.migrate import alembic_config, current_revisions
from modelport.registry.schema import VERSION_TABLE, Base


def _url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'db' / 'registry.db'}"


def test_opening_creates_the_schema_at_head_from_nothing(tmp_path: Path) -> None:
    with Registry(_url(tmp_path), tmp_path / "artifacts"):
        pass
    engine = create_engine(_url(tmp_path))
    with engine.connect() as connection:
        assert current_revisions(connection) == {"0001"}
        tables = set(inspect(connection).get_table_names())
    engine.dispose()
    assert tables == {"models", "model_versions", "aliases", VERSION_TABLE}
    assert not (Path.cwd() / "alembic.ini").exists()


def test_migrations_match_the_models_exactly(tmp_path: Path) -> None:
    with Registry(_url(tmp_path), tmp_path / "artifacts"):
        pass
    engine = create_engine(_url(tmp_path))
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "version_table": VERSION_TABLE}
        )
        drift = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert drift == []


def test_downgrade_to_nothing_and_upgrade_again(tmp_path: Path) -> None:
    engine = create_registry_engine(_url(tmp_path))
    try:
        for target in ("head", "base", "head"):
            with engine.connect() as connection, connection.begin():
                config = alembic_config(connection)
                step = command.upgrade if target == "head" else command.downgrade
                step(config, target)
        with engine.connect() as connection:
            assert current_revisions(connection) == {"0001"}
    finally:
        engine.dispose()


def test_reopening_an_up_to_date_registry_changes_nothing(tmp_path: Path) -> None:
    for _ in range(3):
        Registry(_url(tmp_path), tmp_path / "artifacts").close()
    engine = create_engine(_url(tmp_path))
    with engine.connect() as connection:
        rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).all()
    engine.dispose()
    assert rows == [("0001",)]


def test_a_schema_from_a_newer_modelport_is_refused(tmp_path: Path) -> None:
    Registry(_url(tmp_path), tmp_path / "artifacts").close()
    engine = create_engine(_url(tmp_path))
    with engine.begin() as connection:
        connection.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(RegistryError, match="newer modelport"):
        Registry(_url(tmp_path), tmp_path / "artifacts")


def test_many_processes_may_open_a_new_registry_at_once(tmp_path: Path) -> None:
    """Server workers start together: each opens (and migrates) the same new database."""
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def open_one() -> None:
        try:
            start.wait()
            Registry(_url(tmp_path), tmp_path / "artifacts").close()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    engine = create_registry_engine(_url(tmp_path))
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_the_database_refuses_an_alias_to_another_models_version(tmp_path: Path) -> None:
    Registry(_url(tmp_path), tmp_path / "artifacts").close()
    engine = create_registry_engine(_url(tmp_path))
    now = "2025-01-01 00:00:00"
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO models (id, name, created_at) VALUES "
                    f"(1, 'a', '{now}'), (2, 'b', '{now}')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO model_versions (model_id, version, digest, task, runtime, "
                    f"description, manifest, created_at) VALUES (1, 1, 'd', 't', 'r', '', '{{}}', "
                    f"'{now}')"
                )
            )
        with pytest.raises(sa_exc.IntegrityError), engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO aliases (model_id, name, version, revision, updated_at) "
                    f"VALUES (2, 'production', 1, 1, '{now}')"
                )
            )
    finally:
        engine.dispose()


def test_a_bad_database_url_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="not a valid SQLAlchemy URL"):
        Registry("not a url", tmp_path / "artifacts")
    with pytest.raises(RegistryError, match="cannot use the registry database"):
        Registry("nosuchdialect://user:secret@host/db", tmp_path / "artifacts")
    with pytest.raises(RegistryError) as caught:
        Registry("nosuchdialect://user:secret@host/db", tmp_path / "artifacts")
    assert "secret" not in str(caught.value)
