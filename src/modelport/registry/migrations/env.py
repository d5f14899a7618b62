"""Alembic environment of the registry, configured in code by :mod:`modelport.registry.migrate`.

Online, the caller passes an open connection (already in a transaction) through
``config.attributes["connection"]``. Offline (``--sql``), a ``sqlalchemy.url`` main
option renders the SQL for a database administrator to review and run.
"""

from __future__ import annotations

from typing import Any

from alembic import context

from modelport.registry.schema import VERSION_TABLE, Base


def run() -> None:
    config = context.config
    connection = config.attributes.get("connection")
    options: dict[str, Any] = {
        "target_metadata": Base.metadata,
        "version_table": VERSION_TABLE,
        "compare_type": True,
        "render_as_batch": True,  # SQLite alters tables by copying them
    }
    if context.is_offline_mode() or connection is None:
        url = config.get_main_option("sqlalchemy.url")
        if not url:
            raise RuntimeError(
                "run modelport migrations through modelport.registry.migrate "
                "(or set sqlalchemy.url to render SQL offline)"
            )
        context.configure(url=url, literal_binds=True, **options)
    else:
        context.configure(connection=connection, **options)
    with context.begin_transaction():
        context.run_migrations()


run()
