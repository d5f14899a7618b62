"""Streaming readers: a file in, chunks of at most ``chunk_rows`` rows out, memory flat.

* CSV: blocks of whole rows parsed by Arrow (see :mod:`modelport.batch.text`), every
  column as text (the validator then reads numbers and booleans leniently, so ``"abc"``
  in a number column is a reject, not a crash); empty cells are missing values. A row
  with the wrong number of cells fails the file.
* Parquet: row batches from the file's row groups, types as stored (validated strictly).
* JSON Lines: lines decoded one by one, so a line that is not JSON is a reject with its
  line number; blank lines are skipped and are not records.

Record numbers count the input's data rows from 0 (header and blank lines excluded).
Compressed CSV and JSON Lines (``.gz``, ``.bz2``, ``.zst``, ``.lz4``) are read as they are.
Inputs may be local files or fsspec URLs (:mod:`modelport.batch.locations`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from modelport.batch.chunks import ArrowChunk, Chunk, RecordsChunk, Unreadable
from modelport.batch.formats import Format
from modelport.batch.locations import Location
from modelport.batch.text import csv_blocks, lines
from modelport.errors import BatchError

__all__ = ["CsvReader", "JsonLinesReader", "ParquetReader", "Reader", "open_reader", "rechunk"]

CSV_BLOCK_BYTES = 1 << 20
JSONL_BLOCK_BYTES = 1 << 20


class Reader(ABC):
    """One input file. ``schema`` and ``total_rows`` are known up front where the format says."""

    format: Format

    def __init__(self, location: Location | str | Path) -> None:
        if not isinstance(location, Location):
            location = Location(location)
        self.location = location
        self.path: Path | str = location.shown  # for messages

    @property
    def schema(self) -> pa.Schema | None:
        """The columns and their types, or ``None`` when only the rows tell (JSON Lines)."""
        return None

    @property
    def total_rows(self) -> int | None:
        return None

    def chunks(self, chunk_rows: int, *, columns: Sequence[str] | None = None) -> Iterator[Chunk]:
        """Chunks in file order; ``columns`` restricts what is read (when the format can)."""
        if chunk_rows < 1:
            raise BatchError(f"chunk_rows must be at least 1, got {chunk_rows}")
        try:
            yield from self._chunks(chunk_rows, columns)
        except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:
            raise BatchError(f"cannot read {self.path}: {_clean(exc)}") from None

    @abstractmethod
    def _chunks(self, chunk_rows: int, columns: Sequence[str] | None) -> Iterator[Chunk]: ...

    def close(self) -> None:  # noqa: B027 (most readers hold no file between chunks)
        """Let go of the file (chunks already handed out stay valid)."""

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def rechunk(batches: Iterable[pa.RecordBatch], rows: int) -> Iterator[pa.Table]:
    """Regroup record batches of any sizes into tables of exactly ``rows`` rows (the last fewer)."""
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        while batch.num_rows:
            take = min(rows - count, batch.num_rows)
            pending.append(batch.slice(0, take))
            count += take
            batch = batch.slice(take)
            if count == rows:
                yield pa.Table.from_batches(pending)
                pending, count = [], 0
    if count:
        yield pa.Table.from_batches(pending)


def _arrow_chunks(tables: Iterable[pa.Table], *, lenient: bool) -> Iterator[Chunk]:
    start = 0
    for table in tables:
        yield ArrowChunk(table, start=start, lenient=lenient)
        start += table.num_rows


class CsvReader(Reader):
    """CSV with a header row; every column is text, empty cells are missing."""

    format = Format.CSV

    def __init__(
        self, location: Location | str | Path, *, block_bytes: int = CSV_BLOCK_BYTES
    ) -> None:
        super().__init__(location)
        self.block_bytes = block_bytes
        try:
            with self.location.open_binary() as source:
                first = next(csv_blocks(source, block_bytes), b"")
            if not first.strip():
                raise BatchError(
                    f"cannot read {self.path} as CSV: the file is empty, not even a header"
                )
            names = pacsv.read_csv(
                pa.py_buffer(first), read_options=pacsv.ReadOptions(use_threads=False)
            ).column_names
        except (pa.ArrowException, OSError) as exc:
            raise BatchError(f"cannot read {self.path} as CSV: {_clean(exc)}") from None
        self._schema = pa.schema([(name, pa.string()) for name in names])

    @property
    def schema(self) -> pa.Schema:
        return self._schema

    def _chunks(self, chunk_rows: int, columns: Sequence[str] | None) -> Iterator[Chunk]:
        convert = pacsv.ConvertOptions(
            column_types=self._schema,
            include_columns=list(columns or ()),  # empty: every column
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        )

        def batches() -> Iterator[pa.RecordBatch]:
            with self.location.open_binary() as source:
                for number, block in enumerate(csv_blocks(source, self.block_bytes)):
                    options = pacsv.ReadOptions(
                        column_names=self._schema.names, skip_rows=1 if number == 0 else 0
                    )
                    table = pacsv.read_csv(
                        pa.py_buffer(block), read_options=options, convert_options=convert
                    )
                    yield from table.to_batches()

        yield from _arrow_chunks(rechunk(batches(), chunk_rows), lenient=True)


class ParquetReader(Reader):
    """Parquet, typed as stored; the row count comes from the file's metadata."""

    format = Format.PARQUET

    def __init__(self, location: Location | str | Path) -> None:
        super().__init__(location)
        try:
            self._file = pq.ParquetFile(self.location.seekable())
        except (pa.ArrowException, OSError) as exc:
            raise BatchError(f"cannot read {self.path} as Parquet: {_clean(exc)}") from None

    @property
    def schema(self) -> pa.Schema:
        return self._file.schema_arrow

    @property
    def total_rows(self) -> int:
        return int(self._file.metadata.num_rows)

    def _chunks(self, chunk_rows: int, columns: Sequence[str] | None) -> Iterator[Chunk]:
        batches = self._file.iter_batches(
            batch_size=chunk_rows,
            columns=list(columns) if columns is not None else None,
            use_pandas_metadata=False,
        )
        yield from _arrow_chunks(rechunk(batches, chunk_rows), lenient=False)

    def close(self) -> None:
        self._file.close()


class JsonLinesReader(Reader):
    """One JSON value per line; each line is decoded alone."""

    format = Format.JSONL

    def __init__(
        self, location: Location | str | Path, *, block_bytes: int = JSONL_BLOCK_BYTES
    ) -> None:
        super().__init__(location)
        self.block_bytes = block_bytes
        if self.location.is_dir():
            raise BatchError(f"cannot read {self.path}: not a file")

    def _chunks(self, chunk_rows: int, columns: Sequence[str] | None) -> Iterator[Chunk]:
        values: list[Any] = []
        numbers: list[int] = []
        start = 0
        with self.location.open_binary() as source:
            for number, line in lines(source, self.block_bytes):
                if not line.strip():
                    continue
                values.append(_decode(line))
                numbers.append(number)
                if len(values) == chunk_rows:
                    yield RecordsChunk(values, start=start, lines=numbers)
                    start += len(values)
                    values, numbers = [], []
        if values:
            yield RecordsChunk(values, start=start, lines=numbers)


def _decode(line: bytes) -> Any:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        text = line.decode("utf-8", errors="replace").rstrip("\r")
        return Unreadable(f"not valid JSON: {exc}", text)


def _clean(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def open_reader(source: str | Path | Location, format: Format) -> Reader:
    """The reader for ``format``; the file (a path or an fsspec URL) is opened, and its
    header or footer read, now."""
    location = source if isinstance(source, Location) else Location(source)
    try:
        exists = location.exists()
    except OSError as exc:
        raise BatchError(f"cannot read {location}: {_clean(exc)}") from None
    if not exists:
        raise BatchError(f"input {location} does not exist")
    if format is Format.CSV:
        return CsvReader(location)
    if format is Format.PARQUET:
        return ParquetReader(location)
    return JsonLinesReader(location)
