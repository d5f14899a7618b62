"""Alembic scripts of the registry schema; run them through :mod:`modelport.registry.migrate`."""
