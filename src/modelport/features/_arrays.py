"""Turning whatever a caller holds into float64 numbers or calendar days.

Every feature function starts here so that they all agree on what "missing" means:
``None``, ``NaN``, ``pd.NA``, ``NaT`` and values that are not numbers (or not dates)
become ``NaN`` (or ``NaT``) instead of raising. Scoring must never crash on one odd
value; the contract validator is where odd values are refused with a reason.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["as_dates", "as_float", "as_day"]

# Below this many values, reading dates one by one beats pandas' vectorised parse, whose
# fixed cost (~0.3 ms) would otherwise dominate a single online request.
_SMALL = 64


def as_float(values: Any) -> np.ndarray:
    """``values`` as a new float64 array of the same shape, ``NaN`` where not a number."""
    if isinstance(values, pd.DataFrame | pd.Series):
        try:
            return np.array(values.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
        except (TypeError, ValueError):
            values = values.to_numpy(dtype=object)
    array = np.asarray(values)
    if array.dtype.kind in "fiub":
        return array.astype(np.float64)
    flat = pd.Series(array.ravel().astype(object)).map(_number)
    return flat.to_numpy(dtype=np.float64).reshape(array.shape)


def _number(value: Any) -> float:
    if isinstance(value, bool | np.bool_ | int | float | np.number):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return np.nan
    return np.nan


def as_dates(values: Any) -> np.ndarray:
    """``values`` as a 1-D ``datetime64[D]`` array, ``NaT`` where missing or not a date.

    The same reading as the contract validator's date fields: a string's first ten
    characters as ``YYYY-MM-DD``; a ``datetime`` (or ``Timestamp``, ``datetime64``) is
    its own calendar date, time and time zone ignored.
    """
    if isinstance(values, pd.Series | pd.Index):
        values = values.to_numpy()
    array = np.asarray(values)
    if array.ndim != 1:
        array = array.reshape(-1)
    if array.dtype.kind == "M":
        return array.astype("datetime64[D]")
    if array.size < _SMALL:
        return np.array([as_day(v) for v in array.tolist()], dtype="datetime64[D]")
    if array.dtype.kind in "US" or (
        array.dtype == object and all(isinstance(v, str) for v in array.tolist())
    ):
        text = pd.Series(array.astype(str), dtype=object).str.strip().str.slice(0, 10)
        parsed = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
        out = np.asarray(parsed.to_numpy()).astype("datetime64[D]")
        # What the fixed format missed is read one by one, as the contract reads it: dates
        # beyond pandas' nanosecond range (1677-2262) and other ISO forms ("19900615").
        outside = np.isnat(out) & (text.str.len() > 0).to_numpy()
        for i in np.flatnonzero(outside):
            out[i] = as_day(array[i])
        return out
    return np.array([as_day(v) for v in array.tolist()], dtype="datetime64[D]")


def as_day(value: Any) -> np.datetime64:
    """One value as ``datetime64[D]``, ``NaT`` when it is not a date."""
    if value is None or value is pd.NaT:
        return np.datetime64("NaT", "D")
    if isinstance(value, pd.Timestamp):
        return np.datetime64("NaT", "D") if pd.isna(value) else np.datetime64(value.date(), "D")
    if isinstance(value, dt.datetime):
        return np.datetime64(value.date(), "D")
    if isinstance(value, dt.date):
        return np.datetime64(value, "D")
    if isinstance(value, np.datetime64):
        day: np.datetime64 = value.astype("datetime64[D]")
        return day
    if isinstance(value, str):
        try:
            return np.datetime64(dt.date.fromisoformat(value.strip()[:10]), "D")
        except ValueError:
            return np.datetime64("NaT", "D")
    return np.datetime64("NaT", "D")
