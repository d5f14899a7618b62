"""Infer a contract from sample rows; the caller overrides what the sample cannot know.

What the sample *proves* about the domain becomes a hard limit: the type, integer-ness,
the sign of a number never negative in the sample (a hard minimum of 0), and the
categories of a field whose model refuses unseen ones. What it merely *shows* becomes an
expectation, scored with a warning when broken: the observed range of a number (widened
by :data:`BOUNDS_MARGIN`), and the categories of a field whose model scores unseen ones.
See ``docs/contract.md``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from modelport.contract.fields import (
    Contract,
    ExtraFieldPolicy,
    FieldSpec,
    FieldType,
    UnknownCategoryPolicy,
)

__all__ = ["BOUNDS_MARGIN", "MAX_CATEGORIES", "ModelCategories", "infer_contract"]

BOUNDS_MARGIN = 0.10  # expected range: the observed one widened by this share of its span
# on each side (never below zero for a field observed only non-negative)
MAX_CATEGORIES = 50  # the most distinct sample values a string field lists as categories


@dataclass(frozen=True, slots=True)
class ModelCategories:
    """What the model does with a string field's values, as the packager found out.

    ``scores_unseen``: every encoder the field reaches scores a value it never saw
    (``OneHotEncoder(handle_unknown="ignore")``...), so an unseen value is an expectation
    broken, not a refusal. ``known``: the values those encoders learned, when any were found.
    """

    scores_unseen: bool
    known: Sequence[str] | None = None


def infer_contract(
    sample: pd.DataFrame,
    *,
    columns: list[str] | None = None,
    overrides: Mapping[str, Mapping[str, Any] | FieldSpec] | None = None,
    unknown_categories: UnknownCategoryPolicy | str = UnknownCategoryPolicy.REJECT,
    extra_fields: ExtraFieldPolicy | str = ExtraFieldPolicy.REJECT,
    max_categories: int = MAX_CATEGORIES,
    model_categories: Mapping[str, ModelCategories] | None = None,
) -> Contract:
    """Describe every column of ``sample`` (or just ``columns``) as a field.

    ``overrides`` maps a field name to a whole :class:`FieldSpec` or to the attributes to
    change, e.g. ``{"age": {"minimum": 18, "maximum": 100}}``; a declared bound (or
    category list) replaces the expectation on its side.

    ``model_categories`` says what the model does with each string field's unseen values.
    A field it does not name is closed: its categories are hard, as nothing shows that
    the model would score a value it never saw.
    """
    names = list(columns) if columns is not None else [str(c) for c in sample.columns]
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(names))
    if unknown:
        raise ValueError(f"overrides name fields the sample does not have: {', '.join(unknown)}")
    fields = []
    for name in names:
        override = overrides.get(name)
        if isinstance(override, FieldSpec):
            fields.append(override)
            continue
        knowledge = (model_categories or {}).get(name)
        inferred = _infer_field(name, sample[name], max_categories, knowledge)
        if override:
            inferred = _overridden(inferred, override)
        fields.append(inferred)
    return Contract(
        fields=fields,
        unknown_categories=UnknownCategoryPolicy(unknown_categories),
        extra_fields=ExtraFieldPolicy(extra_fields),
    )


def _overridden(inferred: FieldSpec, override: Mapping[str, Any]) -> FieldSpec:
    data = inferred.model_dump()
    data.update(override)
    if data.get("default") is not None and "required" not in override:
        data["required"] = False
    # A declared bound or category list is the real one: the sample's guess on that
    # side goes (a declared None lifts the hard limit and keeps the expectation).
    for hard, expected in _DECLARED_REPLACES.items():
        if override.get(hard) is not None and expected not in override:
            data[expected] = None
    return FieldSpec.model_validate(data)


_DECLARED_REPLACES = {
    "minimum": "expected_minimum",
    "maximum": "expected_maximum",
    "categories": "expected_categories",
}


def _infer_field(
    name: str, column: pd.Series, max_categories: int, knowledge: ModelCategories | None
) -> FieldSpec:
    field_type = _infer_type(column)
    required = not bool(column.isna().any())
    spec: dict[str, Any] = {"name": name, "type": field_type, "required": required}
    present = column.dropna()
    if field_type in (FieldType.NUMBER, FieldType.INTEGER) and len(present):
        low, high = float(present.min()), float(present.max())
        expected = _widen(low, high, field_type is FieldType.INTEGER)
        spec["expected_minimum"], spec["expected_maximum"] = expected
        if low >= 0:
            spec["minimum"] = 0.0  # proven by the sample: amounts and counts stay non-negative
    elif field_type is FieldType.STRING:
        spec.update(_categories(present, max_categories, knowledge))
    return FieldSpec.model_validate(spec)


def _categories(
    present: pd.Series, max_categories: int, knowledge: ModelCategories | None
) -> dict[str, list[str]]:
    """Hard categories when the model refuses unseen values, expected ones when it scores them.

    Hard: exactly what the model's encoders learned (a value the sample happened to miss is
    not refused), or the sample's values when no encoder was found. Expected: what the
    encoders learned, else the sample's values; left out when there are too many to list.
    """
    distinct = sorted({str(v) for v in pd.unique(present)}) if len(present) else []
    seen = distinct if 0 < len(distinct) <= max_categories else None
    known = sorted(knowledge.known) if knowledge and knowledge.known is not None else None
    if knowledge is not None and knowledge.scores_unseen:
        expected = known if known is not None else seen
        if expected is None or len(expected) > max_categories:
            return {}
        return {"expected_categories": expected}
    closed = known if known is not None else seen
    return {} if closed is None else {"categories": closed}


def _infer_type(column: pd.Series) -> FieldType:
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return FieldType.BOOLEAN
    if pd.api.types.is_integer_dtype(dtype):
        return FieldType.INTEGER
    if pd.api.types.is_float_dtype(dtype):
        return FieldType.NUMBER
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return FieldType.DATE
    present = column.dropna()
    if len(present) and all(isinstance(v, bool | np.bool_) for v in present):
        return FieldType.BOOLEAN
    return FieldType.STRING


def _widen(low: float, high: float, integer: bool) -> tuple[float, float]:
    span = high - low
    margin = BOUNDS_MARGIN * span if span > 0 else max(abs(low) * BOUNDS_MARGIN, 1.0)
    lower, upper = _round_out(low - margin, math.floor), _round_out(high + margin, math.ceil)
    if low >= 0 > lower:
        lower = 0.0  # quantities never seen negative (amounts, counts) stay non-negative
    if integer:
        lower, upper = float(math.floor(lower)), float(math.ceil(upper))
    return lower, upper


def _round_out(value: float, direction: Any) -> float:
    """Round to 4 significant digits, away from the observed range."""
    if value == 0 or not math.isfinite(value):
        return value
    exponent = math.floor(math.log10(abs(value))) - 3
    scale = 10.0**exponent
    return float(round(direction(value / scale) * scale, max(0, -exponent)))
