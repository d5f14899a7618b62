"""Engines for the registry database, with SQLite made fit for several processes.

SQLite (the default) is read by every server worker process and written by the CLI, so
each connection turns on WAL (readers never block the writer), a busy timeout (a writer
waits for another instead of failing at once) and foreign keys (off by default in SQLite).
The driver's own transaction handling is switched off and SQLAlchemy emits ``BEGIN``
itself, so a read transaction sees one consistent snapshot; transactions that write start
with ``BEGIN IMMEDIATE`` so two writers queue instead of deadlocking on a lock upgrade.

PostgreSQL gets the same two rules. A read transaction is REPEATABLE READ, so it too sees
one snapshot (PostgreSQL's default, READ COMMITTED, takes a new one for every statement).
A transaction that writes first takes one advisory lock (per database, released at commit
or rollback), so registry writes queue one behind the other as on SQLite: a write reads,
then writes (the next version number, an alias's revision), and two of those side by side
would lose an update; several processes opening a new database would run the migrations
together. Writers run READ COMMITTED: every statement after the lock sees what the writer
before committed. Readers never take the lock.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from modelport.errors import RegistryError

__all__ = [
    "BUSY_TIMEOUT_MS",
    "WRITE_LOCK_KEY",
    "WRITE_OPTION",
    "create_registry_engine",
    "database_errors",
]

BUSY_TIMEOUT_MS = 15_000
WRITE_OPTION = "modelport_write"
"""Execution option marking a connection whose transactions will write."""
WRITE_LOCK_KEY = 0x6D6F64656C706F72  # "modelpor": the PostgreSQL advisory lock of writers


def create_registry_engine(url: str) -> Engine:
    """An engine for ``url``; for a SQLite file its directory is created if missing."""
    try:
        parsed = make_url(url)
    except sa_exc.ArgumentError:
        raise RegistryError("the registry database URL is not a valid SQLAlchemy URL") from None
    shown = parsed.render_as_string(hide_password=True)
    try:
        if parsed.get_backend_name() == "postgresql":
            if parsed.drivername == "postgresql":  # SQLAlchemy would pick psycopg2: not installed
                parsed = parsed.set(drivername="postgresql+psycopg")
            engine = create_engine(parsed, pool_pre_ping=True, isolation_level="REPEATABLE READ")
            event.listen(engine, "begin", _postgresql_begin)
            return engine
        if parsed.get_backend_name() != "sqlite":
            return create_engine(parsed, pool_pre_ping=True)
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed)
    except (sa_exc.SQLAlchemyError, ImportError) as exc:
        raise RegistryError(f"cannot use the registry database {shown}: {exc}") from exc
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN (see _sqlite_begin)
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        _switch_to_wal(cursor)
    finally:
        cursor.close()


def _switch_to_wal(cursor: Any) -> None:
    """WAL mode, waiting for other openers: SQLite answers "locked" at once, ignoring the
    busy timeout, when several connections switch a new database's journal together."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _sqlite_begin(connection: Connection) -> None:
    writes = connection.get_execution_options().get(WRITE_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


def _postgresql_begin(connection: Connection) -> None:
    if connection.get_execution_options().get(WRITE_OPTION, False):
        connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})")


@contextmanager
def database_errors(engine: Engine) -> Iterator[None]:
    """Report a database failure as one :class:`RegistryError` line, not a driver traceback."""
    try:
        yield
    except sa_exc.DBAPIError as exc:
        where = engine.url.render_as_string(hide_password=True)
        reason = " ".join(str(exc.orig).split())  # PostgreSQL's come with DETAIL/HINT lines
        raise RegistryError(f"registry database {where} failed: {reason}") from exc
    except sa_exc.SQLAlchemyError as exc:
        raise RegistryError(f"registry database error: {exc}") from exc
