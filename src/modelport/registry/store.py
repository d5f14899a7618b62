"""The artifact store: verified package directories addressed by package digest.

Two kinds share one interface, :class:`Store`, and :func:`open_store` picks one from a
location (``MODELPORT_ARTIFACTS_URL``):

- a local directory (a plain path or a ``file://`` URL): :class:`ArtifactStore`, here;
- any other fsspec URL (``s3://bucket/prefix``, ``gs://...``): ``RemoteArtifactStore`` in
  :mod:`modelport.registry.remote_store`, which keeps a local :class:`ArtifactStore` as
  its cache.

Local layout: ``<root>/sha256/<package digest>/`` holds the package's flat files. An entry
is written once and never changed: the package is copied (or unpacked, or downloaded) into
a scratch directory beside its target, verified there (not at the user's path, which
could change under us), made read-only, and renamed into place in one step. A crash leaves
at most a ``.incoming-*`` scratch directory, never a half-written entry. A package's
``signature.json`` is left out: the digest does not cover it, and the registry keeps
signatures in its database.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit
from urllib.request import url2pathname

from modelport.errors import IntegrityError, PackageError, RegistryError
from modelport.package.archive import unpack
from modelport.package.load import SIGNATURE_FILE, Package, verify_directory
from modelport.package.manifest import MANIFEST_FILE, Manifest

__all__ = ["ArtifactStore", "Store", "local_path", "open_store"]

_DIGEST = re.compile(r"[0-9a-f]{64}")
_SCRATCH_PREFIX = ".incoming-"
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
_LOCAL_SCHEMES = {"file", "local"}  # fsspec's names for the local file system


class Store(Protocol):
    """What the registry needs of an artifact store, local or remote."""

    @property
    def root(self) -> Path | str:
        """Where the store is: a directory, or a URL (without its password)."""
        ...

    def path_for(self, digest: str) -> Path:
        """The local directory of ``digest``'s entry (for a remote store: its cached copy,
        which exists once :meth:`open` has returned)."""
        ...

    def add(self, source: Path) -> Manifest:
        """Store the package at ``source`` (directory or ``.mpk``), verified."""
        ...

    def open(self, digest: str) -> Package:
        """The stored package of ``digest`` as a local directory, every digest verified."""
        ...

    def remove(self, digest: str) -> None:
        """Delete the entry of ``digest``; nothing happens if there is none."""
        ...


def open_store(location: str | Path, *, cache_dir: Path | None = None) -> Store:
    """The artifact store at ``location``: a path or ``file://`` URL is a local store, any
    other fsspec URL a remote one whose packages are downloaded into ``cache_dir``.

    A remote URL whose fsspec backend is not installed raises :class:`RegistryError`
    naming the package to install.
    """
    local = location if isinstance(location, Path) else local_path(location)
    if local is not None:
        return ArtifactStore(local)
    if cache_dir is None:
        raise RegistryError(
            f"the remote artifact store {location} needs a local cache directory (cache_dir)"
        )
    from modelport.registry.remote_store import RemoteArtifactStore  # imports fsspec

    return RemoteArtifactStore(str(location), cache_dir=cache_dir)


def local_path(location: str) -> Path | None:
    """The directory a location names if it is local (a path or ``file://`` URL), else None.

    Chained fsspec URLs (``simplecache::s3://...``) and other protocols are remote.
    """
    if not location:
        raise RegistryError("the artifact store location is empty")
    if "::" in location:
        return None
    scheme = _SCHEME.match(location)
    if scheme is None or len(scheme.group(1)) == 1:  # C://... is a Windows drive
        return Path(location).expanduser()
    if scheme.group(1).lower() not in _LOCAL_SCHEMES:
        return None
    parts = urlsplit(location)
    if parts.netloc not in ("", "localhost"):
        raise RegistryError(
            f"the artifact store URL {location} names the host {parts.netloc!r}; "
            "a file URL must name a local directory: file:///absolute/path"
        )
    if not parts.path:
        raise RegistryError(f"the artifact store URL {location} names no directory")
    return Path(url2pathname(parts.path))


class ArtifactStore:
    """Package directories under ``root/sha256/``, one per package digest."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"ArtifactStore({str(self.root)!r})"

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

        def copy(staged: Path) -> None:
            if source.is_dir():
                shutil.copytree(source, staged, symlinks=True)
            else:
                unpack(source, staged)
            _drop_signatures(staged)

        return self._admit(copy, origin=str(source)).manifest

    def fill(self, digest: str, fetch: Callable[[Path], None], *, origin: str) -> Package:
        """Store package ``digest`` from elsewhere (a download): ``fetch(directory)`` writes
        its files into an empty scratch directory, which must then verify as exactly
        package ``digest`` before it becomes the entry. Errors name ``origin``.
        """
        self.path_for(digest)  # a digest, not a path

        def fetch_into(staged: Path) -> None:
            staged.mkdir()
            fetch(staged)

        return self._admit(fetch_into, origin=origin, expected=digest)

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

    def remove(self, digest: str) -> None:
        """Delete the entry of ``digest`` if there is one.

        The entry leaves in one rename, so a concurrent reader sees all of it or nothing;
        its read-only files are deleted after that.
        """
        target = self.path_for(digest)
        if not (target.exists() or target.is_symlink()):
            return
        if target.is_dir() and not target.is_symlink():
            with contextlib.suppress(OSError):  # moving a directory needs write access to it
                target.chmod(0o755)
        scratch = Path(tempfile.mkdtemp(prefix=_SCRATCH_PREFIX, dir=self.objects))
        try:
            with contextlib.suppress(FileNotFoundError):  # another process removed it first
                target.rename(scratch / "removed")
                _sync_directory(self.objects)
        finally:
            _discard(scratch)

    def _admit(
        self, stage: Callable[[Path], None], *, origin: str, expected: str | None = None
    ) -> Package:
        """Stage a package in scratch space, verify it, seal it and rename it into place."""
        self.objects.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=_SCRATCH_PREFIX, dir=self.objects))
        try:
            staged = scratch / "package"
            stage(staged)
            manifest = _verify_copy(staged, origin)
            _check_flat(staged, manifest, origin)
            if expected is not None and manifest.digest != expected:
                raise IntegrityError(
                    f"{origin} holds package {manifest.digest[:12]}, not {expected[:12]}: "
                    "it was replaced after registration"
                )
            _seal(staged)
            target = self.path_for(manifest.digest)
            self._place(staged, target, scratch)
            return Package(path=target, manifest=manifest)
        finally:
            _discard(scratch)

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


def _drop_signatures(staged: Path) -> None:
    """An entry keeps what the digest covers: a package's ``signature.json`` is not part of
    it (the registry keeps signatures in its database, by digest)."""
    signatures = staged / SIGNATURE_FILE
    if signatures.is_file() or signatures.is_symlink():
        signatures.unlink()


def _verify_copy(staged: Path, origin: str) -> Manifest:
    """Verify the private copy, but name where it came from in any error."""
    try:
        return verify_directory(staged)
    except PackageError as exc:
        message = exc.message.replace(str(staged), origin)
        raise type(exc)(message, exc.errors) from None


def _check_flat(staged: Path, manifest: Manifest, origin: str) -> None:
    """A stored package is exactly its manifest and the plain files it lists, nothing else.

    ``verify_directory`` accepts listed names with slashes (even ``..``); the store does not.
    """
    expected = {MANIFEST_FILE, *manifest.files}
    present = {p.name for p in staged.iterdir() if p.is_file() and not p.is_symlink()}
    if present != expected or len(present) != sum(1 for _ in staged.iterdir()):
        odd = sorted(expected ^ {p.name for p in staged.iterdir()})
        raise IntegrityError(
            f"package {origin} is not a flat package directory: "
            f"unexpected or missing entries {', '.join(odd) or '(directories)'}"
        )


def _seal(directory: Path) -> None:
    """Flush the files to disk and make the entry read-only: it must never change."""
    for path in directory.iterdir():
        with path.open("rb") as handle:
            os.fsync(handle.fileno())
        path.chmod(0o444)
    directory.chmod(0o755)


def _discard(directory: Path) -> None:
    """Delete a scratch directory, including sealed entries moved into it.

    Read-only files go with their directory, but a directory someone made read-only
    (0o555) would keep its files: make every directory writable first.
    """
    with contextlib.suppress(OSError):
        directory.chmod(0o700)
    for parent, names, _ in os.walk(directory):
        for name in names:  # before os.walk descends into them
            path = Path(parent, name)
            if not path.is_symlink():
                with contextlib.suppress(OSError):
                    path.chmod(0o700)
    shutil.rmtree(directory, ignore_errors=True)


def _sync_directory(directory: Path) -> None:
    """Make a rename durable (POSIX); a no-op where directories cannot be opened."""
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
