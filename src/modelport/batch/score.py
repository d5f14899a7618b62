"""Score one chunk: rows in, an Arrow table of carried columns + predictions and the rejects out.

This is the unit every batch engine runs (the single process, the local process pool and
Dask workers): it holds no state between chunks and touches no files. Scoring by
entity, it first looks the chunk's entities up (:class:`~modelport.batch.entities.EntityLookup`,
which holds the open sources but nothing of earlier chunks).

The prediction columns are fixed per scorer (:func:`prediction_schema`), whatever the
chunk holds: ``label`` + ``proba_<class>`` or ``value``, then the decision and confidence
fields the package declares (``decision``, ``rule_index``, ``rule``, ``probability``,
``margin``, ``threshold``, ``lower``, ``upper``, as
:func:`~modelport.decisions.decide_columns` gives them).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from modelport.batch.chunks import Chunk, Reject
from modelport.batch.entities import EntityLookup
from modelport.errors import BatchError
from modelport.runtime import Scored, Scorer, Task

__all__ = ["ScoredChunk", "prediction_schema", "score_chunk"]


@dataclass(frozen=True, slots=True)
class ScoredChunk:
    """The accepted rows (carried columns, then predictions, in input order) and the rejects."""

    table: pa.Table
    rejects: list[Reject]
    n_rows: int  # rows that came in: ``table.num_rows + len(rejects)``
    start: int = 0  # the record number of the chunk's first row
    # scored rows with a value outside the contract's expected ranges: how many, and per field
    outside_expected: int = 0
    outside_expected_fields: dict[str, int] = field(default_factory=dict)


# decide_columns' text and integer columns; every other decision field is a float64
_DECISION_TYPES = {"decision": pa.string(), "rule_index": pa.int64(), "rule": pa.string()}


def prediction_schema(scorer: Scorer) -> pa.Schema:
    """The prediction columns a scorer yields: ``label`` + ``proba_<class>``, or ``value``,
    then the package's decision and confidence fields, if it declares any."""
    if scorer.task is Task.REGRESSION:
        fields = [pa.field("value", pa.float64())]
    else:
        classes = list(scorer.classes or [])
        try:
            label_type = pa.array(classes).type if classes else pa.string()
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            label_type = pa.string()
        if pa.types.is_null(label_type):
            label_type = pa.string()
        fields = [pa.field("label", label_type)]
        fields += [pa.field(f"proba_{c}", pa.float64()) for c in classes]
    fields += [
        pa.field(name, _DECISION_TYPES.get(name, pa.float64())) for name in scorer.decision_fields
    ]
    return pa.schema(fields)


def _prediction_arrays(scored: Scored, schema: pa.Schema) -> list[pa.Array]:
    prediction = scored.prediction
    if prediction.task is Task.REGRESSION:
        arrays = [pa.array(np.asarray(prediction.values, dtype=np.float64))]
    else:
        if prediction.labels is None or prediction.probabilities is None:
            raise BatchError("the scorer returned no labels or probabilities")
        labels = pa.array(prediction.labels, from_pandas=True)
        label_type = schema.field("label").type
        if labels.type != label_type:
            labels = labels.cast(label_type)
        probabilities = np.asarray(prediction.probabilities, dtype=np.float64)
        arrays = [labels, *(pa.array(probabilities[:, i]) for i in range(probabilities.shape[1]))]
    wanted = schema.names[len(arrays) :]
    if not wanted:
        return arrays
    decided = scored.decision_columns()
    if list(decided) != wanted:
        raise BatchError(f"the decision fields are {list(decided)}, not {wanted} as declared")
    # from_pandas: NaN (a row with no margin) is a missing value, as null is in JSON answers
    arrays += [
        pa.array(np.asarray(decided[name]), type=schema.field(name).type, from_pandas=True)
        for name in wanted
    ]
    return arrays


def score_chunk(
    scorer: Scorer,
    chunk: Chunk,
    *,
    carry: Sequence[str] = (),
    ignore_extra: bool = False,
    record_column: str | None = None,
    schema: pa.Schema | None = None,
    lookup: EntityLookup | None = None,
) -> ScoredChunk:
    """Validate ``chunk``, score the rows that pass, and keep the others as rejects.

    The table holds ``record_column`` (each row's record number) if named, the ``carry``
    columns, then the predictions. ``schema`` is :func:`prediction_schema` of ``scorer``
    (computed when not given). With ``lookup``, the chunk holds entity keys: their sourced
    inputs are looked up first, and entities the sources do not have are rejects.
    """
    schema = schema or prediction_schema(scorer)
    whole = chunk
    enriched = lookup(chunk, carry) if lookup is not None else None
    if enriched is not None:
        chunk = enriched.chunk
    checked = chunk.check(scorer, carry=carry, ignore_extra=ignore_extra)
    scored = scorer.score(checked.validated)
    arrays = [*chunk.carried(carry, checked.accepted), *_prediction_arrays(scored, schema)]
    names = [*carry, *schema.names]
    accepted, rejects = checked.accepted, checked.rejects
    if enriched is not None:
        accepted, rejects = enriched.renumbered(accepted, rejects)
    if record_column is not None:
        arrays.insert(0, pa.array(accepted + whole.start, type=pa.int64()))
        names.insert(0, record_column)
    table = pa.Table.from_arrays(arrays, names=names)
    if table.num_rows + len(rejects) != whole.n_rows:
        raise BatchError(
            f"records {whole.start} to {whole.start + whole.n_rows - 1}: {whole.n_rows} rows in, "
            f"but {table.num_rows} scored and {len(rejects)} rejected"
        )
    warnings = checked.validated.warnings
    fields = Counter(w.field for w in warnings)
    return ScoredChunk(
        table,
        rejects,
        whole.n_rows,
        whole.start,
        outside_expected=len({w.record for w in warnings}),
        outside_expected_fields=dict(fields),
    )
