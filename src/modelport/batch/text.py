"""Text inputs read a block at a time, on the caller's thread, so nothing is read ahead.

Arrow's streaming CSV reader reads up to 32 blocks ahead of its consumer; when scoring is
slower than reading, that is 32 blocks held in memory whatever the chunk size. Reading
the bytes here and handing Arrow one block of whole rows at a time keeps memory at one
block plus one chunk.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from typing import IO, Any

__all__ = ["csv_blocks", "lines"]

_BOM = b"\xef\xbb\xbf"


def _blocks(source: IO[bytes] | Any, size: int) -> Iterator[bytes]:
    while block := source.read(size):
        yield bytes(block)


def lines(source: IO[bytes] | Any, block_bytes: int) -> Iterator[tuple[int, bytes]]:
    """Every line (without its ``\\n``) with its 1-based number; a leading BOM is dropped."""
    number = 0
    pending = b""
    for block in _blocks(source, block_bytes):
        parts = (pending + block).split(b"\n")
        pending = parts.pop()
        for line in parts:
            number += 1
            yield number, (line.removeprefix(_BOM) if number == 1 else line)
    if pending:
        number += 1
        yield number, (pending.removeprefix(_BOM) if number == 1 else pending)


# A quoted value opens only at the start of a field (line start or after a comma) and
# runs to its closing quote ("" is an escaped quote) or, unterminated, to the end of the
# data. A quote anywhere else is a literal character, as Arrow reads it.
_QUOTED_VALUE = re.compile(rb'(?:^|(?<=,))"(?:[^"]|"")*(?:"|\Z)', re.MULTILINE)


def _row_end(data: bytes) -> int:
    """The position just after the last line break that ends a CSV row, or 0 if none does.

    ``data`` starts at the start of a row. A line break ends a row unless it lies inside a
    quoted value.
    """
    if b'"' not in data:  # the common case: nothing is quoted
        return data.rfind(b"\n") + 1
    quoted = [match.span() for match in _QUOTED_VALUE.finditer(data)]
    starts = [start for start, _ in quoted]
    position = data.rfind(b"\n")
    while position >= 0:
        index = bisect.bisect_right(starts, position) - 1
        if index < 0 or quoted[index][1] <= position:
            return position + 1
        position = data.rfind(b"\n", 0, quoted[index][0])
    return 0


def csv_blocks(source: IO[bytes] | Any, block_bytes: int) -> Iterator[bytes]:
    """The CSV text cut into pieces of about ``block_bytes`` that end at row boundaries."""
    pending = b""
    for block in _blocks(source, block_bytes):
        data = pending + block
        end = _row_end(data)
        if end:
            yield data[:end]
        pending = data[end:]
    if pending.strip():
        yield pending
