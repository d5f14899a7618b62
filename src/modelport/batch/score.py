"""Score one chunk: rows in, an Arrow table of carried columns + predictions and the rejects out.

This is the unit every batch engine runs (the local file job today; process pools and
Dask partitions later): it holds no state between chunks and touches no files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from modelport.batch.chunks import ArrowChunk, Chunk, Reject
from modelport.errors import BatchError
from modelport.runtime import Prediction, Scorer, Task

__all__ = ["ScoredChunk", "prediction_schema", "score_chunk", "score_table"]


@dataclass(frozen=True, slots=True)
class ScoredChunk:
    """The accepted rows (carried columns, then predictions, in input order) and the rejects."""

    table: pa.Table
    rejects: list[Reject]
    n_rows: int  # rows that came in: ``table.num_rows + len(rejects)``


def prediction_schema(scorer: Scorer) -> pa.Schema:
    """The prediction columns a scorer yields: ``label`` + ``proba_<class>``, or ``value``."""
    if scorer.task is Task.REGRESSION:
        return pa.schema([("value", pa.float64())])
    classes = list(scorer.classes or [])
    try:
        label_type = pa.array(classes).type if classes else pa.string()
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        label_type = pa.string()
    if pa.types.is_null(label_type):
        label_type = pa.string()
    return pa.schema([("label", label_type), *((f"proba_{c}", pa.float64()) for c in classes)])


def _prediction_arrays(prediction: Prediction, schema: pa.Schema) -> list[pa.Array]:
    if prediction.task is Task.REGRESSION:
        return [pa.array(np.asarray(prediction.values, dtype=np.float64))]
    if prediction.labels is None or prediction.probabilities is None:
        raise BatchError("the scorer returned no labels or probabilities")
    labels = pa.array(prediction.labels, from_pandas=True)
    label_type = schema.field("label").type
    if labels.type != label_type:
        labels = labels.cast(label_type)
    probabilities = np.asarray(prediction.probabilities, dtype=np.float64)
    return [labels, *(pa.array(probabilities[:, i]) for i in range(probabilities.shape[1]))]


def score_chunk(
    scorer: Scorer,
    chunk: Chunk,
    *,
    carry: Sequence[str] = (),
    ignore_extra: bool = False,
    record_column: str | None = None,
    schema: pa.Schema | None = None,
) -> ScoredChunk:
    """Validate ``chunk``, score the rows that pass, and keep the others as rejects.

    The table holds ``record_column`` (each row's record number) if named, the ``carry``
    columns, then the predictions. ``schema`` is :func:`prediction_schema` of ``scorer``
    (computed when not given).
    """
    schema = schema or prediction_schema(scorer)
    if scorer.pre_steps is not None:
        chunk = chunk.prepared(scorer.pre_steps, carry)
    checked = chunk.check(scorer.validator, carry=carry, ignore_extra=ignore_extra)
    prediction = scorer.score_validated(checked.validated)
    arrays = [*chunk.carried(carry, checked.accepted), *_prediction_arrays(prediction, schema)]
    names = [*carry, *schema.names]
    if record_column is not None:
        arrays.insert(0, pa.array(checked.accepted + chunk.start, type=pa.int64()))
        names.insert(0, record_column)
    table = pa.Table.from_arrays(arrays, names=names)
    if table.num_rows + len(checked.rejects) != chunk.n_rows:
        raise BatchError(
            f"records {chunk.start} to {chunk.start + chunk.n_rows - 1}: {chunk.n_rows} rows in, "
            f"but {table.num_rows} scored and {len(checked.rejects)} rejected"
        )
    return ScoredChunk(table, checked.rejects, chunk.n_rows)


def score_table(
    scorer: Scorer,
    table: pa.Table,
    *,
    start: int = 0,
    carry: Sequence[str] = (),
    lenient: bool = False,
    ignore_extra: bool = False,
    record_column: str | None = None,
) -> ScoredChunk:
    """:func:`score_chunk` for an Arrow table whose first row is record ``start``."""
    return score_chunk(
        scorer,
        ArrowChunk(table, start=start, lenient=lenient),
        carry=carry,
        ignore_extra=ignore_extra,
        record_column=record_column,
    )
