"""The one validator: records or columns in, typed columns (or reasons) out.

HTTP, batch and the Python API all come through here, so a record refused in one
place is refused in every other, with the same words. The output columns are what
every runtime is fed:

* number, integer and boolean fields: ``float64`` arrays, ``NaN`` where missing;
* string and date fields: ``object`` arrays of ``str`` (dates in ISO form), ``None`` where missing.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from modelport.contract.expectations import (
    FieldWarning,
    categories_outside_expectations,
    numbers_outside_expectations,
)
from modelport.contract.fields import (
    Contract,
    ExtraFieldPolicy,
    FieldSpec,
    FieldType,
    UnknownCategoryPolicy,
)
from modelport.contract.records import RecordReader
from modelport.contract.words import describe, format_number, listed, outside_range, short
from modelport.errors import FieldError

__all__ = ["ABSENT", "Validated", "Validator", "format_number"]


class _Absent:
    """Marks a field a record did not send at all (as opposed to an explicit null)."""

    _instance: _Absent | None = None

    def __new__(cls) -> _Absent:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT = _Absent()

_TRUE_STRINGS = frozenset({"true", "1", "yes", "t", "y"})
_FALSE_STRINGS = frozenset({"false", "0", "no", "f", "n"})


@dataclass(slots=True)
class Validated:
    """The accepted rows as typed columns, and the reasons for the rest.

    ``warnings`` name values of accepted rows outside what the sample showed (they are
    scored); a refused row carries its errors, never warnings. Both index the input rows.
    """

    columns: dict[str, np.ndarray]
    accepted: np.ndarray
    errors: list[FieldError]
    n_rows: int
    warnings: list[FieldWarning] = field(default_factory=list)

    @property
    def n_accepted(self) -> int:
        return int(self.accepted.size)

    @property
    def rejected(self) -> list[int]:
        return sorted({e.record for e in self.errors if e.record is not None})

    def errors_by_record(self) -> dict[int, list[FieldError]]:
        grouped: dict[int, list[FieldError]] = {}
        for error in self.errors:
            grouped.setdefault(error.record if error.record is not None else -1, []).append(error)
        return grouped


@dataclass(slots=True)
class _ColumnResult:
    values: np.ndarray
    bad: dict[int, str] = field(default_factory=dict)  # row -> reason
    warned: dict[int, str] = field(default_factory=dict)  # row -> reason (scored anyway)


class Validator:
    """Compiled once per contract; validates records (JSON) or columns (files, frames)."""

    def __init__(self, contract: Contract) -> None:
        self.contract = contract
        self._names = contract.names
        self._known = frozenset(self._names)
        self._category_sets = {
            f.name: frozenset(f.categories) for f in contract.fields if f.categories is not None
        }
        self._readers = {
            enforce: RecordReader(contract, enforce_domain=enforce) for enforce in (True, False)
        }

    # -- entry points -------------------------------------------------------------------

    def validate_records(self, records: Sequence[Any], *, enforce_domain: bool = True) -> Validated:
        """Validate decoded JSON records (dicts). Types are strict: ``"5"`` is not a number."""
        n = len(records)
        columns = self._readers[enforce_domain].read(records)
        if columns is not None:  # every record plainly valid: the fast path said so
            return Validated(columns=columns, accepted=np.arange(n), errors=[], n_rows=n)
        return self._validate_each_record(records, enforce_domain)

    def _validate_each_record(self, records: Sequence[Any], enforce_domain: bool) -> Validated:
        """The general path: every value checked and every refusal worded."""
        n = len(records)
        errors: dict[int, list[FieldError]] = {}
        not_objects: set[int] = set()
        for index, record in enumerate(records):
            if not isinstance(record, dict):
                not_objects.add(index)
                reason = f"expected a JSON object, got {describe(record)}"
                errors[index] = [FieldError(index, None, reason)]
        if self.contract.extra_fields is ExtraFieldPolicy.REJECT:
            for index, record in enumerate(records):
                if isinstance(record, dict) and not self._known.issuperset(record):
                    extra = sorted(str(k) for k in record if k not in self._known)
                    errors.setdefault(index, []).extend(
                        FieldError(index, name, "is not a field of this model") for name in extra
                    )
        raw_columns: dict[str, np.ndarray] = {}
        for name in self._names:
            raw = np.empty(n, dtype=object)
            for index, record in enumerate(records):
                raw[index] = record.get(name, ABSENT) if isinstance(record, dict) else ABSENT
            raw_columns[name] = raw
        return self._finish(
            raw_columns, n, errors, lenient=False, enforce_domain=enforce_domain, skip=not_objects
        )

    def validate_columns(
        self,
        columns: Mapping[str, Any],
        n_rows: int,
        *,
        lenient: bool = False,
        enforce_domain: bool = True,
        extra_names: Sequence[str] = (),
    ) -> Validated:
        """Validate whole columns (numpy arrays, lists, pandas Series).

        ``lenient`` accepts numbers and booleans written as text, for text formats such as CSV.
        ``extra_names`` are the source's columns that are not fields (refused when the
        contract rejects extra fields).
        """
        errors: dict[int, list[FieldError]] = {}
        extras = [name for name in extra_names if name not in self._known]
        if extras and self.contract.extra_fields is ExtraFieldPolicy.REJECT:
            reason = "is not a field of this model"
            for index in range(n_rows):
                errors[index] = [FieldError(index, name, reason) for name in extras]
        prepared: dict[str, np.ndarray] = {}
        for name in self._names:
            if name in columns:
                prepared[name] = _as_array(columns[name], n_rows)
            else:
                prepared[name] = np.full(n_rows, ABSENT, dtype=object)
        return self._finish(
            prepared, n_rows, errors, lenient=lenient, enforce_domain=enforce_domain, skip=set()
        )

    # -- internals --------------------------------------------------------------------

    def _finish(
        self,
        raw: dict[str, np.ndarray],
        n: int,
        errors: dict[int, list[FieldError]],
        *,
        lenient: bool,
        enforce_domain: bool,
        skip: set[int],
    ) -> Validated:
        """Type every column; ``skip`` rows are already refused as a whole (not objects)."""
        typed: dict[str, np.ndarray] = {}
        warned: list[FieldWarning] = []
        for spec in self.contract.fields:
            result = self._check_column(spec, raw[spec.name], lenient, enforce_domain)
            typed[spec.name] = result.values
            for row, reason in result.bad.items():
                if row in skip:
                    continue
                errors.setdefault(row, []).append(FieldError(row, spec.name, reason))
            warned.extend(FieldWarning(row, spec.name, why) for row, why in result.warned.items())
        # A refused row carries its errors, not warnings; by row, then in field order.
        warnings = sorted(
            (w for w in warned if w.record not in errors and w.record not in skip),
            key=lambda w: w.record,
        )
        if errors:
            keep = np.ones(n, dtype=bool)
            keep[list(errors)] = False
            accepted = np.flatnonzero(keep)
            typed = {name: values[accepted] for name, values in typed.items()}
        else:
            accepted = np.arange(n)
        flat = [error for row in sorted(errors) for error in errors[row]]
        return Validated(columns=typed, accepted=accepted, errors=flat, n_rows=n, warnings=warnings)

    def _check_column(
        self, spec: FieldSpec, raw: np.ndarray, lenient: bool, enforce_domain: bool
    ) -> _ColumnResult:
        if spec.type.is_numeric:
            result = _numeric_column(spec, raw, lenient)
            if enforce_domain:
                _check_bounds(spec, result)
                result.warned = numbers_outside_expectations(spec, result.values, result.bad)
        elif spec.type is FieldType.STRING:
            result = _string_column(spec, raw)
            categories = self._category_sets.get(spec.name)
            policy = self.contract.unknown_categories
            if enforce_domain:
                if categories is not None and policy is UnknownCategoryPolicy.REJECT:
                    _check_categories(spec, result, categories)
                result.warned = categories_outside_expectations(
                    spec, result.values, policy, result.bad
                )
        else:
            result = _date_column(spec, raw)
        return result


def _as_array(values: Any, n_rows: int) -> np.ndarray:
    if hasattr(values, "to_numpy") and not isinstance(values, np.ndarray):
        try:
            values = values.to_numpy(zero_copy_only=False)  # pyarrow arrays
        except TypeError:
            values = values.to_numpy()  # pandas series
    if isinstance(values, list | tuple):
        # One Python object per row, as sent: np.asarray would coerce mixed values
        # ([1.5, True] to floats, [1, "a"] to text), flatten a column of equal-length
        # lists into more rows, and raise on ragged ones.
        array = np.empty(len(values), dtype=object)
        for index, item in enumerate(values):
            array[index] = item
    else:
        array = np.asarray(values)
    if array.shape != (n_rows,):
        array = array.reshape(-1)
    if array.dtype.kind in "USM":  # fixed-width text or datetimes: handle as Python objects
        array = array.astype(object)
    return array


def _missing_reason(value: Any) -> str:
    return "is required" if value is ABSENT else "is required and must not be null"


def _is_missing(value: Any) -> bool:
    """Absent, null, NaN and the empty string all mean "no value"."""
    return (
        value is None
        or value is ABSENT
        or value is pd.NA
        or value is pd.NaT
        or (isinstance(value, float) and math.isnan(value))
        or (isinstance(value, str) and value == "")
    )


# -- numbers ---------------------------------------------------------------------------


def _numeric_column(spec: FieldSpec, raw: np.ndarray, lenient: bool) -> _ColumnResult:
    if raw.dtype.kind in "fiub":
        return _typed_numeric_column(spec, raw)
    if spec.type is FieldType.BOOLEAN:
        convert = _boolean_converter(lenient)
    else:
        convert = _number_converter(spec, lenient)
    return _convert_each(spec, raw, convert, np.float64, math.nan)


def _convert_each(
    spec: FieldSpec,
    raw: np.ndarray,
    convert: Callable[[Any], Any],
    dtype: Any,
    missing_value: Any,
) -> _ColumnResult:
    """Untyped columns (JSON records, text): one value at a time through ``convert``."""
    n = raw.shape[0]
    values = np.empty(n, dtype=dtype)
    result = _ColumnResult(values)
    missing = np.zeros(n, dtype=bool)
    for row in range(n):
        value = raw[row]
        if _is_missing(value):
            missing[row] = True
            values[row] = missing_value
            continue
        try:
            values[row] = convert(value)
        except _Refused as refused:
            result.bad[row] = str(refused)
            values[row] = missing_value
    _fill_missing(spec, result, missing, raw)
    return result


def _typed_numeric_column(spec: FieldSpec, raw: np.ndarray) -> _ColumnResult:
    """Typed columns (Parquet, pandas): vectorised; only the odd values get a look."""
    values = raw.astype(np.float64)
    result = _ColumnResult(values)
    bad: list[tuple[np.ndarray, str]] = [(np.isinf(values), "must be a finite number")]
    if spec.type is not FieldType.BOOLEAN and raw.dtype.kind == "b":
        kind = "an integer" if spec.type is FieldType.INTEGER else "a number"
        bad.append((~np.isnan(values), f"expected {kind}, got a boolean"))
    if spec.type is FieldType.BOOLEAN and raw.dtype.kind != "b":
        bad.append((~np.isin(values, (0.0, 1.0)) & ~np.isnan(values), "expected a boolean, got {}"))
    if spec.type is FieldType.INTEGER and raw.dtype.kind == "f":
        fractional = np.isfinite(values) & (values != np.round(values))
        bad.append((fractional, "expected an integer, got {}"))
    for mask, reason in bad:
        for index in np.flatnonzero(mask):
            result.bad[int(index)] = reason.format(format_number(values[index]))
    _fill_missing(spec, result, np.isnan(values))
    return result


class _Refused(Exception):
    pass


def _number_converter(spec: FieldSpec, lenient: bool) -> Callable[[Any], float]:
    integer = spec.type is FieldType.INTEGER
    expected = "an integer" if integer else "a number"

    def convert(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float | np.number):
            # Lenient text: plain decimal notation only ("1_000" is Python's, not data's).
            if lenient and isinstance(value, str) and "_" not in value:
                try:
                    number = float(value.strip())
                except ValueError:
                    raise _Refused(f"expected {expected}, got {describe(value)}") from None
            else:
                raise _Refused(f"expected {expected}, got {describe(value)}")
        else:
            try:
                number = float(value)
            except OverflowError:  # an integer beyond float range
                raise _Refused("must be a finite number") from None
        if not math.isfinite(number):
            raise _Refused("must be a finite number")
        if integer and number != int(number):
            raise _Refused(f"expected an integer, got {format_number(number)}")
        return number

    return convert


def _boolean_converter(lenient: bool) -> Callable[[Any], float]:
    def convert(value: Any) -> float:
        if isinstance(value, bool | np.bool_):
            return 1.0 if value else 0.0
        if lenient and isinstance(value, str):
            text = value.strip().lower()
            if text in _TRUE_STRINGS:
                return 1.0
            if text in _FALSE_STRINGS:
                return 0.0
        raise _Refused(f"expected a boolean, got {describe(value)}")

    return convert


def _fill_missing(
    spec: FieldSpec, result: _ColumnResult, missing: np.ndarray, raw: np.ndarray | None = None
) -> None:
    """Refuse missing values of a required field; fill an optional field's default."""
    if not missing.any():
        return
    if spec.required:
        for index in np.flatnonzero(missing):
            value = raw[index] if raw is not None else None
            result.bad.setdefault(int(index), _missing_reason(value))
    elif spec.default is not None:
        default = spec.default
        result.values[missing] = float(default) if spec.type.is_numeric else str(default)


def _check_bounds(spec: FieldSpec, result: _ColumnResult) -> None:
    outside = outside_range(result.values, spec.minimum, spec.maximum, "minimum")
    for row, reason in outside.items():
        result.bad.setdefault(row, reason)


# -- strings and dates -----------------------------------------------------------------


def _string_column(spec: FieldSpec, raw: np.ndarray) -> _ColumnResult:
    return _convert_each(spec, raw, _as_string, object, None)


def _as_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise _Refused(f"expected a string, got {describe(value)}")


def _check_categories(spec: FieldSpec, result: _ColumnResult, categories: frozenset[str]) -> None:
    allowed = listed(spec.categories or [])
    for row, value in enumerate(result.values):
        if value is not None and value not in categories and row not in result.bad:
            result.bad[row] = f"{short(value)} is not one of the known categories ({allowed})"


def _date_column(spec: FieldSpec, raw: np.ndarray) -> _ColumnResult:
    return _convert_each(spec, raw, _as_iso_date, object, None)


def _as_iso_date(value: Any) -> str:
    if isinstance(value, dt.datetime | np.datetime64):
        return _to_date(value).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()[:10]).isoformat()
        except ValueError:
            pass
    raise _Refused(f"expected a date as YYYY-MM-DD, got {describe(value)}")


def _to_date(value: Any) -> dt.date:
    if isinstance(value, np.datetime64):
        value = value.astype("datetime64[D]").astype(dt.date)
    if isinstance(value, dt.datetime):
        return value.date()
    return value  # type: ignore[no-any-return]
