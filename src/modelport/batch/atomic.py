"""Files that appear whole or not at all: written beside their target, renamed at the end."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from modelport.errors import BatchError

__all__ = ["PARTIAL_SUFFIX", "atomic_file"]

PARTIAL_SUFFIX = ".modelport-partial"


@contextmanager
def atomic_file(target: Path) -> Iterator[Path]:
    """A temporary path beside ``target`` that replaces it only if the block succeeds.

    The temporary file is ``.<name>.<random>.modelport-partial`` in the target's directory
    (created if missing), so the final rename stays on one file system and is atomic. On
    an exception, Ctrl-C included, it is deleted and ``target`` is left as it was.
    """
    directory = target.parent
    if not directory.is_dir():
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BatchError(f"cannot create the directory {directory}: {exc}") from None
    temporary = _create_beside(target)
    try:
        yield temporary
        _fsync(temporary)
        os.replace(temporary, target)
    except BaseException:
        with suppress(FileNotFoundError):
            temporary.unlink()
        raise


def _create_beside(target: Path) -> Path:
    """Create an empty, new temporary file beside ``target``, with the usual permissions.

    (``tempfile.mkstemp`` would make it readable by its owner only, and the rename would
    carry that over to the output.)
    """
    for _ in range(100):
        path = target.with_name(f".{target.name}.{secrets.token_hex(4)}{PARTIAL_SUFFIX}")
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        except OSError as exc:
            raise BatchError(f"cannot write in {target.parent}: {exc}") from None
        return path
    raise BatchError(f"cannot create a temporary file in {target.parent}")


def _fsync(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())
