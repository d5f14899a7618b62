"""The registry databases tests run on: SQLite (a file under the test's home) and PostgreSQL.

PostgreSQL is a real server, by default the local one ``make postgres`` sets up; point
``MODELPORT_TEST_POSTGRES_URL`` at another (a role that may create databases) to use that.
Every test gets a new, empty database of its own, created from ``template0`` and dropped
(``WITH (FORCE)``, closing what still holds it) when the test is done. A server that cannot
be reached makes the PostgreSQL variants ERROR with what to do; they are never skipped.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time

from sqlalchemy import Engine, create_engine, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, make_url

__all__ = [
    "BACKENDS",
    "DEFAULT_POSTGRES_URL",
    "POSTGRES_URL_VARIABLE",
    "PostgresServer",
    "PostgresUnavailable",
]

BACKENDS = ("sqlite", "postgresql")
POSTGRES_URL_VARIABLE = "MODELPORT_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://modelport:modelport@127.0.0.1:5432/postgres"
PREFIX = "modelport_test_"
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class PostgresUnavailable(Exception):
    """The test server cannot be used; the message says how to get one."""


class PostgresServer:
    """An administrative connection (autocommit) that makes and drops test databases."""

    def __init__(self, url: URL, engine: Engine) -> None:
        self.url = url
        self._engine = engine
        self._made: set[str] = set()

    @classmethod
    def connect(cls, url: str | None = None) -> PostgresServer:
        """The server at ``url`` (default: the environment's, else the local one)."""
        raw = url or os.environ.get(POSTGRES_URL_VARIABLE) or DEFAULT_POSTGRES_URL
        try:
            parsed = make_url(raw)
        except sa_exc.ArgumentError:
            raise PostgresUnavailable(f"{POSTGRES_URL_VARIABLE} is not a SQLAlchemy URL") from None
        shown = parsed.render_as_string(hide_password=True)
        if parsed.get_backend_name() != "postgresql":
            raise PostgresUnavailable(f"{POSTGRES_URL_VARIABLE}={shown} is not a PostgreSQL URL")
        engine = create_engine(
            parsed, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5}
        )
        try:
            with engine.connect() as connection:
                may_create = connection.scalar(
                    text(
                        "SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user"
                    )
                )
        except sa_exc.DBAPIError as exc:
            engine.dispose()
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise PostgresUnavailable(
                f"PostgreSQL is not reachable at {shown} ({reason}). The registry tests run "
                "on PostgreSQL too: start the local server with `make postgres` (installs it "
                f"with apt-get; needs root), or set {POSTGRES_URL_VARIABLE} to a server where "
                "the role may CREATE DATABASE."
            ) from None
        if not may_create:
            engine.dispose()
            raise PostgresUnavailable(f"the role of {shown} may not CREATE DATABASE")
        server = cls(parsed, engine)
        server._drop_leftovers()
        return server

    def create(self) -> str:
        """A new empty database; its URL (password included, for the code under test)."""
        name = f"{PREFIX}{os.getpid()}_{secrets.token_hex(6)}"
        with self._engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE template0'))
        self._made.add(name)
        return self.url.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        name = make_url(url).database or ""
        self._drop(name)
        self._made.discard(name)

    def close(self) -> None:
        for name in sorted(self._made):
            with contextlib.suppress(sa_exc.DBAPIError):
                self._drop(name)
        self._made.clear()
        self._engine.dispose()

    def _drop(self, name: str) -> None:
        if not name.startswith(PREFIX):  # never anything this module did not make
            raise ValueError(f"not a test database: {name!r}")
        for attempt in range(10):
            try:
                with self._engine.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                return
            except sa_exc.ProgrammingError:
                # "must be a member of the role whose process is being terminated": a
                # backend still starting up on the database has no role yet; it is ours
                # (or gone) a moment later
                if attempt == 9:
                    raise
                time.sleep(0.2)

    def _drop_leftovers(self) -> None:
        """Databases of earlier runs on this machine that were killed before cleaning up."""
        if self.url.host not in _LOOPBACK:
            return  # another machine's processes cannot be told apart from dead ones
        with self._engine.connect() as connection:
            names = connection.scalars(
                text("SELECT datname FROM pg_database WHERE starts_with(datname, :prefix)"),
                {"prefix": PREFIX},
            ).all()
        for name in names:
            pid = name[len(PREFIX) :].split("_")[0]
            if pid.isdigit() and not _alive(int(pid)):
                with contextlib.suppress(sa_exc.DBAPIError):
                    self._drop(name)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
