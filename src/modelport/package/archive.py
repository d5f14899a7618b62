"""The single-file transport form of a package (``.mpk``: a gzipped tar of its flat files).

Extraction trusts nothing: every member is checked before a byte is written (regular
files with plain names only: no absolute paths, no ``..``, no directories, links or
devices) and the unpacked size is capped against decompression bombs.
"""

from __future__ import annotations

import atexit
import shutil
import tarfile
import tempfile
from pathlib import Path

from modelport.errors import UnsafeArchive
from modelport.files import atomic_directory, atomic_file
from modelport.package.manifest import FILE_NAME_PATTERN, MANIFEST_FILE

__all__ = [
    "ARCHIVE_SUFFIX",
    "MAX_UNPACKED_BYTES",
    "pack",
    "read_members",
    "unpack",
    "unpack_to_temp",
]

ARCHIVE_SUFFIX = ".mpk"
MAX_UNPACKED_BYTES = 4 * 1024**3
_MAX_MEMBERS = 64
_MAX_SMALL_MEMBER = 16 * 1024 * 1024  # a manifest or signature file, never a model


def pack(directory: Path, archive: Path) -> Path:
    """Write the package at ``directory`` (verified first) as one ``.mpk`` file.

    Its ``signature.json``, if it has one, goes right after the manifest, so both can be
    read (:func:`read_members`) without decompressing the whole archive.
    """
    from modelport.package.load import SIGNATURE_FILE, verify_directory

    manifest = verify_directory(directory)
    signatures = Path(directory) / SIGNATURE_FILE
    signed = signatures.is_file() and not signatures.is_symlink()
    archive = Path(archive)
    archive.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(archive) as partial, tarfile.open(partial, "w:gz") as tar:
        extra = [SIGNATURE_FILE] if signed and SIGNATURE_FILE not in manifest.files else []
        for name in [MANIFEST_FILE, *extra, *sorted(manifest.files)]:
            tar.add(directory / name, arcname=name, recursive=False)
    return archive


def unpack(archive: Path, target: Path, *, max_bytes: int = MAX_UNPACKED_BYTES) -> Path:
    """Extract ``archive`` into the new directory ``target`` after checking every member."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = _headers(tar)
            _check_members(members, max_bytes)
            with atomic_directory(target) as scratch:
                for member in members:
                    source = tar.extractfile(member)
                    if source is None:
                        raise UnsafeArchive(f"{archive}: member {member.name} cannot be read")
                    with source, (scratch / member.name).open("wb") as out:
                        _copy_capped(source, out, member.size, member.name)
    except (tarfile.TarError, EOFError, OSError) as exc:
        if isinstance(exc, FileExistsError):
            raise
        raise _unreadable(archive, exc) from None
    return target


def read_members(
    archive: Path, names: set[str], *, max_bytes: int = _MAX_SMALL_MEMBER
) -> dict[str, bytes]:
    """The bytes of the small regular-file members ``names`` that ``archive`` holds (absent
    ones are left out), read without writing anything; stops once all are found."""
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                if member.name not in names or member.name in found:
                    continue
                if not member.isfile() or member.size > max_bytes:
                    raise UnsafeArchive(
                        f"{archive}: member {member.name} is not a regular file of at most "
                        f"{max_bytes} bytes"
                    )
                source = tar.extractfile(member)
                if source is None:
                    raise UnsafeArchive(f"{archive}: member {member.name} cannot be read")
                with source:
                    found[member.name] = source.read(member.size)
                if len(found) == len(names):
                    break
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise _unreadable(archive, exc) from None
    return found


def _unreadable(archive: Path, exc: BaseException) -> UnsafeArchive:
    reason = " ".join(str(exc).split())[:200]  # tarfile's ReadError spans several lines
    return UnsafeArchive(f"{archive} is not a readable package archive (a gzipped tar): {reason}")


def unpack_to_temp(archive: Path) -> Path:
    """Unpack into a private temporary directory removed when the process exits."""
    parent = Path(tempfile.mkdtemp(prefix="modelport-"))
    try:
        unpacked = unpack(archive, parent / "package")
    except BaseException:
        shutil.rmtree(parent, ignore_errors=True)
        raise
    atexit.register(shutil.rmtree, parent, True)
    return unpacked


def _headers(tar: tarfile.TarFile) -> list[tarfile.TarInfo]:
    """The members' headers, read one at a time and refused past the most a package has:
    an archive of a million empty members must not become a million objects in memory."""
    members: list[tarfile.TarInfo] = []
    for member in tar:
        members.append(member)
        if len(members) > _MAX_MEMBERS:
            raise UnsafeArchive(
                f"archive has more than {_MAX_MEMBERS} members; a package has a handful"
            )
    return members


def _check_members(members: list[tarfile.TarInfo], max_bytes: int) -> None:
    total = 0
    seen: set[str] = set()
    for member in members:
        if not member.isfile():
            raise UnsafeArchive(f"archive member {member.name!r} is not a regular file")
        if not FILE_NAME_PATTERN.fullmatch(member.name) or member.name in seen:
            raise UnsafeArchive(f"archive member name {member.name!r} is not allowed")
        seen.add(member.name)
        total += member.size
        if total > max_bytes:
            raise UnsafeArchive(f"archive unpacks to more than {max_bytes} bytes")
    if MANIFEST_FILE not in seen:
        raise UnsafeArchive(f"archive has no {MANIFEST_FILE}: not a modelport package")


def _copy_capped(source: object, out: object, declared: int, name: str) -> None:
    """Copy no more than the declared size: a lying header cannot inflate the output."""
    remaining = declared
    read = source.read  # type: ignore[attr-defined]
    write = out.write  # type: ignore[attr-defined]
    while remaining > 0:
        chunk = read(min(remaining, 1 << 20))
        if not chunk:
            raise UnsafeArchive(f"archive member {name} is truncated")
        write(chunk)
        remaining -= len(chunk)
