"""The artifact store: verified package directories addressed by package digest.

Layout: ``<artifacts>/sha256/<package digest>/`` holds the package's flat files. An entry
is written once and never changed: the package is copied (or unpacked) into a scratch
directory beside its target, verified there (not at the user's path, which could change
under us), made read-only, and renamed into place in one step. A crash leaves at most a
``.incoming-*`` scratch directory, never a half-written entry.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from pathlib import Path

from modelport.errors import IntegrityError, PackageError
from modelport.package.archive import unpack
from modelport.package.load import Package, verify_directory
from modelport.package.manifest import MANIFEST_FILE, Manifest

__all__ = ["ArtifactStore"]

_DIGEST = re.compile(r"[0-9a-f]{64}")
_SCRATCH_PREFIX = ".incoming-"


class ArtifactStore:
    """Package directories under ``root/sha256/``, one per package digest."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @property
    def objects(self) -> Path:
        return self.root / "sha256"

    def path_for(self, digest: str) -> Path:
        if not _DIGEST.fullmatch(digest):
            raise IntegrityError(f"{digest!r} is not a SHA-256 package digest")
        return self.objects / digest

    def add(self, source: Path) -> Manifest:
        """Copy the package at ``source`` (directory or ``.mpk``) in, verified; return its manifest.

        Storing a package that is already present keeps the stored copy if it still
        verifies and replaces it with the fresh verified copy if it does not.
        """
        source = Path(source)
        _check_source(source)
        self.objects.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=_SCRATCH_PREFIX, dir=self.objects))
        try:
            staged = scratch / "package"
            if source.is_dir():
                shutil.copytree(source, staged, symlinks=True)
            else:
                unpack(source, staged)
            manifest = _verify_copy(staged, source)
            _check_flat(staged, manifest, source)
            _seal(staged)
            self._place(staged, self.path_for(manifest.digest), scratch)
            return manifest
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def open(self, digest: str) -> Package:
        """The stored package of ``digest``, every file re-verified against it."""
        path = self.path_for(digest)
        if not path.is_dir() or path.is_symlink():
            raise IntegrityError(
                f"the stored package {digest[:12]} is missing from {path}; "
                "register the package again to restore it"
            )
        manifest = verify_directory(path)
        if manifest.digest != digest:
            raise IntegrityError(
                f"the store entry {path} holds package {manifest.digest[:12]}, "
                f"not the registered {digest[:12]}: it was replaced after registration"
            )
        return Package(path=path, manifest=manifest)

    def _place(self, staged: Path, target: Path, scratch: Path) -> None:
        if target.exists() or target.is_symlink():
            try:
                if verify_directory(target).digest == target.name and not target.is_symlink():
                    return
            except PackageError:
                pass
            target.rename(scratch / "damaged")  # repaired below by the verified copy
        try:
            staged.rename(target)
        except OSError:
            if not target.is_dir():
                raise
            # another process stored the same package first: its copy is as good as ours
        _sync_directory(self.objects)


def _check_source(source: Path) -> None:
    if source.is_dir():
        if not (source / MANIFEST_FILE).is_file():
            raise PackageError(f"{source} is not a modelport package: {MANIFEST_FILE} is missing")
    elif not source.is_file():
        raise PackageError(f"no package at {source}: no such directory or .mpk file")


def _verify_copy(staged: Path, source: Path) -> Manifest:
    """Verify the private copy, but name the user's path in any error."""
    try:
        return verify_directory(staged)
    except PackageError as exc:
        message = exc.message.replace(str(staged), str(source))
        raise type(exc)(message, exc.errors) from None


def _check_flat(staged: Path, manifest: Manifest, source: Path) -> None:
    """A stored package is exactly its manifest and the plain files it lists, nothing else.

    ``verify_directory`` accepts listed names with slashes (even ``..``); the store does not.
    """
    expected = {MANIFEST_FILE, *manifest.files}
    present = {p.name for p in staged.iterdir() if p.is_file() and not p.is_symlink()}
    if present != expected or len(present) != sum(1 for _ in staged.iterdir()):
        odd = sorted(expected ^ {p.name for p in staged.iterdir()})
        raise IntegrityError(
            f"package {source} is not a flat package directory: "
            f"unexpected or missing entries {', '.join(odd) or '(directories)'}"
        )


def _seal(directory: Path) -> None:
    """Flush the files to disk and make the entry read-only: it must never change."""
    for path in directory.iterdir():
        with path.open("rb") as handle:
            os.fsync(handle.fileno())
        path.chmod(0o444)
    directory.chmod(0o755)


def _sync_directory(directory: Path) -> None:
    """Make a rename durable (POSIX); a no-op where directories cannot be opened."""
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
