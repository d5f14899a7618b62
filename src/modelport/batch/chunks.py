"""Chunks of input rows, and the rows a chunk refuses.

A chunk is a slice of consecutive input rows that knows its place in the file (``start``,
the record number of its first row). Two kinds:

* :class:`ArrowChunk`: an Arrow table (CSV and Parquet sources, or any table a caller has);
* :class:`RecordsChunk`: decoded JSON Lines values, some of which may not be JSON objects
  or not JSON at all.

Both answer the same two questions for :func:`modelport.batch.score.score_chunk`: which
rows pass the contract (:meth:`Chunk.check`) and what the carried columns of those rows
are (:meth:`Chunk.carried`). For scoring by entity (:mod:`modelport.batch.entities`) they
also give their key columns (:meth:`Chunk.columns`) and take the looked-up inputs
(:meth:`Chunk.joined`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from modelport.batch.columns import scorer_columns
from modelport.contract import ExtraFieldPolicy, Validated
from modelport.errors import BatchError, FieldError
from modelport.runtime import Scorer

__all__ = ["ArrowChunk", "Checked", "Chunk", "RecordsChunk", "Reject"]


@dataclass(frozen=True, slots=True)
class Reject:
    """One refused input row: its record number, every reason, and the row as it was read."""

    record: int
    errors: list[FieldError]
    row: Any
    line: int | None = None  # 1-based line number, for line-oriented sources (JSON Lines)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"record": self.record}
        if self.line is not None:
            data["line"] = self.line
        data["errors"] = [{"field": e.field, "reason": e.reason} for e in self.errors]
        data["row"] = self.row
        return data


@dataclass(frozen=True, slots=True)
class Checked:
    """What the contract made of a chunk: the accepted rows typed, the others refused."""

    validated: Validated
    accepted: np.ndarray  # positions in the chunk of the rows in ``validated.columns``
    rejects: list[Reject]


class Chunk(ABC):
    """Consecutive input rows; ``start`` is the record number of the first."""

    start: int

    @property
    @abstractmethod
    def n_rows(self) -> int:
        """Rows in the chunk, accepted or not."""

    @abstractmethod
    def check(
        self, scorer: Scorer, *, carry: Sequence[str] = (), ignore_extra: bool = False
    ) -> Checked:
        """Validate every row through ``scorer`` (pre-steps included); ``carry`` columns are
        not fields, so never "extra"."""

    @abstractmethod
    def carried(self, names: Sequence[str], rows: np.ndarray) -> list[pa.ChunkedArray | pa.Array]:
        """The ``names`` columns at chunk positions ``rows``, in that order."""

    @abstractmethod
    def objects(self) -> np.ndarray:
        """Which rows are records at all (a JSON Lines line may be a number, or not JSON)."""

    @abstractmethod
    def columns(self, names: Sequence[str]) -> dict[str, pa.Array]:
        """Those of ``names`` the chunk has, each as one array of a value per row (null
        where a row lacks it)."""

    @abstractmethod
    def joined(
        self, rows: np.ndarray | None, columns: Mapping[str, pa.Array], drop: Sequence[str]
    ) -> Chunk:
        """Rows ``rows`` only (``None``: all), with ``columns`` added (a value per kept row)
        and the columns ``drop`` removed. ``start`` stays, so record numbers of the result
        are positions in it plus ``start``, not this chunk's."""

    @abstractmethod
    def rejects(self, refused: Mapping[int, list[FieldError]]) -> list[Reject]:
        """Rejects for the rows at the positions ``refused`` names, with those reasons."""


def _shift(errors: list[FieldError], record: int) -> list[FieldError]:
    return [FieldError(record, e.field, e.reason) for e in errors]


@dataclass(slots=True)
class ArrowChunk(Chunk):
    """Rows as an Arrow table. ``lenient`` for text sources (numbers arrive as strings)."""

    table: pa.Table
    start: int = 0
    lenient: bool = False

    @property
    def n_rows(self) -> int:
        return int(self.table.num_rows)

    def check(
        self, scorer: Scorer, *, carry: Sequence[str] = (), ignore_extra: bool = False
    ) -> Checked:
        known = set(scorer.inputs)
        extras = () if ignore_extra else [n for n in self.table.column_names if n not in carry]
        validated = scorer.validate(
            scorer_columns(self.table, scorer, lenient=self.lenient),
            n_rows=self.n_rows,
            lenient=self.lenient,
            extra_names=[n for n in extras if n not in known],
        )
        if not validated.errors:
            return Checked(validated, validated.accepted, [])
        return Checked(validated, validated.accepted, self.rejects(validated.errors_by_record()))

    def rejects(self, refused: Mapping[int, list[FieldError]]) -> list[Reject]:
        positions = sorted(refused)
        rows = self.table.take(pa.array(positions, type=pa.int64())).to_pylist()
        return [
            Reject(self.start + p, _shift(refused[p], self.start + p), row)
            for p, row in zip(positions, rows, strict=True)
        ]

    def objects(self) -> np.ndarray:
        return np.ones(self.n_rows, dtype=bool)

    def columns(self, names: Sequence[str]) -> dict[str, pa.Array]:
        present = self.table.column_names
        return {n: self.table.column(n).combine_chunks() for n in names if n in present}

    def joined(
        self, rows: np.ndarray | None, columns: Mapping[str, pa.Array], drop: Sequence[str]
    ) -> ArrowChunk:
        table = self.table if rows is None else self.table.take(pa.array(rows, type=pa.int64()))
        table = table.drop_columns([n for n in drop if n in table.column_names])
        for name, column in columns.items():
            if name in table.column_names:
                table = table.set_column(table.column_names.index(name), name, column)
            else:
                table = table.append_column(name, column)
        return ArrowChunk(table, self.start, self.lenient)

    def carried(self, names: Sequence[str], rows: np.ndarray) -> list[pa.ChunkedArray | pa.Array]:
        if not names:
            return []
        missing = [n for n in names if n not in self.table.column_names]
        if missing:
            raise BatchError(f"the input has no column {', '.join(map(repr, missing))} to carry")
        taken = self.table.select(list(names)).take(pa.array(rows, type=pa.int64()))
        return list(taken.columns)


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A line that is not JSON: why, and its text as read."""

    reason: str
    text: str


@dataclass(slots=True)
class RecordsChunk(Chunk):
    """Decoded JSON Lines values; an :class:`Unreadable` where a line is not JSON."""

    values: list[Any]
    start: int = 0
    lines: list[int] | None = None  # the 1-based line number of each value

    @property
    def n_rows(self) -> int:
        return len(self.values)

    def _line(self, position: int) -> int | None:
        return None if self.lines is None else self.lines[position]

    def check(
        self, scorer: Scorer, *, carry: Sequence[str] = (), ignore_extra: bool = False
    ) -> Checked:
        positions = [i for i, v in enumerate(self.values) if not isinstance(v, Unreadable)]
        decoded = [self.values[i] for i in positions]
        if scorer.contract.extra_fields is ExtraFieldPolicy.REJECT:
            if ignore_extra:
                decoded = [_pick(v, scorer.inputs) for v in decoded]
            elif carry:
                dropped = frozenset(carry) - frozenset(scorer.inputs)
                decoded = [_without(v, dropped) for v in decoded]
        validated = scorer.validate(decoded)
        where = np.asarray(positions, dtype=np.int64)
        accepted = where[validated.accepted]
        refused: dict[int, list[FieldError]] = {
            int(where[k]): v for k, v in validated.errors_by_record().items()
        }
        for i, value in enumerate(self.values):
            if isinstance(value, Unreadable):
                refused[i] = [FieldError(i, None, value.reason)]
        return Checked(validated, accepted, self.rejects(refused))

    def rejects(self, refused: Mapping[int, list[FieldError]]) -> list[Reject]:
        rejects = []
        for p in sorted(refused):
            value = self.values[p]
            row = value.text if isinstance(value, Unreadable) else value
            record = self.start + p
            rejects.append(Reject(record, _shift(refused[p], record), row, self._line(p)))
        return rejects

    def objects(self) -> np.ndarray:
        return np.fromiter((isinstance(v, dict) for v in self.values), bool, len(self.values))

    def columns(self, names: Sequence[str]) -> dict[str, pa.Array]:
        return {name: _json_column(self.values, name) for name in names}

    def joined(
        self, rows: np.ndarray | None, columns: Mapping[str, pa.Array], drop: Sequence[str]
    ) -> RecordsChunk:
        kept = list(range(len(self.values))) if rows is None else [int(i) for i in rows]
        added = {name: column.to_pylist() for name, column in columns.items()}
        dropped = frozenset(drop)
        values = []
        for i, position in enumerate(kept):
            value = self.values[position]
            if isinstance(value, dict):  # anything else is left for the validator to refuse
                value = {k: v for k, v in value.items() if k not in dropped}
                value.update({name: column[i] for name, column in added.items()})
            values.append(value)
        lines = None if self.lines is None else [self.lines[p] for p in kept]
        return RecordsChunk(values, self.start, lines)

    def carried(self, names: Sequence[str], rows: np.ndarray) -> list[pa.ChunkedArray | pa.Array]:
        arrays: list[pa.ChunkedArray | pa.Array] = []
        picked = [self.values[int(i)] for i in rows]
        for name in names:
            try:
                arrays.append(pa.array([v.get(name) for v in picked]))
            except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
                first, last = self.start + int(rows[0]), self.start + int(rows[-1])
                raise BatchError(
                    f"carried column {name!r} mixes JSON types within records {first} to {last} "
                    f"({exc}); a carried column keeps one type"
                ) from None
        return arrays


def _json_column(values: list[Any], name: str) -> pa.Array:
    """``name`` of every JSON object (null elsewhere); as text if the values mix types."""
    picked = [v.get(name) if isinstance(v, dict) else None for v in values]
    try:
        return pa.array(picked)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else str(v) for v in picked], type=pa.string())


def _pick(value: Any, fields: Sequence[str]) -> Any:
    if not isinstance(value, dict):
        return value
    return {name: value[name] for name in fields if name in value}


def _without(value: Any, dropped: frozenset[str]) -> Any:
    if not isinstance(value, dict) or dropped.isdisjoint(value):
        return value
    return {k: v for k, v in value.items() if k not in dropped}
