"""Where a batch input or output lives: a local path, or a file behind an fsspec URL.

    s3://bucket/applications.parquet   gs://...   abfs://...   memory://...   (any fsspec)
    /data/applications.csv   file:///data/applications.csv   (local)

Inputs are streamed from where they are, like local files: Parquet through a seekable
file object, CSV and JSON Lines block by block (decompressed when the name says).
Outputs are written to a local temporary file first, then uploaded beside the target
under a temporary name and renamed into place: the target appears only complete, as a
local output does. The protocol's fsspec package (``s3fs``, ``gcsfs``, ``adlfs``) must be
installed; credentials come from the usual places (environment, config files).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

import pyarrow as pa
from fsspec import AbstractFileSystem
from fsspec.core import url_to_fs

from modelport.batch.formats import COMPRESSIONS
from modelport.errors import BatchError
from modelport.files import atomic_file, atomic_upload

__all__ = ["Location", "atomic_output"]

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
_LOCAL_SCHEMES = {"file", "local"}


class Location:
    """A file to read or write: ``local`` is its path on this machine, or ``None`` when it
    is behind an fsspec URL (then ``fs`` and ``path`` say where)."""

    def __init__(self, given: str | Path) -> None:
        text = os.fspath(given)
        scheme = _SCHEME.match(text)
        self.fs: AbstractFileSystem | None = None
        self.local: Path | None = None
        if scheme is None or scheme.group(1).lower() in _LOCAL_SCHEMES:
            self.local = Path(text[scheme.end() :] if scheme else text)
            self.path = str(self.local)
            self.shown: str | Path = self.local
            return
        try:
            self.fs, self.path = url_to_fs(text)
        except ImportError as exc:
            raise BatchError(
                f"{scheme.group(1)}:// needs its fsspec package ({exc}); install it, e.g. "
                "pip install s3fs (s3://), gcsfs (gs://) or adlfs (abfs://)"
            ) from None
        except (ValueError, OSError) as exc:
            raise BatchError(f"cannot use {self.safe(text)}: {exc}") from None
        self.shown = self.safe(text)

    @staticmethod
    def safe(text: str) -> str:
        """The URL without a password or a query (signed URLs hold tokens there), for
        messages, summaries and records."""
        scheme, found, rest = text.partition("://")
        if not found:
            return text
        if "@" in rest:  # user:password@host, the password possibly holding / or @
            userinfo, host = rest.rsplit("@", 1)
            if ":" in userinfo:
                rest = f"{userinfo.split(':', 1)[0]}:***@{host}"
        try:
            parts = urlsplit(f"{scheme}://{rest}")
        except ValueError:
            return f"{scheme}://***"
        location = parts.netloc
        return urlunsplit((parts.scheme, location, parts.path, "***" if parts.query else "", ""))

    def __str__(self) -> str:
        return str(self.shown)

    @property
    def name(self) -> PurePosixPath:
        """The file name, which says the format (and compression)."""
        return PurePosixPath(self.path)

    def exists(self) -> bool:
        if self.local is not None:
            return self.local.exists()
        return bool(self.fs is not None and self.fs.exists(self.path))

    def is_dir(self) -> bool:
        if self.local is not None:
            return self.local.is_dir()
        return bool(self.fs is not None and self.fs.isdir(self.path))

    def open_binary(self) -> IO[bytes] | Any:
        """The file's bytes, decompressed when its name says (``.gz``, ``.zst``, ...)."""
        compressed = self.name.suffix.lower() in COMPRESSIONS
        if self.local is not None:
            if compressed:
                return pa.input_stream(str(self.local), compression="detect")
            return self.local.open("rb")
        handle = self._fs.open(self.path, "rb")
        if compressed:
            return pa.CompressedInputStream(handle, COMPRESSIONS[self.name.suffix.lower()])
        return handle

    def seekable(self) -> str | IO[bytes] | Any:
        """What Parquet reads: the local path, or a seekable file object."""
        if self.local is not None:
            return str(self.local)
        return self._fs.open(self.path, "rb")

    def fingerprint(self) -> dict[str, Any]:
        """What tells this file from another version of it: size and modification."""
        if self.local is not None:
            stat = self.local.stat()
            return {"bytes": stat.st_size, "modified_ns": stat.st_mtime_ns}
        info = self._fs.info(self.path)
        keys = ("size", "mtime", "LastModified", "last_modified", "ETag", "etag", "md5Hash")
        return {key: str(info[key]) for key in keys if key in info}

    @property
    def _fs(self) -> AbstractFileSystem:
        if self.fs is None:
            raise BatchError(f"{self} is a local file")
        return self.fs


@contextmanager
def atomic_output(target: Location) -> Iterator[Path]:
    """A local temporary path whose file replaces ``target`` only if the block succeeds.

    Local targets: :func:`~modelport.files.atomic_file` (a rename beside it). Behind a URL:
    :func:`~modelport.files.atomic_upload` (uploaded beside the target under a temporary
    name, then moved into place), so readers never see a partial object.
    """
    if target.local is not None:
        with atomic_file(target.local, error=BatchError) as temporary:
            yield temporary
        return
    with atomic_upload(target._fs, target.path, shown=str(target), error=BatchError) as temporary:
        yield temporary
