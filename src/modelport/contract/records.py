"""The fast path for JSON records: valid records straight to typed columns.

Nearly every record a service receives is valid, so the common case should cost a few
dictionary lookups per field, not the general validator's column-by-column pass with
its reasons. :class:`RecordReader` is compiled once per contract: one small converter
per field that accepts only what is plainly valid (a JSON number inside the bounds and
the expected range, a known and expected category, ``null`` for an optional field...) and
gives up on anything else, a value that only deserves a warning included.
When it gives up, the caller runs the general validator, which decides and explains;
the reader never refuses anything itself, so there is one source of truth for what
is valid and how a refusal is worded. A property test holds the two to the same
answers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from modelport.contract.expectations import unwarned_categories, unwarned_range
from modelport.contract.fields import Contract, ExtraFieldPolicy, FieldSpec, FieldType

__all__ = ["RecordReader"]

Converter = Callable[[Any], Any]


class _GiveUp(Exception):
    """This value needs the general validator (it may be invalid, or just unusual)."""


class RecordReader:
    """Typed columns for records that are plainly valid, else ``None``."""

    def __init__(self, contract: Contract, *, enforce_domain: bool = True) -> None:
        self._names = contract.names
        self._known = frozenset(self._names)
        self._reject_extra = contract.extra_fields is ExtraFieldPolicy.REJECT
        self._fields = [
            (spec.name, _converter(spec, enforce_domain), spec.type.is_numeric)
            for spec in contract.fields
        ]

    def read(self, records: Sequence[Any]) -> dict[str, np.ndarray] | None:
        """The columns the general validator would produce, or ``None`` to ask it instead."""
        values: list[list[Any]] = [[] for _ in self._fields]
        known = self._known
        fields = list(zip(self._fields, values, strict=True))
        try:
            for record in records:
                if type(record) is not dict or (
                    self._reject_extra and not known.issuperset(record)
                ):
                    return None
                get = record.get
                for (name, convert, _), column in fields:
                    column.append(convert(get(name, _ABSENT)))
        except (_GiveUp, OverflowError):
            return None
        return {
            name: np.array(column, dtype=np.float64 if numeric else object)
            for (name, _, numeric), column in fields
        }


_ABSENT = object()  # a field the record does not have; the general validator words it


def _converter(spec: FieldSpec, enforce_domain: bool) -> Converter:
    if spec.type is FieldType.BOOLEAN:
        convert = _boolean()
    elif spec.type.is_numeric:
        convert = _number(spec, enforce_domain)
    elif spec.type is FieldType.STRING:
        # A category outside the list is refused (unknown_categories=reject) or warned
        # about (allow, or an expected list): either way the general validator words it.
        convert = _string(unwarned_categories(spec) if enforce_domain else None)
    else:
        convert = _date()
    return _with_missing(spec, convert, _default_outside_domain(spec, convert))


def _default_outside_domain(spec: FieldSpec, convert: Converter) -> bool:
    """A default the field's own checks would refuse or warn about (the general validator
    words it)."""
    if spec.default is None or spec.type in (FieldType.DATE, FieldType.BOOLEAN):
        return False  # no bounds or categories to break
    default = float(spec.default) if spec.type.is_numeric else str(spec.default)
    try:
        convert(default)
    except _GiveUp:
        return True
    return False


def _with_missing(spec: FieldSpec, convert: Converter, give_up_when_missing: bool) -> Converter:
    """Absent or null: the default or the missing marker, or give up when required."""
    if spec.default is not None:
        missing: Any = float(spec.default) if spec.type.is_numeric else str(spec.default)
    else:
        missing = np.nan if spec.type.is_numeric else None
    required = spec.required or give_up_when_missing

    def read(value: Any) -> Any:
        if value is None or value is _ABSENT:
            if required:
                raise _GiveUp
            return missing
        result = convert(value)
        if result is _MISSING:
            if required:
                raise _GiveUp
            return missing
        return result

    return read


_MISSING = object()  # a present value that means "no value": NaN, or "" for text


def _number(spec: FieldSpec, enforce_domain: bool) -> Converter:
    integer = spec.type is FieldType.INTEGER
    # The tighter of the hard and the expected bound: still two comparisons per value.
    low, high = unwarned_range(spec) if enforce_domain else (None, None)

    def convert(value: Any) -> Any:
        kind = type(value)
        if kind is float:
            if value != value:  # NaN: missing
                return _MISSING
            if value - value != 0.0 or (integer and not value.is_integer()):
                raise _GiveUp  # infinite, or a fraction for an integer field
            number = value
        elif kind is int:
            number = float(value)  # OverflowError beyond float range: the caller gives up
        else:
            raise _GiveUp
        if (low is not None and number < low) or (high is not None and number > high):
            raise _GiveUp
        return number

    return convert


def _boolean() -> Converter:
    def convert(value: Any) -> Any:
        if value is True:
            return 1.0
        if value is False:
            return 0.0
        if type(value) is float and value != value:
            return _MISSING
        raise _GiveUp

    return convert


def _string(categories: frozenset[str] | None) -> Converter:
    def convert(value: Any) -> Any:
        if type(value) is str:
            if not value:
                return _MISSING
            if categories is not None and value not in categories:
                raise _GiveUp
            return value
        if type(value) is float and value != value:
            return _MISSING
        raise _GiveUp

    return convert


def _date() -> Converter:
    def convert(value: Any) -> Any:
        if type(value) is str:
            if not value:
                return _MISSING
            try:
                return dt.date.fromisoformat(value.strip()[:10]).isoformat()
            except ValueError:
                raise _GiveUp from None
        if type(value) is float and value != value:
            return _MISSING
        raise _GiveUp

    return convert
