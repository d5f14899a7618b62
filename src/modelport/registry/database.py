"""Engines for the registry database, with SQLite made fit for several processes.

SQLite (the default) is read by every server worker process and written by the CLI, so
each connection turns on WAL (readers never block the writer), a busy timeout (a writer
waits for another instead of failing at once) and foreign keys (off by default in SQLite).
The driver's own transaction handling is switched off and SQLAlchemy emits ``BEGIN``
itself, so a read transaction sees one consistent snapshot; transactions that write start
with ``BEGIN IMMEDIATE`` so two writers queue instead of deadlocking on a lock upgrade.
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

__all__ = ["BUSY_TIMEOUT_MS", "WRITE_OPTION", "create_registry_engine", "database_errors"]

BUSY_TIMEOUT_MS = 15_000
WRITE_OPTION = "modelport_write"
"""Execution option marking a connection whose transactions will write."""


def create_registry_engine(url: str) -> Engine:
    """An engine for ``url``; for a SQLite file its directory is created if missing."""
    try:
        parsed = make_url(url)
    except sa_exc.ArgumentError:
        raise RegistryError("the registry database URL is not a valid SQLAlchemy URL") from None
    shown = parsed.render_as_string(hide_password=True)
    try:
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


@contextmanager
def database_errors(engine: Engine) -> Iterator[None]:
    """Report a database failure as one :class:`RegistryError` line, not a driver traceback."""
    try:
        yield
    except sa_exc.DBAPIError as exc:
        where = engine.url.render_as_string(hide_password=True)
        raise RegistryError(f"registry database {where} failed: {exc.orig}") from exc
    except sa_exc.SQLAlchemyError as exc:
        raise RegistryError(f"registry database error: {exc}") from exc
