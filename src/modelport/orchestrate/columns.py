"""Feature-source rows for many entities at once, as Arrow columns (batch scoring).

The columnar counterpart of :func:`~modelport.orchestrate.assemble`: where ``assemble``
makes one dictionary per entity and refuses the whole call for one unknown entity,
:func:`fetch_columns` gives one Arrow array per input, a value per entity, and a mask of
the entities the source does not have, so that a batch can set those rows aside. Each
distinct key is fetched once, through :meth:`SqlSource.fetch` (one query per 500 keys for a
table source); no Python object is made per input row, only per distinct entity.

Keys are matched by value and type: a table source matches the rows it reads to the keys
asked for by the values the database returns, so ``"17"`` read from a CSV file never finds
customer ``17``. :func:`typed_keys` types a key column like the source's key column
(:meth:`SqlSource.key_types`) first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from modelport.errors import ModelportError
from modelport.orchestrate.sources import INTEGER_TEXT, SqlSource

__all__ = ["FetchedColumns", "fetch_columns", "typed_keys"]

_INTEGER_TEXT = f"^{INTEGER_TEXT.pattern}$"  # as entity_key reads one key


@dataclass(frozen=True, slots=True)
class FetchedColumns:
    """One source's inputs for a list of entities."""

    columns: dict[str, pa.Array]  # input name -> a value per entity (null where not found)
    found: np.ndarray  # bool per entity: the source has a row for it


def fetch_columns(
    source: SqlSource, keys: Mapping[str, pa.Array], fields: Mapping[str, str]
) -> FetchedColumns:
    """For every entity (a row of ``keys``, the source's key columns), the source row's
    ``fields`` (input name -> column of the source's row).

    An entity with a null key is not looked up, so not found. A source that is down raises
    :class:`~modelport.errors.FeatureSourceUnavailable`.
    """
    names = source.binding.keys
    arrays = [_plain(keys[name]) for name in names]
    n = len(arrays[0]) if arrays else 0
    present = np.ones(n, dtype=bool)
    for array in arrays:
        present &= array.is_valid().to_numpy(zero_copy_only=False)
    if len(arrays) == 1:
        wanted = [(value,) for value in pc.unique(arrays[0].drop_null()).to_pylist()]
    else:
        rows = list(zip(*(a.to_pylist() for a in arrays), strict=True))
        wanted = list(dict.fromkeys(r for r, ok in zip(rows, present, strict=True) if ok))
    fetched = source.fetch([dict(zip(names, key, strict=True)) for key in wanted]) if wanted else {}
    keys_found = list(fetched)
    _check_columns(source, fetched, fields)
    found_columns = {
        name: _column([fetched[key].get(column) for key in keys_found], source, column)
        for name, column in fields.items()
    }
    if len(arrays) == 1:
        value_set = pa.array([key[0] for key in keys_found], type=arrays[0].type)
        index = pc.index_in(arrays[0], value_set=value_set)
    else:
        position = {key: i for i, key in enumerate(keys_found)}
        index = pa.array([position.get(r) for r in rows], type=pa.int64())
    found = index.is_valid().to_numpy(zero_copy_only=False) & present
    columns = {name: column.take(index) for name, column in found_columns.items()}
    return FetchedColumns(columns, found)


def typed_keys(array: pa.Array | pa.ChunkedArray, kind: type | None) -> tuple[pa.Array, np.ndarray]:
    """``array`` typed like a source's key column of Python type ``kind`` (``int`` or
    ``str``; any other type, or ``None``, leaves it as it is), and a bool mask of the values
    that cannot be (``"abc"`` for an integer key): those become null.

    Text becomes an integer only when it is one (``" 17 "`` does, ``"17.5"`` and ``"1e3"``
    do not); a float only when it is whole.
    """
    array = _plain(array)
    if kind is int:
        typed = _as_integers(array)
    elif kind is str:
        typed = _as_text(array)
    else:
        return array, np.zeros(len(array), dtype=bool)
    lost = array.is_valid().to_numpy(zero_copy_only=False) & ~typed.is_valid().to_numpy(
        zero_copy_only=False
    )
    return typed, lost


def _as_integers(array: pa.Array) -> pa.Array:
    kind = array.type
    if pa.types.is_integer(kind):
        try:
            return array.cast(pa.int64())
        except pa.ArrowInvalid:  # uint64 beyond int64: no database key is that
            return pa.nulls(len(array), pa.int64())
    if pa.types.is_floating(kind):
        whole = pc.and_(pc.is_finite(array), pc.equal(pc.floor(array), array))
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
        array = pc.utf8_trim_whitespace(array)
        whole = pc.match_substring_regex(array, _INTEGER_TEXT)
    else:
        return pa.nulls(len(array), pa.int64())
    kept = pc.if_else(whole, array, pa.scalar(None, type=array.type))
    return kept.cast(pa.int64())


def _as_text(array: pa.Array) -> pa.Array:
    if pa.types.is_string(array.type):
        return array
    if pa.types.is_large_string(array.type) or pa.types.is_integer(array.type):
        return array.cast(pa.string())
    return pa.nulls(len(array), pa.string())


def _plain(array: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One contiguous array, dictionary-decoded."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    return array


def _check_columns(
    source: SqlSource, fetched: Mapping[Any, Mapping[str, Any]], fields: Mapping[str, str]
) -> None:
    """A column the spec names but the source's rows lack is a deployment mistake: say so
    rather than score every row with the input missing."""
    if not fetched:
        return
    row = next(iter(fetched.values()))
    absent = [column for column in fields.values() if column not in row]
    if absent:
        raise ModelportError(
            f"feature source {source.name!r} has no column {', '.join(map(repr, absent))} "
            f"(its rows have {', '.join(row)})"
        )


def _column(values: list[Any], source: SqlSource, column: str) -> pa.Array:
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise ModelportError(
            f"feature source {source.name!r}: column {column!r} mixes types ({exc})"
        ) from None
