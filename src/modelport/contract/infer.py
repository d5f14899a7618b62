"""Infer a contract from sample rows; the caller overrides what the sample cannot know."""

from __future__ import annotations

import math
from collections.abc import Mapping
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

__all__ = ["BOUNDS_MARGIN", "MAX_CATEGORIES", "infer_contract"]

BOUNDS_MARGIN = 0.10  # observed range widened by this share of the span on each side
# (never below zero for a field observed only non-negative)
MAX_CATEGORIES = 50  # string fields with at most this many distinct values get a category list


def infer_contract(
    sample: pd.DataFrame,
    *,
    columns: list[str] | None = None,
    overrides: Mapping[str, Mapping[str, Any] | FieldSpec] | None = None,
    unknown_categories: UnknownCategoryPolicy | str = UnknownCategoryPolicy.REJECT,
    extra_fields: ExtraFieldPolicy | str = ExtraFieldPolicy.REJECT,
    max_categories: int = MAX_CATEGORIES,
) -> Contract:
    """Describe every column of ``sample`` (or just ``columns``) as a field.

    ``overrides`` maps a field name to a whole :class:`FieldSpec` or to the attributes to
    change, e.g. ``{"age": {"minimum": 18, "maximum": 100}}``.
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
        inferred = _infer_field(name, sample[name], max_categories)
        if override:
            data = inferred.model_dump()
            data.update(override)
            if data.get("default") is not None and "required" not in override:
                data["required"] = False
            inferred = FieldSpec.model_validate(data)
        fields.append(inferred)
    return Contract(
        fields=fields,
        unknown_categories=UnknownCategoryPolicy(unknown_categories),
        extra_fields=ExtraFieldPolicy(extra_fields),
    )


def _infer_field(name: str, column: pd.Series, max_categories: int) -> FieldSpec:
    field_type = _infer_type(column)
    required = not bool(column.isna().any())
    spec: dict[str, Any] = {"name": name, "type": field_type, "required": required}
    present = column.dropna()
    if field_type in (FieldType.NUMBER, FieldType.INTEGER) and len(present):
        low, high = float(present.min()), float(present.max())
        spec["minimum"], spec["maximum"] = _widen(low, high, field_type is FieldType.INTEGER)
    elif field_type is FieldType.STRING and len(present):
        distinct = pd.unique(present.astype(str))
        if len(distinct) <= max_categories:
            spec["categories"] = sorted(str(v) for v in distinct)
    return FieldSpec.model_validate(spec)


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
