"""Binding source names to databases at deployment time, from a YAML file.

    # sources.yaml  (MODELPORT_SOURCES_FILE)
    customers:
      url: postgresql+psycopg://scoring:${CUSTOMERS_DB_PASSWORD}@db.internal/crm
      table: customers
      keys: [customer_id]
      timeout_seconds: 0.5
      ttl_seconds: 300

``${NAME}`` is replaced by the environment variable ``NAME``, so secrets stay out of the
file; a variable that is not set is an error naming it, never an empty password.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from modelport.config_files import expand_variables, read_yaml
from modelport.errors import ModelportError
from modelport.orchestrate.sources import SourceBinding

__all__ = ["load_bindings"]


def load_bindings(path: str | Path) -> dict[str, SourceBinding]:
    """The bindings a sources file declares, by name; a clear error for any mistake."""
    path = Path(path)
    loaded = read_yaml(path, "sources")
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ModelportError(f"the sources file {path} must map source names to settings")
    bindings = {}
    for name, settings in loaded.items():
        if not isinstance(settings, dict):
            raise ModelportError(f"{path}: source {name!r} must be a mapping of settings")
        try:
            bindings[str(name)] = SourceBinding(name=str(name), **expand_variables(settings, path))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            raise ModelportError(
                f"{path}: source {name!r}: {where + ': ' if where else ''}{first.get('msg')}"
            ) from None
    return bindings
