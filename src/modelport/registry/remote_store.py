"""An artifact store behind an fsspec URL (``s3://bucket/prefix``, ``gs://...``, ...).

Remote layout, the same as a local store's: ``<url>/sha256/<package digest>/<files>``.

Object stores have no atomic directory rename, so an entry is *committed* by its
manifest: ``modelport.yaml`` is uploaded last, after every file it lists is uploaded and
has been read back whole and matching its SHA-256 digest. An entry without a manifest is
an interrupted upload: it is never served, and the next ``add`` of that package uploads
it again. (Each single object write is atomic on S3, GCS and Azure, so the manifest is
there whole or not at all; on file systems where it is not, a torn manifest fails
verification like any damage.)

Reading never uses remote files in place. :meth:`RemoteArtifactStore.open` downloads an
entry into a local cache, which is an ordinary local :class:`ArtifactStore` (scratch
directory, every digest verified, then one rename), and returns the cached copy. A cached
copy is re-verified on every open and served without asking the remote store again: an
entry's content is fixed by its digest. The cache can be deleted at any time when no
process is loading from it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from fsspec.core import url_to_fs

from modelport.errors import IntegrityError, ModelportError, PackageError, RegistryError
from modelport.package.load import Package
from modelport.package.manifest import MANIFEST_FILE, Manifest
from modelport.registry.store import ArtifactStore

__all__ = ["RemoteArtifactStore"]

logger = logging.getLogger("modelport.registry")

_PASSWORD = re.compile(r"(://[^/@:]*):[^/@]*@")
_MAX_MESSAGE = 300
_CHUNK = 1 << 20

EntryState = Literal["committed", "absent", "damaged"]


class RemoteArtifactStore:
    """Package entries under ``<url>/sha256/`` on any fsspec file system, read through a
    verified local cache under ``cache_dir/sha256/``.

    ``storage_options`` go to the fsspec file system (credentials, endpoint); fsspec also
    reads them from ``FSSPEC_<PROTOCOL>_<OPTION>`` environment variables. Constructing
    the store checks the URL and that its backend is installed (object-store backends
    do not connect yet; ftp and sftp do).
    """

    def __init__(
        self, url: str, *, cache_dir: Path, storage_options: Mapping[str, Any] | None = None
    ) -> None:
        self._url = url
        self._options = dict(storage_options or {})
        self._cache = ArtifactStore(Path(cache_dir))
        shown = _PASSWORD.sub(r"\1:***@", url)
        self._root = shown if shown.endswith("://") else shown.rstrip("/")
        self._connect()  # an unknown protocol or a missing backend fails here, not later

    def __repr__(self) -> str:
        return f"RemoteArtifactStore({self._root!r}, cache_dir={str(self._cache.root)!r})"

    @property
    def root(self) -> str:
        """The store's URL, without any password it holds."""
        return self._root

    @property
    def cache(self) -> ArtifactStore:
        """The local store holding downloaded (and freshly uploaded) entries."""
        return self._cache

    def path_for(self, digest: str) -> Path:
        """The cached copy of ``digest``'s entry: it exists after :meth:`open` returned."""
        return self._cache.path_for(digest)

    def add(self, source: Path) -> Manifest:
        """Verify the package at ``source`` into the cache, then upload it, manifest last.

        A committed remote entry of the same package is kept if its manifest and file
        sizes match; an uncommitted or damaged one is uploaded again.
        """
        manifest = self._cache.add(source)  # the verified copy is what gets uploaded
        local = self._cache.path_for(manifest.digest)
        with self._reaching("write to"):
            fs, prefix = self._connect()
            entry = f"{prefix}/sha256/{manifest.digest}"
            state = _entry_state(fs, entry, local, manifest)
            if state != "committed":
                self._upload(fs, entry, local, manifest, uncommit=state == "damaged")
        return manifest

    def open(self, digest: str) -> Package:
        """The package of ``digest`` as a verified local copy, downloaded if not cached.

        Raises :class:`IntegrityError` if the remote entry is missing, uncommitted, or
        does not verify; nothing is cached then.
        """
        cached = self._cache.path_for(digest)
        if cached.exists() or cached.is_symlink():
            try:
                return self._cache.open(digest)
            except PackageError as exc:
                logger.warning(
                    "the cached copy of package %s is damaged (%s); downloading it again",
                    digest[:12],
                    exc.message,
                )
                self._cache.remove(digest)
        with self._reaching("read from"):
            return self._cache.fill(
                digest, lambda staged: self._download(digest, staged), origin=self._show(digest)
            )

    def remove(self, digest: str) -> None:
        """Delete the remote entry (manifest first, so it is never served half-deleted)
        and its cached copy. Removing an absent entry does nothing."""
        self._cache.path_for(digest)  # a digest, not a path
        with self._reaching("remove from"):
            fs, prefix = self._connect()
            entry = f"{prefix}/sha256/{digest}"
            with contextlib.suppress(FileNotFoundError):
                fs.rm_file(f"{entry}/{MANIFEST_FILE}")
            fs.invalidate_cache(entry)
            with contextlib.suppress(FileNotFoundError):
                fs.rm(entry, recursive=True)
        self._cache.remove(digest)

    # -- internals -------------------------------------------------------------------------

    def _connect(self) -> tuple[Any, str]:
        """The file system and the store's path on it.

        Asked again for every operation: fsspec caches instances per process, and an
        instance made before a fork (server workers) must not be used after it.
        """
        protocol = self._url.split("::")[0].split("://")[0]
        try:
            fs, path = url_to_fs(self._url, **self._options)
        except ImportError as exc:
            hint = str(exc) if exc.args and exc.args[0] else ""
            cause = f" ({exc.__cause__})" if exc.__cause__ else ""
            raise RegistryError(
                f"the artifact store {self._root} needs the fsspec backend for {protocol}://, "
                f"which is not installed: {_one_line(hint + cause)}"
            ) from None
        except Exception as exc:  # unknown protocol, bad options, or (ftp, sftp) no server
            shown = str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"
            raise RegistryError(
                f"the artifact store {self._root} cannot be opened: {_one_line(shown)}"
            ) from exc
        return fs, str(path).rstrip("/")

    def _download(self, digest: str, staged: Path) -> None:
        """Fetch the manifest, then exactly the files it lists, into ``staged``."""
        fs, prefix = self._connect()
        entry = f"{prefix}/sha256/{digest}"
        fs.invalidate_cache(entry)
        try:
            fs.get_file(f"{entry}/{MANIFEST_FILE}", str(staged / MANIFEST_FILE))
        except FileNotFoundError:
            raise IntegrityError(
                f"the stored package {digest[:12]} is missing from {self._show(digest)} "
                f"(no {MANIFEST_FILE}: never stored, removed, or its upload did not finish); "
                "register the package again to restore it"
            ) from None
        try:
            manifest = Manifest.read(staged)
        except PackageError as exc:
            raise IntegrityError(
                exc.message.replace(str(staged), self._show(digest)), exc.errors
            ) from None
        for name in sorted(manifest.files):  # plain names: the manifest model checks them
            try:
                fs.get_file(f"{entry}/{name}", str(staged / name))
            except FileNotFoundError:  # verification names the missing file
                (staged / name).unlink(missing_ok=True)

    def _upload(
        self, fs: Any, entry: str, local: Path, manifest: Manifest, *, uncommit: bool
    ) -> None:
        marker = f"{entry}/{MANIFEST_FILE}"
        if uncommit:  # a damaged committed entry: readers must not see it while rewritten
            with contextlib.suppress(FileNotFoundError):
                fs.rm_file(marker)
        fs.makedirs(entry, exist_ok=True)  # a no-op on object stores
        for name in sorted(manifest.files):
            fs.put_file(str(local / name), f"{entry}/{name}")
        short = _wrong_sizes(fs, entry, local, manifest)
        if short:
            raise RegistryError(
                f"the upload of package {manifest.digest[:12]} to {self._root} did not "
                f"arrive whole ({', '.join(short)}); it was not committed, register it again"
            )
        altered = _wrong_digests(fs, entry, manifest)
        if altered:
            raise IntegrityError(
                f"the upload of package {manifest.digest[:12]} to {self._root} arrived "
                f"altered ({', '.join(altered)} does not match its SHA-256 digest); "
                "it was not committed, register it again"
            )
        fs.put_file(str(local / MANIFEST_FILE), marker)  # the commit

    @contextlib.contextmanager
    def _reaching(self, doing: str) -> Iterator[None]:
        """Storage failures (network, credentials, permissions) become one-line
        :class:`RegistryError`s; whatever the backend raised is kept as the cause."""
        try:
            yield
        except ModelportError:
            raise
        except Exception as exc:
            raise RegistryError(
                f"cannot {doing} the artifact store {self._root}: "
                f"{type(exc).__name__}: {_one_line(str(exc))}"
            ) from exc

    def _show(self, digest: str) -> str:
        separator = "" if self._root.endswith("/") else "/"
        return f"{self._root}{separator}sha256/{digest}"


def _entry_state(fs: Any, entry: str, local: Path, manifest: Manifest) -> EntryState:
    """Committed means: the same manifest bytes and every listed file at its size.

    File contents are not re-hashed here (that would download the package); every
    download verifies them.
    """
    fs.invalidate_cache(entry)
    try:
        remote_manifest = fs.cat_file(f"{entry}/{MANIFEST_FILE}")
    except FileNotFoundError:
        return "absent"
    if remote_manifest != (local / MANIFEST_FILE).read_bytes():
        return "damaged"
    return "damaged" if _wrong_sizes(fs, entry, local, manifest) else "committed"


def _wrong_sizes(fs: Any, entry: str, local: Path, manifest: Manifest) -> list[str]:
    """The listed files missing from the remote entry or of another size than ours."""
    fs.invalidate_cache(entry)
    sizes = {
        str(info["name"]).rstrip("/").rsplit("/", 1)[-1]: info.get("size")
        for info in fs.ls(entry, detail=True)
    }
    return [
        name for name in sorted(manifest.files) if sizes.get(name) != (local / name).stat().st_size
    ]


def _wrong_digests(fs: Any, entry: str, manifest: Manifest) -> list[str]:
    """The uploaded files whose bytes, read back, do not match the manifest's digests.

    A copy between stores is verified like any other: reading the upload back costs one
    more transfer at registration, and means a package damaged on its way in is never
    committed (every later download would refuse it, on every machine).
    """
    altered = []
    for name, expected in sorted(manifest.files.items()):
        digest = hashlib.sha256()
        with fs.open(f"{entry}/{name}", "rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
        if digest.hexdigest() != expected:
            altered.append(name)
    return altered


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _MAX_MESSAGE else flat[: _MAX_MESSAGE - 3] + "..."
