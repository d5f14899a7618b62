"""One engine set-up for the registry and the prediction log: the same SQLite pragmas for
both, the write lock taken first by writers only, and a URL that cannot be used refused in
one line with the caller's error."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from modelport.errors import RegistryError
from modelport.predlog import create_log_engine
from modelport.registry.database import create_registry_engine
from modelport.sql_engine import BUSY_TIMEOUT_MS, create_sql_engine, writer

MAKERS: dict[str, Callable[[str], Engine]] = {
    "registry": create_registry_engine,
    "prediction log": create_log_engine,
}


@pytest.mark.parametrize("make", MAKERS.values(), ids=MAKERS.keys())
def test_both_engines_set_up_sqlite_alike(make: Callable[[str], Engine], tmp_path: Path) -> None:
    engine = make(f"sqlite:///{tmp_path / 'new' / 'dir' / 'shared.db'}")  # directories made
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == BUSY_TIMEOUT_MS
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def write_lock_is_free(path: Path) -> bool:
    """Whether another process-like connection can take the write lock right now."""
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc)
        return False
    finally:
        other.close()


def test_writers_take_the_write_lock_first_and_readers_never(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    engine = create_sql_engine(f"sqlite:///{path}", subject="test database")
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (x INTEGER)"))
        with engine.connect() as reader, reader.begin():
            reader.execute(text("SELECT count(*) FROM t")).scalar()
            assert write_lock_is_free(path)  # a read transaction leaves it to the writers
        with writer(engine).begin() as connection:
            assert not write_lock_is_free(path)  # taken at BEGIN, before any write
            connection.execute(text("INSERT INTO t VALUES (1)"))
        assert write_lock_is_free(path)
    finally:
        engine.dispose()


def test_every_transaction_of_the_log_takes_the_write_lock(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    engine = create_log_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection, connection.begin():
            assert not write_lock_is_free(path)
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("make", "error", "subject"),
    [
        (create_registry_engine, RegistryError, "registry database"),
        (create_log_engine, ValueError, "prediction log database"),
    ],
    ids=["registry", "prediction log"],
)
def test_an_unusable_url_is_refused_with_the_callers_error(
    make: Callable[[str], Engine], error: type[Exception], subject: str, tmp_path: Path
) -> None:
    with pytest.raises(error, match=f"the {subject} URL is not a valid SQLAlchemy URL"):
        make("not a url")
    with pytest.raises(error, match=f"cannot use the {subject} nosuchdb://"):
        make("nosuchdb://somewhere/db")
    blocking = tmp_path / "a-file"
    blocking.write_text("not a directory")
    with pytest.raises(error, match=f"cannot use the {subject} sqlite:///"):
        make(f"sqlite:///{blocking / 'registry.db'}")  # its directory cannot be made
