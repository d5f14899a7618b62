"""What a user names when they want a model: a package on disk or a registry reference.

``dist/loan-approval`` (a directory or ``.mpk``) is opened as it is; ``loan-approval``,
``loan-approval@staging`` or ``loan-approval:3`` is resolved in the registry and the
version it names then is opened. Either way every digest is verified on opening, and with
``require_signature`` a package must carry a valid signature by a trusted key whichever
way it came: a package path is held to the rule the registry and the server follow.

``mp.load``, ``modelport batch score`` and scheduled jobs all open their model here.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from modelport.errors import InvalidName, PackageError
from modelport.package.load import Package, open_package
from modelport.registry.refs import ModelRef, parse_ref
from modelport.registry.registry import Registry
from modelport.settings import Settings
from modelport.signing import Keyring, require_trusted, source_signatures

__all__ = ["OpenedModel", "open_model"]


class OpenedModel(NamedTuple):
    """The package opened and what to call it in records: its path, or ``NAME:VERSION``."""

    package: Package
    label: str


def open_model(
    reference: str | Path,
    settings: Settings,
    *,
    directory: Path | None = None,
    registry: Registry | None = None,
) -> OpenedModel:
    """The package ``reference`` names: a path (relative to ``directory`` if given) if
    something is there, else a registry reference (in ``registry``, or the settings' own).

    Raises :class:`PackageError` for a path-like reference with nothing there,
    :class:`InvalidName` for text that is neither, :class:`SignatureError` for a package
    path without a trusted signature when ``settings.require_signature`` is on.
    """
    text = str(reference)
    path = Path(reference).expanduser()
    if directory is not None:
        path = directory / path
    if path.exists():
        package = open_package(path)
        if settings.require_signature:
            _require_signed(path, package, settings)
        return OpenedModel(package, str(path))
    try:
        ref = parse_ref(text)
    except InvalidName:
        if "/" in text or "\\" in text or Path(text).suffix:
            raise PackageError(f"no package at {path}: no such file or directory") from None
        raise
    if registry is not None:
        return _from_registry(registry, ref)
    with Registry.from_settings(settings) as own:
        return _from_registry(own, ref)


def _from_registry(registry: Registry, ref: ModelRef) -> OpenedModel:
    # the version resolved once, then opened pinned: what is recorded is what was opened
    version = registry.resolve(ref)
    package = registry.open(ModelRef(version.name, version=version.version))
    return OpenedModel(package, f"{version.name}:{version.version}")


def _require_signed(path: Path, package: Package, settings: Settings) -> None:
    keyring = Keyring(settings.resolved_trusted_keys_dir)
    carried = source_signatures(path).signatures
    require_trusted(package.digest, carried, keyring, subject=f"the package at {path}")
