"""Score one chunk: rows in, an Arrow table of carried columns + predictions and the rejects out.

This is the unit every batch engine runs (the local file job today; process pools and
Dask partitions later): it holds no state between chunks and touches no files. Scoring by
entity, it first looks the chunk's entities up (:class:`~modelport.batch.entities.EntityLookup`,
which holds the open sources but nothing of earlier chunks).

The prediction columns are fixed per scorer (:func:`prediction_schema`), whatever the
chunk holds: ``label`` + ``proba_<class>`` or ``value``, then the decision and confidence
fields the package declares (``decision``, ``rule_index``, ``rule``, ``probability``,
``margin``, ``threshold``, ``lower``, ``upper``, as
:func:`~modelport.decisions.decide_columns` gives them).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from modelport.batch.chunks import ArrowChunk, Checked, Chunk, Reject
from modelport.batch.entities import EntityLookup
from modelport.errors import BatchError, FieldError
from modelport.runtime import Prediction, Scorer, Task
from modelport.runtime.scorer import InputSteps

__all__ = ["ScoredChunk", "prediction_schema", "score_chunk", "score_table"]


@dataclass(frozen=True, slots=True)
class ScoredChunk:
    """The accepted rows (carried columns, then predictions, in input order) and the rejects."""

    table: pa.Table
    rejects: list[Reject]
    n_rows: int  # rows that came in: ``table.num_rows + len(rejects)``
    start: int = 0  # the record number of the chunk's first row


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
    if scorer.decision_columns is not None:
        # which fields there are depends on the declaration and the task, never on the rows:
        # those of no rows at all are those of every chunk
        names = scorer.decision_columns(_no_rows(scorer))
        fields += [pa.field(name, _DECISION_TYPES.get(name, pa.float64())) for name in names]
    return pa.schema(fields)


def _no_rows(scorer: Scorer) -> Prediction:
    if scorer.task is Task.REGRESSION:
        return Prediction(scorer.task, scorer.classes, values=np.empty(0))
    n_classes = len(scorer.classes or [])
    return Prediction(
        scorer.task,
        scorer.classes,
        labels=np.empty(0, dtype=object),
        probabilities=np.empty((0, n_classes)),
    )


def _prediction_arrays(scorer: Scorer, prediction: Prediction, schema: pa.Schema) -> list[pa.Array]:
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
    if scorer.decision_columns is None:
        return arrays
    decided = scorer.decision_columns(prediction)
    wanted = schema.names[len(arrays) :]
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
    raw = chunk
    if scorer.pre_steps is not None:
        chunk = chunk.prepared(scorer.pre_steps, carry)
    checked = chunk.check(scorer.validator, carry=carry, ignore_extra=ignore_extra)
    if scorer.pre_steps is not None and checked.rejects:
        checked = _explained(scorer.pre_steps, raw, checked)
    prediction = scorer.score_validated(checked.validated)
    arrays = [
        *chunk.carried(carry, checked.accepted),
        *_prediction_arrays(scorer, prediction, schema),
    ]
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
    return ScoredChunk(table, rejects, whole.n_rows, whole.start)


def _explained(steps: InputSteps, raw: Chunk, checked: Checked) -> Checked:
    """Rejects restated on the columns the file holds, as online answers are: a date of
    birth that is not a date, not a missing age (:meth:`InputSteps.explain`)."""
    columns = raw.columns(steps.inputs)
    rejects = []
    for reject in checked.rejects:
        position = reject.record - raw.start
        record = {name: values[position].as_py() for name, values in columns.items()}
        errors = steps.explain([FieldError(0, e.field, e.reason) for e in reject.errors], [record])
        renumbered = [FieldError(reject.record, e.field, e.reason) for e in errors]
        rejects.append(dataclasses.replace(reject, errors=renumbered))
    return dataclasses.replace(checked, rejects=rejects)


def score_table(
    scorer: Scorer,
    table: pa.Table,
    *,
    start: int = 0,
    carry: Sequence[str] = (),
    lenient: bool = False,
    ignore_extra: bool = False,
    record_column: str | None = None,
    lookup: EntityLookup | None = None,
) -> ScoredChunk:
    """:func:`score_chunk` for an Arrow table whose first row is record ``start``."""
    return score_chunk(
        scorer,
        ArrowChunk(table, start=start, lenient=lenient),
        carry=carry,
        ignore_extra=ignore_extra,
        record_column=record_column,
        lookup=lookup,
    )
