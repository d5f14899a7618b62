"""The registry's database: one engine, its read and write transactions, its errors.

Every part of the registry (models and aliases, job runs, API keys, signatures, cache
invalidations) works through one :class:`Database`: a read is one transaction seeing one
snapshot (:meth:`Database.reading`), a write is one transaction retried when a concurrent
writer collided on a unique constraint (:meth:`Database.write`), and a database failure
reaches the caller as one :class:`RegistryError` line, not a driver traceback.

The engine is :func:`modelport.sql_engine.create_sql_engine`'s (SQLite made fit for
several processes; shared with the prediction log). PostgreSQL gets the same two rules as
SQLite. A read transaction is REPEATABLE READ, so it too sees one snapshot (PostgreSQL's
default, READ COMMITTED, takes a new one for every statement). A transaction that writes
first takes one advisory lock (per database, released at commit or rollback), so registry
writes queue one behind the other as on SQLite: a write reads, then writes (the next
version number, an alias's revision), and two of those side by side would lose an update;
several processes opening a new database would run the migrations together. Writers run
READ COMMITTED: every statement after the lock sees what the writer before committed.
Readers never take the lock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import Connection, Engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from modelport.errors import RegistryError
from modelport.registry.migrate import upgrade_to_head
from modelport.sql_engine import create_sql_engine, writer, writes

__all__ = ["WRITE_LOCK_KEY", "Database", "create_registry_engine"]

T = TypeVar("T")
WRITE_LOCK_KEY = 0x6D6F64656C706F72  # "modelpor": the PostgreSQL advisory lock of writers
_WRITE_ATTEMPTS = 5  # concurrent writers may collide on a unique constraint; retry


def create_registry_engine(url: str) -> Engine:
    """An engine for the registry database at ``url`` (:class:`RegistryError` if unusable)."""
    engine = create_sql_engine(
        url,
        subject="registry database",
        error=RegistryError,
        postgresql={"isolation_level": "REPEATABLE READ"},
    )
    if engine.dialect.name == "postgresql":
        event.listen(engine, "begin", _postgresql_begin)
    return engine


class Database:
    """The registry database at ``url``: its engine, transactions and error reporting."""

    def __init__(self, url: str) -> None:
        self.engine = create_registry_engine(url)
        self.writer = writer(self.engine)  # same pool; its transactions take the write lock

    def __repr__(self) -> str:
        return f"Database({self.url!r})"

    @property
    def url(self) -> str:
        """The URL without its password."""
        return self.engine.url.render_as_string(hide_password=True)

    def upgrade(self) -> None:
        """Bring the schema to the newest revision if it is behind."""
        with self.errors():
            upgrade_to_head(self.engine, self.writer)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def errors(self) -> Iterator[None]:
        """Report a database failure as one :class:`RegistryError` line."""
        try:
            yield
        except sa_exc.DBAPIError as exc:
            reason = " ".join(str(exc.orig).split())  # PostgreSQL's come with DETAIL/HINT lines
            raise RegistryError(f"registry database {self.url} failed: {reason}") from exc
        except sa_exc.SQLAlchemyError as exc:
            raise RegistryError(f"registry database error: {exc}") from exc

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A plain connection (autobegin, rolled back at the end) for one cheap read."""
        with self.errors(), self.engine.connect() as connection:
            yield connection

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """One read transaction: every query inside sees the same snapshot."""
        with self.errors(), Session(self.engine) as session, session.begin():
            yield session

    def write(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in one write transaction, again if a concurrent writer collided."""
        attempt = 0
        while True:
            try:
                with self.errors(), Session(self.writer) as session, session.begin():
                    return work(session)
            except RegistryError as exc:
                attempt += 1
                collided = isinstance(exc.__cause__, sa_exc.IntegrityError)
                if not collided or attempt >= _WRITE_ATTEMPTS:
                    raise


def _postgresql_begin(connection: Connection) -> None:
    if writes(connection):
        connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})")
