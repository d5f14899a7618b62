"""The schema comes from the packaged Alembic scripts, matches the models, and migrates
cleanly on SQLite and on PostgreSQL: from nothing, from every earlier revision with data in
it, down step by step and up again. Then what only SQLite needs (WAL, busy timeout, foreign
keys), tested on SQLite alone.

The migration tests walk the revision list itself, so a new revision is covered by adding it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    JSON,
    Connection,
    DateTime,
    Engine,
    Integer,
    String,
    Text,
    inspect,
    select,
    text,
)
from sqlalchemy import column as sa_column
from sqlalchemy import exc as sa_exc
from sqlalchemy import table as sa_table

from modelport.errors import RegistryError
from modelport.registry import Registry
from modelport.registry.database import create_registry_engine
from modelport.registry.migrate import alembic_config, current_revisions
from modelport.registry.schema import VERSION_TABLE, Base
from modelport.sql_engine import writer as writer_of

_SCRIPTS = ScriptDirectory.from_config(alembic_config())
REVISIONS = [script.revision for script in reversed(list(_SCRIPTS.walk_revisions()))]
"""Every revision, oldest first."""
HEAD = _SCRIPTS.get_current_head()
HEAD_TABLES = set(Base.metadata.tables) | {VERSION_TABLE}

# The tables as the first revision made them: columns every later revision still has.
FIRST_TABLES = (
    sa_table(
        "models",
        sa_column("id", Integer),
        sa_column("name", String),
        sa_column("created_at", DateTime(timezone=True)),
    ),
    sa_table(
        "model_versions",
        sa_column("id", Integer),
        sa_column("model_id", Integer),
        sa_column("version", Integer),
        sa_column("digest", String),
        sa_column("task", String),
        sa_column("runtime", String),
        sa_column("description", Text),
        sa_column("manifest", JSON),
        sa_column("created_at", DateTime(timezone=True)),
    ),
    sa_table(
        "aliases",
        sa_column("id", Integer),
        sa_column("model_id", Integer),
        sa_column("name", String),
        sa_column("version", Integer),
        sa_column("revision", Integer),
        sa_column("updated_at", DateTime(timezone=True)),
    ),
)
MODELS, VERSIONS, ALIASES = FIRST_TABLES


def sqlite_file_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'db' / 'registry.db'}"


@pytest.fixture
def url(database_url: str | None, tmp_path: Path) -> str:
    """A new, empty registry database: a SQLite file, or a PostgreSQL database."""
    return database_url or sqlite_file_url(tmp_path)


@pytest.fixture
def engine(url: str) -> Iterator[Engine]:
    opened = create_registry_engine(url)
    yield opened
    opened.dispose()


def migrate(engine: Engine, target: str, *, down: bool = False) -> None:
    """Upgrade (or downgrade) to ``target`` in one transaction, as the registry does."""
    with engine.connect() as connection, connection.begin():
        config = alembic_config(connection)
        (command.downgrade if down else command.upgrade)(config, target)


def revisions(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return current_revisions(connection)


def tables(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(inspect(connection).get_table_names())


def columns(engine: Engine) -> dict[str, dict[str, dict[str, Any]]]:
    """``table -> column -> reflected column`` of every table."""
    with engine.connect() as connection:
        inspector = inspect(connection)
        return {
            name: {col["name"]: dict(col) for col in inspector.get_columns(name)}
            for name in inspector.get_table_names()
        }


def seed(connection: Connection) -> None:
    """A model with two versions and two aliases, through the first revision's columns."""
    at = datetime(2025, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
    connection.execute(MODELS.insert().values(name="seeded", created_at=at))
    model_id = connection.execute(select(MODELS.c.id)).scalar_one()
    connection.execute(
        VERSIONS.insert(),
        [
            {
                "model_id": model_id,
                "version": n,
                "digest": f"{n:064x}",
                "task": "binary",
                "runtime": "onnx",
                "description": f"version {n}: ünïcode, 'quotes'",
                "manifest": {"name": "seeded", "n": n, "nested": {"list": [1, 2.5, None]}},
                "created_at": at,
            }
            for n in (1, 2)
        ],
    )
    connection.execute(
        ALIASES.insert(),
        [
            {"model_id": model_id, "name": name, "version": v, "revision": r, "updated_at": at}
            for name, v, r in (("production", 2, 3), ("staging", 1, 1))
        ],
    )


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the first revision's tables, in its first revision's columns."""
    with engine.connect() as connection:
        return {
            table.name: [
                tuple(row) for row in connection.execute(table.select().order_by(table.c.id))
            ]
            for table in FIRST_TABLES
        }


# -- on SQLite and on PostgreSQL ---------------------------------------------------------------


def test_the_revisions_form_one_line_from_the_first() -> None:
    assert REVISIONS[0] == "0001" and REVISIONS[-1] == HEAD
    assert _SCRIPTS.get_heads() == [HEAD], "one head: no branches to merge"
    for older, newer in zip(REVISIONS, REVISIONS[1:], strict=False):
        assert _SCRIPTS.get_revision(newer).down_revision == older


def test_opening_creates_the_schema_at_head_from_nothing(
    url: str, engine: Engine, tmp_path: Path
) -> None:
    with Registry(url, tmp_path / "artifacts"):
        pass
    assert revisions(engine) == {HEAD}
    assert tables(engine) == HEAD_TABLES
    assert not (Path.cwd() / "alembic.ini").exists()


def test_each_revision_applies_on_its_own_from_nothing(engine: Engine) -> None:
    for revision in REVISIONS:
        migrate(engine, revision)
        assert revisions(engine) == {revision}
    assert tables(engine) == HEAD_TABLES


def test_migrations_match_the_models_exactly(url: str, engine: Engine, tmp_path: Path) -> None:
    with Registry(url, tmp_path / "artifacts"):
        pass
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "version_table": VERSION_TABLE}
        )
        drift = compare_metadata(context, Base.metadata)
    assert drift == []


@pytest.mark.parametrize("start", REVISIONS[:-1])
def test_upgrading_from_every_earlier_revision_keeps_the_data(
    start: str, url: str, engine: Engine, tmp_path: Path, loan_package_path: Path
) -> None:
    migrate(engine, start)
    with engine.begin() as connection:
        seed(connection)
    before, seeded = columns(engine), snapshot(engine)

    with Registry(url, tmp_path / "artifacts") as registry:  # upgrades, as a user would
        assert revisions(engine) == {HEAD}
        assert snapshot(engine) == seeded
        after = columns(engine)
        added = sorted((t, c) for t in before for c in after[t] if c not in before[t])
        with engine.connect() as connection:
            for table, name in added:  # the old rows get NULL or the column's default
                values = connection.execute(text(f"SELECT {name} FROM {table}")).scalars().all()
                assert values, table
                if after[table][name]["default"] is None:
                    assert all(v is None for v in values), (table, name, values)
                else:
                    assert all(v is not None for v in values), (table, name, values)
        assert registry.resolve("seeded").version == 2
        assert registry.get_model("seeded").aliases == {"production": 2, "staging": 1}
        assert registry.register(loan_package_path, alias="production").version == 1


def test_downgrading_step_by_step_keeps_the_data_then_base_and_up_again(engine: Engine) -> None:
    migrate(engine, "head")
    with engine.begin() as connection:
        seed(connection)
    seeded = snapshot(engine)
    for target in reversed(REVISIONS[:-1]):
        migrate(engine, target, down=True)
        assert revisions(engine) == {target}
        assert snapshot(engine) == seeded
    migrate(engine, "base", down=True)
    assert revisions(engine) == set()
    assert tables(engine) == {VERSION_TABLE}
    migrate(engine, "head")
    assert revisions(engine) == {HEAD}
    assert tables(engine) == HEAD_TABLES


def test_reopening_an_up_to_date_registry_changes_nothing(
    url: str, engine: Engine, tmp_path: Path
) -> None:
    for _ in range(3):
        Registry(url, tmp_path / "artifacts").close()
    with engine.connect() as connection:
        rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).all()
    assert rows == [(HEAD,)]


def test_a_schema_from_a_newer_modelport_is_refused(
    url: str, engine: Engine, tmp_path: Path
) -> None:
    Registry(url, tmp_path / "artifacts").close()
    with engine.begin() as connection:
        connection.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '9999'"))
    with pytest.raises(RegistryError, match="newer modelport"):
        Registry(url, tmp_path / "artifacts")


def test_many_processes_may_open_a_new_registry_at_once(
    url: str, engine: Engine, tmp_path: Path
) -> None:
    """Server workers start together: each opens (and migrates) the same new database."""
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def open_one() -> None:
        try:
            start.wait()
            Registry(url, tmp_path / "artifacts").close()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_one, daemon=True) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads), "opening got stuck"
    assert errors == []
    assert revisions(engine) == {HEAD}


def test_the_database_refuses_an_alias_to_another_models_version(
    url: str, engine: Engine, tmp_path: Path
) -> None:
    Registry(url, tmp_path / "artifacts").close()
    now = "2025-01-01 00:00:00"
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


def test_write_transactions_queue_and_readers_never_wait(
    url: str, engine: Engine, tmp_path: Path
) -> None:
    """Registry writes read, then write (the next version number, an alias's revision):
    a second writer must wait for the first to finish, on either database."""
    Registry(url, tmp_path / "artifacts").close()
    writer = writer_of(engine)
    second_in = threading.Event()

    def second() -> None:
        with writer.begin():
            second_in.set()

    thread = threading.Thread(target=second, daemon=True)
    with writer.begin() as first:
        first.execute(text("UPDATE models SET name = name"))
        thread.start()
        assert not second_in.wait(0.5), "a second writer went ahead while the first was busy"
        with engine.connect() as reader:
            assert reader.execute(text("SELECT count(*) FROM models")).scalar() == 0
    assert second_in.wait(10), "the second writer never went ahead"
    thread.join(10)


def test_a_read_transaction_sees_one_snapshot(url: str, engine: Engine, tmp_path: Path) -> None:
    """The registry reads a model, its versions and its aliases in one transaction: a write
    committed in between must not show half-way through."""
    Registry(url, tmp_path / "artifacts").close()
    writer = writer_of(engine)
    count = text("SELECT count(*) FROM models")
    with engine.connect() as reader, reader.begin():
        assert reader.execute(count).scalar() == 0
        with writer.begin() as connection:
            connection.execute(MODELS.insert().values(name="new", created_at=datetime.now(UTC)))
        assert reader.execute(count).scalar() == 0
    with engine.connect() as reader:
        assert reader.execute(count).scalar() == 1


# -- either database, or none -----------------------------------------------------------------


def test_a_bad_database_url_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="not a valid SQLAlchemy URL"):
        Registry("not a url", tmp_path / "artifacts")
    with pytest.raises(RegistryError, match="cannot use the registry database"):
        Registry("nosuchdialect://user:secret@host/db", tmp_path / "artifacts")
    with pytest.raises(RegistryError) as caught:
        Registry("nosuchdialect://user:secret@host/db", tmp_path / "artifacts")
    assert "secret" not in str(caught.value)


def test_an_unreachable_postgresql_server_is_one_clear_error(tmp_path: Path) -> None:
    url = "postgresql+psycopg://someone:secret@127.0.0.1:1/registry"
    with pytest.raises(RegistryError) as caught:
        Registry(url, tmp_path / "artifacts")
    message = str(caught.value)
    assert "postgresql+psycopg://someone:***@127.0.0.1:1/registry" in message
    assert "secret" not in message
    assert "\n" not in message, message
    with pytest.raises(RegistryError, match="Connection refused") as caught:  # psycopg by default
        Registry("postgresql://someone:secret@127.0.0.1:1/registry", tmp_path / "artifacts")
    assert "secret" not in str(caught.value)


# -- SQLite only: what makes one file safe for several processes -------------------------------


def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    engine = create_registry_engine(sqlite_file_url(tmp_path))
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()
