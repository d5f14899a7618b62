"""Parquet inputs split into partitions that workers read themselves.

A partition is consecutive whole row groups of the file, about ``chunk_rows`` rows, with
the record number of its first row (from the row groups' counts in the footer). The main
process reads only the footer; each worker process (or Dask worker) reads and scores its
partitions, so the rows never pass through the main process on their way in: it only
writes what comes back, in input order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from modelport.batch.chunks import ArrowChunk, Chunk, Reject
from modelport.batch.score import ScoredChunk
from modelport.errors import BatchError

__all__ = ["Partition", "Work", "plan_partitions", "score_partition", "score_work"]


@dataclass(frozen=True, slots=True)
class Partition:
    """Consecutive whole row groups of a Parquet file; ``start``: its first record number."""

    path: str
    row_groups: tuple[int, ...]
    start: int
    n_rows: int


Work = Chunk | Partition
"""What an engine scores: rows read by the main process, or a partition a worker reads."""


def score_work(
    score: Callable[[Chunk], ScoredChunk],
    work: Work,
    columns: Sequence[str] | None,
    chunk_rows: int,
) -> ScoredChunk:
    """A chunk scored, or a partition read here and scored."""
    if isinstance(work, Partition):
        return score_partition(score, work, columns, chunk_rows)
    return score(work)


def plan_partitions(path: str | Path, chunk_rows: int) -> Iterator[Partition]:
    """Whole row groups, grouped up to about ``chunk_rows`` rows (a larger group alone)."""
    where = str(Path(path).absolute())
    try:
        with pq.ParquetFile(where) as file:
            metadata = file.metadata
    except (pa.ArrowException, OSError) as exc:
        raise BatchError(f"cannot read {path} as Parquet: {exc}") from None
    group: list[int] = []
    start = rows = 0
    for index in range(metadata.num_row_groups):
        size = metadata.row_group(index).num_rows
        if group and rows + size > chunk_rows:
            yield Partition(where, tuple(group), start, rows)
            group, start, rows = [], start + rows, 0
        if size:  # an empty row group has nothing to score
            group.append(index)
            rows += size
    if group:
        yield Partition(where, tuple(group), start, rows)


def score_partition(
    score: Callable[[Chunk], ScoredChunk],
    part: Partition,
    columns: Sequence[str] | None,
    chunk_rows: int,
) -> ScoredChunk:
    """Read the partition's row groups here and ``score`` them ``chunk_rows`` rows at a
    time: one result for the whole partition."""
    tables: list[pa.Table] = []
    rejects: list[Reject] = []
    start = part.start
    for batch in _batches(part, columns, chunk_rows):
        result = score(ArrowChunk(pa.Table.from_batches([batch]), start, False))
        tables.append(result.table)
        rejects += result.rejects
        start += result.n_rows
    if start - part.start != part.n_rows:
        raise BatchError(
            f"{part.path} changed while it was scored: {start - part.start} rows read where "
            f"its footer said {part.n_rows}"
        )
    table = pa.concat_tables(tables) if len(tables) != 1 else tables[0]
    return ScoredChunk(table, rejects, part.n_rows, part.start)


def _batches(
    part: Partition, columns: Sequence[str] | None, chunk_rows: int
) -> Iterator[pa.RecordBatch]:
    try:
        with pq.ParquetFile(part.path) as file:
            yield from file.iter_batches(
                chunk_rows,
                list(part.row_groups),
                list(columns) if columns is not None else None,
                use_pandas_metadata=False,
            )
    except (pa.ArrowException, OSError) as exc:
        raise BatchError(
            f"a worker cannot read {part.path} ({' '.join(str(exc).split())}); the input "
            "must be reachable at the same path from every worker"
        ) from None
