"""Split-conformal prediction intervals for regressors, calibrated at build time.

Why split conformal: it needs nothing from the model but its predictions on rows it was
not trained on, it costs one number in the manifest (the residual quantile ``q``) and one
addition per answer, and its coverage holds in finite samples whatever the model is.

Method (absolute residuals): on ``n`` calibration rows, ``r_i = |y_i - f(x_i)|``; with
``k = ceil((n + 1) * coverage)``, ``q`` is the ``k``-th smallest residual, i.e. the
empirical quantile at level ``k / n`` (the finite-sample correction of the plain
``coverage`` level). The interval of a new prediction is ``[f(x) - q, f(x) + q]``. If the
calibration rows and new rows are exchangeable, ``P(y in interval) >= coverage`` (and
``< coverage + 1 / (n + 1)`` when residuals have no ties).

The calibration rows must not be training rows: a model fits its training rows better
than new ones, so ``q`` would come out too small and the intervals would under-cover.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "DEFAULT_COVERAGE",
    "ConformalCalibration",
    "calibrate_conformal",
    "calibrate_for_package",
    "interval",
    "minimum_rows",
    "rank",
]

DEFAULT_COVERAGE = 0.9

Predictor = Callable[[Any], Any]


def rank(n: int, coverage: float) -> int:
    """``k = ceil((n + 1) * coverage)``, computed exactly.

    In floats ``5 * 0.8`` is ``4.000000000000001``, whose ceiling is 5, not 4: the
    coverage is read as the decimal it was written as (``repr``) and multiplied exactly.
    """
    return math.ceil(Fraction(repr(float(coverage))) * (n + 1))


def minimum_rows(coverage: float) -> int:
    """The fewest calibration rows for which ``k = ceil((n + 1) * coverage) <= n``."""
    _check_coverage(coverage)
    n = max(1, math.floor(Fraction(repr(float(coverage))) / (1 - Fraction(repr(float(coverage))))))
    while rank(n, coverage) > n:
        n += 1
    return n


class ConformalCalibration(BaseModel):
    """What the build measured: ``quantile`` (``q``) of ``n`` absolute residuals for
    ``coverage``. Stored in the manifest; the interval is ``value -/+ quantile``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: str = Field(default="split_absolute", pattern="^split_absolute$")
    coverage: float = Field(gt=0.0, lt=1.0)
    quantile: float = Field(ge=0.0, allow_inf_nan=False)
    n: int = Field(ge=1)

    @model_validator(mode="after")
    def _enough_rows(self) -> ConformalCalibration:
        needed = minimum_rows(self.coverage)
        if self.n < needed:
            raise ValueError(
                f"{self.n} calibration rows cannot give {self.coverage:.0%} coverage: "
                f"at least {needed} are needed"
            )
        return self


def calibrate_conformal(
    predict: Predictor | Any,
    calibration_X: Any,
    calibration_y: Any,
    coverage: float = DEFAULT_COVERAGE,
) -> ConformalCalibration:
    """Calibrate intervals from held-out rows.

    ``predict`` is a function of ``calibration_X`` returning the predictions (a fitted
    model's ``predict``, or a scorer's ``predict`` returning a ``value`` column), or the
    predictions themselves (``calibration_X`` is then ignored and may be ``None``).
    """
    _check_coverage(coverage)
    predicted = _values(predict(calibration_X) if callable(predict) else predict)
    actual = _values(calibration_y)
    if predicted.shape != actual.shape:
        raise ValueError(
            f"{predicted.shape[0]} predictions for {actual.shape[0]} calibration targets"
        )
    for what, column in (("target", actual), ("prediction", predicted)):
        bad = int((~np.isfinite(column)).sum())
        if bad:
            raise ValueError(
                f"{bad} calibration rows have a missing or infinite {what}; drop them first"
            )
    n = int(actual.shape[0])
    needed = minimum_rows(coverage)
    if n < needed:
        raise ValueError(
            f"{n} calibration rows cannot give {coverage:.0%} coverage: at least {needed} "
            "are needed (and a few hundred give stable intervals)"
        )
    residuals = np.sort(np.abs(actual - predicted))
    k = rank(n, coverage)
    return ConformalCalibration(coverage=coverage, quantile=float(residuals[k - 1]), n=n)


def interval(values: Any, calibration: ConformalCalibration) -> tuple[np.ndarray, np.ndarray]:
    """``(lower, upper)`` bounds: ``values -/+ quantile`` (NaN stays NaN)."""
    centre = np.asarray(values, dtype=np.float64)
    return centre - calibration.quantile, centre + calibration.quantile


def calibrate_for_package(
    model: Any,
    calibration_frame: pd.DataFrame,
    target: str,
    coverage: float = DEFAULT_COVERAGE,
) -> ConformalCalibration:
    """Calibrate a fitted regressor (or a modelport scorer) on held-out rows of a frame.

    ``calibration_frame`` holds the model's input columns and ``target``; it must not
    overlap the training rows. Rows with a missing target are refused, not dropped, so
    ``n`` in the manifest is the number of rows the caller gave.
    """
    if not isinstance(calibration_frame, pd.DataFrame) or calibration_frame.empty:
        raise ValueError("the calibration set must be a non-empty pandas DataFrame")
    if target not in calibration_frame.columns:
        raise ValueError(f"the calibration set has no target column {target!r}")
    if getattr(model, "classes_", None) is not None:
        raise ValueError("conformal intervals are for regressors; this model is a classifier")
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        columns = [str(c) for c in names]
    else:  # a modelport Scorer: its contract names the inputs
        contract = getattr(model, "contract", None)
        columns = list(contract.names) if contract is not None else []
    missing = [c for c in columns if c not in calibration_frame.columns]
    if not columns or missing:
        raise ValueError(
            "the calibration set lacks the model's input columns: "
            + (", ".join(missing) or "the model does not name them")
        )
    features = calibration_frame[columns]
    return calibrate_conformal(model.predict, features, calibration_frame[target], coverage)


def _values(predicted: Any) -> np.ndarray:
    """A ``(n,)`` float64 array from an array, a Series or a frame with a ``value`` column."""
    if isinstance(predicted, pd.DataFrame):
        if "value" not in predicted.columns:
            raise ValueError("the predictions are a frame without a 'value' column")
        predicted = predicted["value"]
    try:
        array = np.asarray(predicted, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("the predictions and targets must be numbers") from None
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(f"expected one value per row, got an array of shape {array.shape}")
    return array


def _check_coverage(coverage: float) -> None:
    if not isinstance(coverage, int | float) or not 0.0 < float(coverage) < 1.0:
        raise ValueError(f"coverage must be a number between 0 and 1 (exclusive), not {coverage}")
