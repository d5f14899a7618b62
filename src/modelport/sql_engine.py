"""SQLAlchemy engines fit for several processes: the one set-up shared by the registry
(:mod:`modelport.registry.database`) and the prediction log (:mod:`modelport.predlog.sql`).

SQLite (the default) is read by every server worker process and written by the CLI, the
server and the scheduler, so each connection turns on WAL (readers never block the
writer), a busy timeout (a writer waits for another instead of failing at once) and
foreign keys (off by default in SQLite). The driver's own transaction handling is
switched off and SQLAlchemy emits ``BEGIN`` itself, so a read transaction sees one
consistent snapshot; a transaction on a *writer* (an engine with :data:`WRITE_OPTION`
set, see :func:`writer`) starts with ``BEGIN IMMEDIATE``, so two writers queue instead
of one failing on a lock upgrade when the other wrote in between.

A ``postgresql://`` URL gets the psycopg (3) driver, and every backend but SQLite a
pre-ping, so a connection the server closed is replaced instead of failing a request.
What else a user needs of PostgreSQL (an isolation level, a connect timeout) is theirs
to pass; the registry also takes an advisory lock for its writers (its own concern).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from modelport.extras import require

__all__ = ["BUSY_TIMEOUT_MS", "WRITE_OPTION", "create_sql_engine", "writer", "writes"]

BUSY_TIMEOUT_MS = 15_000
WRITE_OPTION = "modelport_write"
"""Execution option marking a connection whose transactions will write."""


def create_sql_engine(
    url: str,
    *,
    subject: str,
    error: Callable[[str], Exception] = ValueError,
    postgresql: Mapping[str, Any] | None = None,
    **options: Any,
) -> Engine:
    """An engine for ``url`` (for a SQLite file, its directory is created if missing).

    ``options`` go to :func:`sqlalchemy.create_engine` for every backend, ``postgresql``
    only for PostgreSQL. A URL that cannot be used raises ``error`` with one line naming
    ``subject`` (``"registry database"``) and never the password.
    """
    try:
        parsed = make_url(url)
    except sa_exc.ArgumentError:
        raise error(f"the {subject} URL is not a valid SQLAlchemy URL") from None
    backend = parsed.get_backend_name()
    try:
        if backend == "postgresql":
            if parsed.drivername == "postgresql":  # SQLAlchemy would pick psycopg2: not installed
                parsed = parsed.set(drivername="postgresql+psycopg")
            if parsed.get_driver_name() == "psycopg":
                require("postgres", f"the {subject} on PostgreSQL")
            return create_engine(parsed, pool_pre_ping=True, **options, **(postgresql or {}))
        if backend != "sqlite":
            return create_engine(parsed, pool_pre_ping=True, **options)
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, **options)
    except (sa_exc.SQLAlchemyError, ImportError, OSError) as exc:
        shown = parsed.render_as_string(hide_password=True)
        raise error(f"cannot use the {subject} {shown}: {exc}") from exc
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def writer(engine: Engine) -> Engine:
    """``engine`` (sharing its pool) for transactions that write (see :data:`WRITE_OPTION`)."""
    return engine.execution_options(**{WRITE_OPTION: True})


def writes(connection: Connection) -> bool:
    """Whether ``connection`` came from a :func:`writer`."""
    return bool(connection.get_execution_options().get(WRITE_OPTION, False))


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
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writes(connection) else "BEGIN")
