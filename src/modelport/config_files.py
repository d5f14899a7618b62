"""The YAML configuration files (feature sources, schedules): read with clear errors, and
``${NAME}`` in them filled from the environment, so that secrets (database passwords,
webhook tokens) stay out of the files."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from modelport.errors import ModelportError

__all__ = ["expand_variables", "read_yaml"]

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand_variables(
    value: Any,
    path: Path,
    error: type[ModelportError] = ModelportError,
    quote: Callable[[str], str] | None = None,
) -> Any:
    """``value`` (YAML data: text, mappings, lists) with every ``${NAME}`` in its text
    replaced by the environment variable; one that is not set raises ``error``.

    ``quote`` turns a variable's value into literal text of the field it lands in (a
    template's ``{`` doubled, say), so a secret is never read as syntax."""
    if isinstance(value, str):

        def variable(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in os.environ:
                raise error(f"{path} uses ${{{name}}}, which is not set")
            return quote(os.environ[name]) if quote else os.environ[name]

        return _VARIABLE.sub(variable, value)
    if isinstance(value, dict):
        return {k: expand_variables(v, path, error, quote) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_variables(v, path, error, quote) for v in value]
    return value


def read_yaml(path: Path, kind: str, error: type[ModelportError] = ModelportError) -> Any:
    """The YAML data in ``path`` (the ``kind`` of file, for messages): ``error`` if the file
    cannot be read or is not YAML."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(f"cannot read the {kind} file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise error(f"the {kind} file {path} is not valid YAML: {exc}") from None
