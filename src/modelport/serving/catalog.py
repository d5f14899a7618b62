"""A snapshot of what the registry holds, for listings and documentation.

The poller rebuilds it when aliases move and every few polls (so new versions show up);
request handling never waits on it. Contracts are read from each version's manifest
once per version (versions are immutable) and kept as JSON Schema.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from modelport.features.presteps import PreSteps
from modelport.package import Manifest
from modelport.serving.pool import LoadedModel

__all__ = [
    "Catalog",
    "ModelInfo",
    "SchemaCache",
    "VersionInfo",
    "build_models",
    "version_dict",
]

logger = logging.getLogger("modelport.serving")


@dataclass(frozen=True, slots=True)
class VersionInfo:
    name: str
    version: int
    digest: str
    task: str
    runtime: str
    description: str
    created_at: datetime | None
    aliases: tuple[str, ...]
    record_schema: dict[str, Any] | None  # JSON Schema of one record (None: manifest unreadable)
    classes: list[Any] | None


@dataclass(frozen=True, slots=True)
class ModelInfo:
    name: str
    created_at: datetime | None
    versions: tuple[VersionInfo, ...]
    aliases: dict[str, int]

    def version(self, number: int) -> VersionInfo | None:
        return next((v for v in self.versions if v.version == number), None)


@dataclass(frozen=True, slots=True)
class Catalog:
    models: dict[str, ModelInfo] = field(default_factory=dict)
    generation: int = 0  # grows with every rebuild that changed something


Described = tuple[dict[str, Any] | None, list[Any] | None]  # record JSON Schema, classes


class SchemaCache:
    """Contract JSON Schemas per ``(name, version, digest)``, read once from manifests."""

    def __init__(self, read_manifest: Callable[[str, int], Manifest]) -> None:
        self._read_manifest = read_manifest
        self._entries: dict[tuple[str, int, str], Described] = {}

    def lookup(self, version: Any) -> Described:
        key = (str(version.name), int(version.version), str(version.digest))
        if key not in self._entries:
            self._entries[key] = self._describe(key[0], key[1])
        return self._entries[key]

    def _describe(self, name: str, version: int) -> Described:
        try:
            manifest = self._read_manifest(name, version)
        except Exception as exc:  # documentation only: a broken manifest must not stop serving
            logger.warning("no schema for %s version %s: %s", name, version, exc)
            return None, None
        schema = manifest.contract.json_schema()
        if manifest.presteps:  # callers send what the pre-steps read, not what they make
            schema = PreSteps.from_manifest(manifest.presteps).request_schema(schema)
        return schema, manifest.classes


def build_models(registered: Iterable[Any], schemas: SchemaCache) -> dict[str, ModelInfo]:
    """Registry models (``RegisteredModel``) as catalog entries, sorted by name."""
    models: dict[str, ModelInfo] = {}
    for model in sorted(registered, key=lambda m: str(m.name)):
        versions = []
        for v in sorted(model.versions, key=lambda v: int(v.version)):
            schema, classes = schemas.lookup(v)
            versions.append(
                VersionInfo(
                    name=str(v.name),
                    version=int(v.version),
                    digest=str(v.digest),
                    task=_text(v.task),
                    runtime=_text(v.runtime),
                    description=str(v.description or ""),
                    created_at=v.created_at,
                    aliases=tuple(sorted(str(a) for a in v.aliases)),
                    record_schema=schema,
                    classes=classes,
                )
            )
        models[str(model.name)] = ModelInfo(
            name=str(model.name),
            created_at=model.created_at,
            versions=tuple(versions),
            aliases={str(a): int(n) for a, n in sorted(model.aliases.items())},
        )
    return models


def version_dict(version: Any, *, loaded: LoadedModel | None) -> dict[str, Any]:
    """A registry ``ModelVersion`` as JSON-ready data (no filesystem path).

    ``loaded``: this worker's loaded copy, if any; it adds when it was loaded, how long that
    took, and the memory it holds.
    """
    data: dict[str, Any] = {
        "version": int(version.version),
        "digest": str(version.digest),
        "task": _text(version.task),
        "runtime": _text(version.runtime),
        "description": str(version.description or ""),
        "created_at": version.created_at,
        "aliases": sorted(str(a) for a in version.aliases),
        "loaded": loaded is not None,
    }
    if loaded is not None:
        data["loaded_at"] = loaded.loaded_at
        data["load_seconds"] = round(loaded.load_seconds, 3)
        data["memory_bytes"] = loaded.memory_bytes
    return data


def _text(value: Any) -> str:
    return str(getattr(value, "value", value))
