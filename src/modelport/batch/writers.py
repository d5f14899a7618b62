"""Streaming writers: Arrow tables in, one file out, a chunk at a time.

Writers write exactly where they are told; making the result appear atomically (a
temporary file renamed at the end) is the job's business (:mod:`modelport.batch.job`).
Every table written to one writer has the same schema; a writer that was given no rows
still leaves a valid, empty file with the schema passed to :meth:`Writer.close`.
"""

from __future__ import annotations

import decimal
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

import orjson
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from modelport.batch.chunks import Reject
from modelport.batch.formats import Format
from modelport.errors import BatchError

__all__ = [
    "CsvWriter",
    "JsonLinesWriter",
    "OutputSchema",
    "ParquetWriter",
    "RejectsWriter",
    "Writer",
    "dumps",
    "open_writer",
]


def _default(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def dumps(value: Any) -> bytes:
    """One JSON line's worth (no newline): NaN becomes null, dates ISO, odd types text."""
    return orjson.dumps(value, default=_default, option=orjson.OPT_SERIALIZE_NUMPY)


class Writer(ABC):
    """One output file at ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        try:
            self._write(table)
        except (pa.ArrowException, OSError) as exc:
            raise BatchError(f"cannot write {self.path}: {exc}") from None
        self.rows += table.num_rows

    def close(self, schema: pa.Schema) -> None:
        """Finish the file; ``schema`` is used when no row was ever written."""
        try:
            self._close(schema)
        except (pa.ArrowException, OSError) as exc:
            raise BatchError(f"cannot write {self.path}: {exc}") from None

    @abstractmethod
    def _write(self, table: pa.Table) -> None: ...

    @abstractmethod
    def _close(self, schema: pa.Schema) -> None: ...

    @abstractmethod
    def abort(self) -> None:
        """Release the file without finishing it (the caller deletes it)."""


class _ArrowFileWriter(Writer):
    """An Arrow file writer (Parquet, CSV) opened with the first table's schema."""

    def __init__(self, path: Path, open_file: Callable[[str, pa.Schema], Any]) -> None:
        super().__init__(path)
        self._open_file = open_file
        self._writer: Any = None

    def _open(self, schema: pa.Schema) -> Any:
        if self._writer is None:
            self._writer = self._open_file(str(self.path), schema)
        return self._writer

    def _write(self, table: pa.Table) -> None:
        self._open(table.schema).write_table(table)

    def _close(self, schema: pa.Schema) -> None:
        self._open(schema).close()

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.close()


class ParquetWriter(_ArrowFileWriter):
    def __init__(self, path: Path) -> None:
        super().__init__(path, pq.ParquetWriter)


class CsvWriter(_ArrowFileWriter):
    """A header row, then the rows; missing values are empty cells."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, pacsv.CSVWriter)


class _LinesFile:
    """A binary file opened on first use, for the JSON Lines writers."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[bytes] | None = None

    def handle(self) -> IO[bytes]:
        if self._handle is None:
            self._handle = self.path.open("wb")
        return self._handle

    def write_lines(self, lines: Iterable[bytes]) -> None:
        data = b"\n".join(lines)
        if data:
            self.handle().write(data + b"\n")

    def close(self) -> None:
        self.handle().close()

    def abort(self) -> None:
        if self._handle is not None:
            self._handle.close()


class JsonLinesWriter(Writer):
    """One JSON object per row; NaN and missing values are ``null``."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._file = _LinesFile(self.path)

    def _write(self, table: pa.Table) -> None:
        self._file.write_lines(dumps(row) for row in table.to_pylist())

    def _close(self, schema: pa.Schema) -> None:
        self._file.close()

    def abort(self) -> None:
        self._file.abort()


class RejectsWriter:
    """The rejects file: one JSON object per refused row (see ``docs/batch.md``)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.rows = 0
        self._file = _LinesFile(self.path)

    def write(self, rejects: list[Reject]) -> None:
        if not rejects:
            return
        try:
            self._file.write_lines(dumps(r.to_dict()) for r in rejects)
        except OSError as exc:
            raise BatchError(f"cannot write {self.path}: {exc}") from None
        self.rows += len(rejects)

    def close(self) -> None:
        try:
            self._file.close()
        except OSError as exc:
            raise BatchError(f"cannot write {self.path}: {exc}") from None

    def abort(self) -> None:
        self._file.abort()


class OutputSchema:
    """Keeps every chunk of the output on one schema: record column, carried, predictions.

    Carried columns take the input's types where the input has a schema; from JSON Lines,
    the first rows that have values fix them (a column with no value yet is text).
    """

    def __init__(
        self,
        source: pa.Schema | None,
        carry: list[str],
        leading: list[pa.Field],
        predictions: pa.Schema,
    ) -> None:
        self._carry = carry
        self._leading = leading
        self._predictions = list(predictions)
        self.schema: pa.Schema | None = None
        if source is not None:
            self.schema = self._build([source.field(name).type for name in carry])

    def _build(self, carry_types: list[pa.DataType]) -> pa.Schema:
        fields = []
        for name, kind in zip(self._carry, carry_types, strict=True):
            if pa.types.is_dictionary(kind):
                kind = kind.value_type
            if pa.types.is_null(kind):
                kind = pa.string()
            fields.append(pa.field(name, kind))
        return pa.schema([*self._leading, *fields, *self._predictions])

    def conform(self, table: pa.Table) -> pa.Table:
        if self.schema is None:
            if table.num_rows == 0:
                return table
            self.schema = self._build([table.schema.field(n).type for n in self._carry])
        if table.schema.equals(self.schema):
            return table
        try:
            return table.cast(self.schema)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
            raise BatchError(
                "a carried column changes type part-way through the input "
                f"(the output has {self.schema}); {exc}"
            ) from None

    def final(self) -> pa.Schema:
        return self.schema or self._build([pa.string()] * len(self._carry))


def open_writer(path: Path, format: Format) -> Writer:
    """A writer of ``format`` at ``path`` (nothing is created before the first row or close)."""
    writers: dict[Format, type[Writer]] = {
        Format.CSV: CsvWriter,
        Format.PARQUET: ParquetWriter,
        Format.JSONL: JsonLinesWriter,
    }
    return writers[format](Path(path))
