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

import os
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from modelport.errors import ModelportError
from modelport.orchestrate.sources import SourceBinding

__all__ = ["load_bindings"]

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def load_bindings(path: str | Path) -> dict[str, SourceBinding]:
    """The bindings a sources file declares, by name; a clear error for any mistake."""
    path = Path(path)
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ModelportError(f"cannot read the sources file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ModelportError(f"the sources file {path} is not valid YAML: {exc}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ModelportError(f"the sources file {path} must map source names to settings")
    bindings = {}
    for name, settings in loaded.items():
        if not isinstance(settings, dict):
            raise ModelportError(f"{path}: source {name!r} must be a mapping of settings")
        try:
            bindings[str(name)] = SourceBinding(name=str(name), **_expanded(settings, path))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            raise ModelportError(
                f"{path}: source {name!r}: {where + ': ' if where else ''}{first.get('msg')}"
            ) from None
    return bindings


def _expanded(value: Any, path: Path) -> Any:
    if isinstance(value, str):

        def variable(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in os.environ:
                raise ModelportError(f"{path} uses ${{{name}}}, which is not set")
            return os.environ[name]

        return _VARIABLE.sub(variable, value)
    if isinstance(value, dict):
        return {k: _expanded(v, path) for k, v in value.items()}
    if isinstance(value, list):
        return [_expanded(v, path) for v in value]
    return value
