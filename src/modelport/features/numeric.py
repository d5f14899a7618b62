"""Numeric derived features: scaling with stored parameters, log, ratio, bucketing.

Each function takes a column (or an ``[N, m]`` matrix with one parameter per column),
returns float64 and maps a missing input to ``NaN``; none of them raises on bad values.
The arithmetic is written in the exact order the ONNX converter
(:mod:`modelport.package.converters.features`) repeats, so the packaged graph computes the
same bits, not merely close ones.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from modelport.features._arrays import as_float

__all__ = ["bucket", "check_edges", "log", "min_max", "ratio", "safe_scale", "z_score"]


def safe_scale(scale: Any) -> np.ndarray:
    """A divisor with zeros (and non-finite values) replaced by 1, as scikit-learn does.

    A constant column has no spread to scale by; dividing by 1 keeps it finite (its
    training values all map to 0) instead of turning every row into NaN or infinity.
    """
    array = as_float(scale)
    return np.where(np.isfinite(array) & (array != 0.0), array, 1.0)


def min_max(x: Any, minimum: Any, maximum: Any) -> np.ndarray:
    """``(x - minimum) / (maximum - minimum)``: 0 at ``minimum``, 1 at ``maximum``.

    Not clipped: values outside the stored range fall below 0 or above 1, which keeps the
    feature monotonic for values never seen in training. A zero range divides by 1.
    """
    low = as_float(minimum)
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf is NaN, as it should be
        scaled: np.ndarray = (as_float(x) - low) / safe_scale(as_float(maximum) - low)
    return scaled


def z_score(x: Any, mean: Any, std: Any) -> np.ndarray:
    """``(x - mean) / std``, with a zero (or missing) ``std`` replaced by 1."""
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf is NaN, as it should be
        scaled: np.ndarray = (as_float(x) - as_float(mean)) / safe_scale(std)
    return scaled


def log(x: Any, offset: float = 1.0) -> np.ndarray:
    """Natural log of ``x + offset`` (``offset=1`` is ``log1p``), for skewed amounts.

    Where ``x + offset <= 0`` the log does not exist: the result is ``NaN`` (never
    ``-inf``), so downstream imputation treats it as missing.
    """
    shifted = as_float(x) + np.float64(offset)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(shifted > 0.0, np.log(np.where(shifted > 0.0, shifted, 1.0)), np.nan)


def ratio(numerator: Any, denominator: Any) -> np.ndarray:
    """``numerator / denominator``; division by zero (``0/0`` included) gives ``NaN``.

    A ratio with a zero denominator has no meaningful value; ``NaN`` lets the pipeline's
    imputer decide, where ``inf`` would silently dominate a scaler or a linear model.
    """
    a, b = as_float(numerator), as_float(denominator)
    with np.errstate(divide="ignore", invalid="ignore"):
        quotient = a / b
    return np.where(b == 0.0, np.nan, quotient)


def check_edges(edges: Any) -> np.ndarray:
    """``edges`` as float64, refusing anything but a non-empty, finite, increasing list."""
    array = np.asarray(edges, dtype=np.float64).reshape(-1)
    if array.size == 0 or not np.all(np.isfinite(array)) or np.any(np.diff(array) <= 0):
        raise ValueError(f"bucket edges must be finite and strictly increasing, got {edges!r}")
    return array


def bucket(x: Any, edges: Any) -> np.ndarray:
    """The bucket index of each value: how many of ``edges`` are ``<= x``.

    With edges ``e0 < e1 < ... < ek-1`` the buckets are ``(-inf, e0)`` -> 0,
    ``[e0, e1)`` -> 1, ..., ``[ek-1, inf)`` -> k: a value equal to an edge goes to the
    bucket above it. Missing values give ``NaN``; the index is float64 so it can carry it.
    """
    values = as_float(x)
    cuts = check_edges(edges)
    index = (values[..., np.newaxis] >= cuts).sum(axis=-1).astype(np.float64)
    return np.where(np.isnan(values), np.nan, index)
