"""Files that appear whole or not at all, and file digests: the one home of modelport's
atomic writes (packages, signatures, trusted keys, batch outputs and parts, prediction logs).

    atomic_file(target)              a temporary file beside ``target``, renamed over it
    write_file_atomically(target, b) the same, for bytes already in memory
    atomic_upload(fs, path)          a local file uploaded beside an fsspec ``path``, moved over it
    atomic_directory(target)         a scratch directory beside ``target``, renamed to it

Every temporary file is named ``.<name>.<random>.modelport-partial`` (:func:`partial_name`)
beside its target, so the final rename stays on one file system, and a run that was killed
leaves only hidden files that :data:`PARTIAL_SUFFIX` finds. Files are flushed to disk
(``fsync``) before the rename; on an exception, Ctrl-C included, the temporary file or
directory is removed and the target is left as it was.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from modelport.errors import ModelportError

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

__all__ = [
    "PARTIAL_SUFFIX",
    "atomic_directory",
    "atomic_file",
    "atomic_upload",
    "partial_name",
    "sha256_file",
    "write_file_atomically",
]

PARTIAL_SUFFIX = ".modelport-partial"
_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def partial_name(name: str) -> str:
    """A new temporary name for a file that will become ``name``."""
    return f".{name}.{secrets.token_hex(4)}{PARTIAL_SUFFIX}"


@contextmanager
def atomic_file(
    target: Path, *, mode: int | None = None, error: type[ModelportError] = ModelportError
) -> Iterator[Path]:
    """A temporary path beside ``target`` that replaces it only if the block succeeds.

    The target's directory is created if missing; the file gets the usual permissions
    (``0o666`` less the umask) unless ``mode`` says otherwise. A directory that cannot be
    created or written in raises ``error``.
    """
    directory = target.parent
    if not directory.is_dir():
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise error(f"cannot create the directory {directory}: {exc}") from None
    temporary = _create_beside(target, error)
    try:
        yield temporary
        with temporary.open("rb") as handle:
            os.fsync(handle.fileno())
        if mode is not None:
            temporary.chmod(mode)
        os.replace(temporary, target)
    except BaseException:
        with suppress(FileNotFoundError):
            temporary.unlink()
        raise


def write_file_atomically(target: Path, data: bytes, mode: int = 0o644) -> Path:
    """Write ``data`` to ``target`` through :func:`atomic_file`: readers see the old file or
    the new one, never half of one."""
    with atomic_file(target, mode=mode) as temporary:
        temporary.write_bytes(data)
    return target


def _create_beside(target: Path, error: type[ModelportError]) -> Path:
    """Create an empty, new temporary file beside ``target``, with the usual permissions.

    (``tempfile.mkstemp`` would make it readable by its owner only, and the rename would
    carry that over to the output.)
    """
    for _ in range(100):
        path = target.with_name(partial_name(target.name))
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        except OSError as exc:
            raise error(f"cannot write in {target.parent}: {exc}") from None
        return path
    raise error(f"cannot create a temporary file in {target.parent}")


@contextmanager
def atomic_upload(
    fs: AbstractFileSystem,
    path: str,
    *,
    shown: str | None = None,
    error: type[ModelportError] = ModelportError,
) -> Iterator[Path]:
    """A local temporary path whose file replaces ``path`` on ``fs`` only if the block succeeds.

    Object stores have no rename beside a half-written object, so the file is written
    locally, uploaded beside ``path`` under a :func:`partial_name` and then moved into
    place: readers never see a partial object. A failed upload raises ``error`` naming
    ``shown`` (the URL without secrets), or ``path``.
    """
    name = PurePosixPath(path).name
    with tempfile.TemporaryDirectory(prefix="modelport-output-") as scratch:
        temporary = Path(scratch) / name
        temporary.touch()
        yield temporary
        partial = str(PurePosixPath(path).with_name(partial_name(name)))
        try:
            fs.put_file(str(temporary), partial)
            fs.mv(partial, path)
        except BaseException as exc:
            with suppress(Exception):
                fs.rm(partial)
            if isinstance(exc, Exception):
                raise error(f"cannot write {shown or path}: {exc}") from None
            raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


@contextmanager
def atomic_directory(target: Path, *, replace: bool = False) -> Iterator[Path]:
    """Yield a scratch directory beside ``target`` that becomes ``target`` only on success.

    A crash or an exception leaves no half-written ``target`` behind, only nothing. An
    existing ``target`` raises :class:`FileExistsError` unless ``replace``; the caller
    checks that what it replaces is what it means to replace.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() and not replace:
        raise FileExistsError(f"{target} already exists")
    scratch = Path(
        tempfile.mkdtemp(prefix=f".{target.name}.", suffix=PARTIAL_SUFFIX, dir=target.parent)
    )
    scratch.chmod(0o777 & ~_umask())  # mkdtemp makes it owner-only; a package is for sharing
    try:
        yield scratch
        for path in scratch.rglob("*"):
            if path.is_file():
                with path.open("rb") as handle:
                    os.fsync(handle.fileno())
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            target.rename(old)
            scratch.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            scratch.rename(target)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
