"""The file formats batch scoring reads and writes, and how a path names its format."""

from __future__ import annotations

from enum import StrEnum
from pathlib import PurePath

from modelport.errors import BatchError

__all__ = ["COMPRESSIONS", "Format", "detect_format", "resolve_format"]

# Input files may be compressed; the codec is named by the last suffix.
COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd", ".lz4": "lz4"}


class Format(StrEnum):
    CSV = "csv"
    PARQUET = "parquet"
    JSONL = "jsonl"


_SUFFIXES = {
    ".csv": Format.CSV,
    ".parquet": Format.PARQUET,
    ".pq": Format.PARQUET,
    ".jsonl": Format.JSONL,
    ".ndjson": Format.JSONL,
}
_ALIASES = {
    "csv": Format.CSV,
    "parquet": Format.PARQUET,
    "pq": Format.PARQUET,
    "jsonl": Format.JSONL,
    "ndjson": Format.JSONL,
    "json-lines": Format.JSONL,
    "jsonlines": Format.JSONL,
}


def detect_format(path: PurePath) -> Format:
    """The format a file name announces: ``.csv``, ``.parquet``/``.pq``, ``.jsonl``/``.ndjson``.

    A compression suffix after it (``data.csv.gz``) is looked through.
    """
    suffixes = [s.lower() for s in PurePath(path).suffixes]
    if suffixes and suffixes[-1] in COMPRESSIONS:
        suffixes = suffixes[:-1]
    if suffixes and suffixes[-1] in _SUFFIXES:
        return _SUFFIXES[suffixes[-1]]
    hint = " (JSON Lines files end in .jsonl)" if suffixes and suffixes[-1] == ".json" else ""
    raise BatchError(
        f"cannot tell the format of {path} from its name{hint}; "
        f"name it with one of {', '.join(sorted(_SUFFIXES))} or give the format explicitly"
    )


def resolve_format(path: PurePath, given: Format | str | None) -> Format:
    """``given`` if there is one (``csv``, ``parquet``, ``jsonl``), else what the name says."""
    if given is None:
        return detect_format(path)
    if isinstance(given, Format):
        return given
    try:
        return _ALIASES[given.strip().lower()]
    except KeyError:
        raise BatchError(
            f"unknown file format {given!r}; use one of {', '.join(f.value for f in Format)}"
        ) from None
