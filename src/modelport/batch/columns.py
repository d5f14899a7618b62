"""Arrow columns into the numpy columns the validator takes, without a Python loop per row.

The validator (:mod:`modelport.contract.validate`) types numeric columns with whole-array
operations when they arrive as numbers, and one value at a time when they arrive as
Python objects. This module hands it numbers wherever that changes nothing about what is
accepted or refused:

* integer, floating and decimal columns for numeric fields become ``float64`` (null → NaN);
* boolean columns for boolean fields become ``float64`` 0/1 (null → NaN);
* in lenient mode (text sources such as CSV), a text column for a number or integer field
  is parsed by Arrow in one pass; only when some value does not parse as Arrow parses
  (``" 5"``, ``"abc"``, ``"nan"``) does the column go to the validator as text, so that
  the validator words the refusals;
* timestamps for date fields become dates, dictionary columns their plain values.

Everything else goes through as Python objects and the validator judges it, strictly or
leniently as asked.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from modelport.contract import Contract, FieldSpec, FieldType
from modelport.runtime import Scorer

__all__ = ["scorer_columns", "validator_columns"]


def validator_columns(
    table: pa.Table, contract: Contract, *, lenient: bool
) -> dict[str, np.ndarray]:
    """The columns of ``table`` that are fields of ``contract``, ready for ``validate_columns``.

    Fields the table lacks are left out (the validator treats them as absent).
    """
    present = set(table.column_names)
    columns: dict[str, np.ndarray] = {}
    for spec in contract.fields:
        if spec.name in present:
            columns[spec.name] = _prepare(spec, table.column(spec.name), lenient)
    return columns


def scorer_columns(table: pa.Table, scorer: Scorer, *, lenient: bool) -> dict[str, np.ndarray]:
    """What ``scorer.validate`` takes from ``table``: its field columns, prepared as
    :func:`validator_columns` prepares them, and the columns the pre-steps read (a date of
    birth), as they are."""
    columns = validator_columns(table, scorer.contract, lenient=lenient)
    present = set(table.column_names)
    for name in scorer.inputs:
        if name not in columns and name in present:
            columns[name] = table.column(name).to_numpy(zero_copy_only=False)
    return columns


def _prepare(spec: FieldSpec, column: pa.ChunkedArray, lenient: bool) -> np.ndarray:
    kind = column.type
    if pa.types.is_dictionary(kind):
        column = column.cast(kind.value_type)
        kind = column.type
    if spec.type.is_numeric:
        if _is_number(kind) or (spec.type is FieldType.BOOLEAN and pa.types.is_boolean(kind)):
            return _floats(column)
        if lenient and spec.type is not FieldType.BOOLEAN and _is_text(kind):
            parsed = _parse_numbers(column)
            if parsed is not None:
                return parsed
    elif spec.type is FieldType.DATE and (pa.types.is_timestamp(kind) or pa.types.is_date64(kind)):
        column = column.cast(pa.date32())
    return column.to_numpy(zero_copy_only=False)  # type: ignore[no-any-return]


def _is_number(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)
    )


def _is_text(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)
    )


def _floats(column: pa.ChunkedArray) -> np.ndarray:
    return column.cast(pa.float64()).to_numpy(zero_copy_only=False)  # type: ignore[no-any-return]


def _parse_numbers(column: pa.ChunkedArray) -> np.ndarray | None:
    """Text parsed as ``float64``, or ``None`` when the validator must look value by value.

    Arrow reads ``"nan"`` as NaN, which the typed path would take for a missing value while
    the validator refuses it as text ("must be a finite number"): such columns fall back.
    """
    try:
        values = _floats(column)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if int(np.count_nonzero(np.isnan(values))) != column.null_count:
        return None
    return values
