"""Registering an uploaded package archive: what the admin API's upload route does, with
no HTTP in it, so every door that takes an archive (HTTP today) registers it the same way."""

from __future__ import annotations

from pathlib import Path

from modelport.errors import InvalidInput
from modelport.package.archive import unpack
from modelport.package.load import verify_directory
from modelport.registry import ModelVersion, Registry

__all__ = ["register_archive"]


def register_archive(
    registry: Registry, name: str, archive: Path, *, alias: str | None, actor: str
) -> ModelVersion:
    """Unpack ``archive`` beside itself (every member checked first), verify every digest,
    check it is a package of model ``name``, and register it (``alias`` pointed at it)."""
    unpacked = unpack(archive, archive.with_name("package"))
    manifest = verify_directory(unpacked)
    if manifest.name != name:
        raise InvalidInput(
            f"the package is model {manifest.name!r}, not {name!r}: upload it as a version "
            f"of {manifest.name!r}"
        )
    return registry.register(unpacked, alias=alias, actor=actor)
