"""Calendar features: age in whole years at a given date, and the parts of a date.

These depend on parsing dates and, for age, on *when* the model scores, neither of
which an ONNX graph does; they run before the graph as declared pre-steps (see
:mod:`modelport.features.presteps`). Dates are read as the contract validator reads
them: ISO ``YYYY-MM-DD`` strings (the first ten characters), ``date``, ``datetime``,
``Timestamp`` or ``datetime64``, each taken as its own calendar date.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from modelport.features._arrays import as_dates, as_day

__all__ = ["DATE_PARTS", "age_years", "date_parts", "today_utc"]

DATE_PARTS = ("year", "month", "day", "day_of_week", "day_of_year", "quarter")


def today_utc() -> dt.date:
    """The scoring date: today in UTC, so every server agrees whatever its local zone."""
    return dt.datetime.now(dt.UTC).date()


def _fields(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month (1-12) and day of month (1-31) of ``datetime64[D]`` values, as int64."""
    months = days.astype("datetime64[M]")
    year = months.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (days - months.astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, day


def age_years(dates: Any, at: Any = None) -> np.ndarray:
    """Whole years from each date to ``at`` (default: :func:`today_utc`), as float64.

    A year is complete on the anniversary: born 2000-05-10, age at 2020-05-09 is 19 and
    at 2020-05-10 is 20. Someone born on 29 February turns a year older on 1 March in
    common years (28 February is still before the anniversary). Dates after ``at`` give
    negative ages (floored: one day in the future is -1). Missing or unreadable dates
    give ``NaN``.
    """
    when = today_utc() if at is None else at
    at_day = as_day(when)
    if np.isnat(at_day):
        raise ValueError(f"cannot read {when!r} as the date to measure age at")
    days = as_dates(dates)
    missing = np.isnat(days)
    year, month, day = _fields(np.where(missing, at_day, days))
    at_year, at_month, at_day_of_month = (int(v[0]) for v in _fields(np.array([at_day])))
    before_anniversary = (month > at_month) | ((month == at_month) & (day > at_day_of_month))
    age = (at_year - year - before_anniversary.astype(np.int64)).astype(np.float64)
    return np.where(missing, np.nan, age)


def date_parts(dates: Any, parts: tuple[str, ...] | list[str] = DATE_PARTS) -> pd.DataFrame:
    """One float64 column per requested part of each date, ``NaN`` where missing.

    ``year``; ``month`` 1-12; ``day`` of month 1-31; ``day_of_week`` 0 = Monday ..
    6 = Sunday (pandas' and ISO's order); ``day_of_year`` 1-366; ``quarter`` 1-4.
    """
    unknown = [p for p in parts if p not in DATE_PARTS]
    if unknown or not parts:
        raise ValueError(f"unknown date parts {unknown}; choose from {', '.join(DATE_PARTS)}")
    days = as_dates(dates)
    missing = np.isnat(days)
    filled = np.where(missing, np.datetime64("2000-01-01", "D"), days)
    year, month, day = _fields(filled)
    computed = {
        "year": year,
        "month": month,
        "day": day,
        # 1970-01-01 was a Thursday (3 with Monday = 0).
        "day_of_week": (filled.astype(np.int64) + 3) % 7,
        "day_of_year": (filled - filled.astype("datetime64[Y]").astype("datetime64[D]")).astype(
            np.int64
        )
        + 1,
        "quarter": (month - 1) // 3 + 1,
    }
    return pd.DataFrame(
        {p: np.where(missing, np.nan, computed[p].astype(np.float64)) for p in parts}
    )
