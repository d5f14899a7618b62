"""What a job's ``model`` names: a package on disk, or a registry reference.

``model: dist/loan-approval`` (a directory or ``.mpk``, relative to the schedule file) is
opened as it is; ``model: loan-approval@production`` (``NAME``, ``NAME@ALIAS``,
``NAME:VERSION``) is resolved in the registry *when the attempt starts*, so a nightly job
scores with whatever version production points at that night, and the run records it.
Either way every digest is verified on opening.
"""

from __future__ import annotations

from pathlib import Path

from modelport.errors import InvalidName, PackageError
from modelport.package import Package, open_package
from modelport.registry import ModelRef, Registry, parse_ref
from modelport.settings import Settings

__all__ = ["open_model"]


def open_model(reference: str, settings: Settings, directory: Path) -> tuple[Package, str]:
    """The package ``reference`` names and how to record it (``NAME:VERSION`` or its path)."""
    path = directory / Path(reference).expanduser()
    if path.exists():
        package = open_package(path)
        return package, str(path)
    try:
        ref = parse_ref(reference)
    except InvalidName:
        if "/" in reference or "\\" in reference or Path(reference).suffix:
            raise PackageError(f"no package at {path}: no such file or directory") from None
        raise
    with Registry.from_settings(settings) as registry:
        version = registry.resolve(ref)
        package = registry.open(ModelRef(version.name, version=version.version))
    return package, f"{version.name}:{version.version}"
