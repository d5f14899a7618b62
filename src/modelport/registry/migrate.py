"""Bring the registry schema to the newest revision, with no ``alembic.ini`` anywhere.

Alembic is configured in code: the scripts ship inside the package and the connection is
handed to ``migrations/env.py`` through ``config.attributes``. Opening a registry checks
the recorded revision first (one cheap read), so a server worker opening an up-to-date
database never takes a write lock.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from modelport.errors import RegistryError
from modelport.registry.schema import VERSION_TABLE

__all__ = ["MIGRATIONS_DIR", "alembic_config", "current_revisions", "upgrade_to_head"]

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration pointing at the packaged scripts (and at ``connection``)."""
    config = Config()
    # ConfigParser interpolates '%': a path holding one must be escaped.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    config.attributes["connection"] = connection
    return config


def current_revisions(connection: Connection) -> set[str]:
    """The revisions the database records (empty for a new database)."""
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return set(context.get_current_heads())


def upgrade_to_head(engine: Engine, writer: Engine) -> None:
    """Upgrade the schema if it is behind; ``writer`` takes the write lock on SQLite.

    Several processes may open a new registry at once: the upgrade runs in one write
    transaction and Alembic re-reads the revision inside it, so the last ones do nothing.
    """
    config = alembic_config()
    scripts = ScriptDirectory.from_config(config)
    heads = set(scripts.get_heads())
    known = {script.revision for script in scripts.walk_revisions()}
    with engine.connect() as connection:
        current = current_revisions(connection)
    unknown = current - known
    if unknown:
        raise RegistryError(
            f"the registry database is at schema revision {', '.join(sorted(unknown))}, "
            "written by a newer modelport; upgrade modelport to use it"
        )
    if current == heads:
        return
    with writer.connect() as connection, connection.begin():
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
