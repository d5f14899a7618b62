"""Split-conformal intervals: the exact quantile, and coverage on held-out rows of real models.

The coverage tests use 2,000 calibration and 5,000 test rows with fixed seeds: the
empirical coverage's own spread is then about 0.8 point, so "within 2 points of nominal"
is stable, yet a wrong residual, a missing correction or leaked training rows fail it.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from sklearn.datasets import make_regression
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import Ridge

import modelport as mp
from modelport.datasets import LOAN_FEATURES, loan_applications, loan_pipeline
from modelport.decisions import (
    ConformalCalibration,
    calibrate_conformal,
    calibrate_for_package,
    interval,
    minimum_rows,
)
from modelport.decisions.conformal import rank

COVERAGES = [0.8, 0.9, 0.95]
N_CALIBRATION = 2_000
N_TEST = 5_000


def covered(values: np.ndarray, y: np.ndarray, calibration: ConformalCalibration) -> float:
    lower, upper = interval(values, calibration)
    return float(np.mean((lower <= y) & (y <= upper)))


@pytest.fixture(scope="module")
def synthetic() -> dict[str, np.ndarray]:
    """Ridge on a linear problem with heavy-tailed noise (so normal theory would be off)."""
    n_train = 2_000
    X, y = make_regression(
        n_samples=n_train + N_CALIBRATION + N_TEST, n_features=8, noise=0.0, random_state=0
    )
    y = y + np.random.default_rng(0).standard_t(df=3, size=y.shape[0]) * 15.0
    model = Ridge(alpha=1.0).fit(X[:n_train], y[:n_train])
    calibration = slice(n_train, n_train + N_CALIBRATION)
    test = slice(n_train + N_CALIBRATION, None)
    return {
        "calibration_predicted": model.predict(X[calibration]),
        "calibration_y": y[calibration],
        "test_predicted": model.predict(X[test]),
        "test_y": y[test],
    }


@pytest.fixture(scope="module")
def loan_regression() -> dict[str, object]:
    """A random forest predicting the loan interest rate, inside the usual pipeline."""
    frame = loan_applications(3_000 + N_CALIBRATION + N_TEST, seed=11)
    train, calibration, test = (
        frame.iloc[:3_000],
        frame.iloc[3_000 : 3_000 + N_CALIBRATION],
        frame.iloc[3_000 + N_CALIBRATION :],
    )
    model = loan_pipeline(
        RandomForestRegressor(n_estimators=40, min_samples_leaf=3, random_state=0, n_jobs=1)
    )
    model.fit(train[LOAN_FEATURES], train["interest_rate"])
    return {"model": model, "train": train, "calibration": calibration, "test": test}


@pytest.mark.parametrize("coverage", COVERAGES)
def test_ridge_intervals_cover_held_out_rows_as_promised(
    synthetic: dict[str, np.ndarray], coverage: float
) -> None:
    calibration = calibrate_conformal(
        synthetic["calibration_predicted"], None, synthetic["calibration_y"], coverage
    )
    assert calibration.n == N_CALIBRATION
    empirical = covered(synthetic["test_predicted"], synthetic["test_y"], calibration)
    assert abs(empirical - coverage) <= 0.02, f"{empirical:.4f} for nominal {coverage}"


@pytest.mark.parametrize("coverage", COVERAGES)
def test_forest_intervals_cover_held_out_loans_as_promised(
    loan_regression: dict[str, object], coverage: float
) -> None:
    model = loan_regression["model"]
    calibration_frame = loan_regression["calibration"]
    test = loan_regression["test"]
    assert isinstance(calibration_frame, pd.DataFrame)
    assert isinstance(test, pd.DataFrame)
    calibration = calibrate_for_package(model, calibration_frame, "interest_rate", coverage)
    predicted = model.predict(test[LOAN_FEATURES])  # type: ignore[attr-defined]
    empirical = covered(predicted, test["interest_rate"].to_numpy(), calibration)
    assert abs(empirical - coverage) <= 0.02, f"{empirical:.4f} for nominal {coverage}"


def test_calibrating_on_training_rows_under_covers(loan_regression: dict[str, object]) -> None:
    """Why the calibration set must be held out, and proof the coverage test can fail."""
    model = loan_regression["model"]
    train = loan_regression["train"]
    test = loan_regression["test"]
    assert isinstance(train, pd.DataFrame)
    assert isinstance(test, pd.DataFrame)
    leaked = calibrate_for_package(model, train, "interest_rate", 0.9)
    predicted = model.predict(test[LOAN_FEATURES])  # type: ignore[attr-defined]
    assert covered(predicted, test["interest_rate"].to_numpy(), leaked) < 0.9 - 0.02


def test_the_quantile_is_the_ceil_n_plus_one_order_statistic() -> None:
    n = 19
    residuals = np.arange(1.0, n + 1.0)  # predictions 0, targets 1..19: residual i is i
    rng = np.random.default_rng(1)
    order = rng.permutation(n)
    for coverage in (0.5, 0.8, 0.9, 0.95):
        calibration = calibrate_conformal(np.zeros(n), None, residuals[order], coverage)
        k = math.ceil(round((n + 1) * coverage, 9))  # exact here: (n + 1) = 20
        assert calibration.quantile == float(k)
        assert calibration.quantile >= np.quantile(residuals, coverage)  # never the naive one
    # the sign of a residual does not matter: absolute residuals
    negative = calibrate_conformal(np.zeros(n), None, -residuals, 0.9)
    assert negative.quantile == 18.0


def test_small_calibration_sets_still_cover_on_average() -> None:
    """With 19 calibration rows the corrected level keeps coverage >= 90% on average;
    the uncorrected 90% quantile visibly falls short. Many draws of normal noise."""
    rng = np.random.default_rng(5)
    n, trials, coverage = 19, 4_000, 0.9
    corrected, naive = [], []
    for _ in range(trials):
        calibration_residuals = rng.normal(size=n)
        test_residuals = rng.normal(size=50)
        fitted = calibrate_conformal(np.zeros(n), None, calibration_residuals, coverage)
        corrected.append(np.mean(np.abs(test_residuals) <= fitted.quantile))
        plain = np.quantile(np.abs(calibration_residuals), coverage)
        naive.append(np.mean(np.abs(test_residuals) <= plain))
    # theory: exactly k / (n + 1) = 18 / 20 = 0.90 for the corrected level
    assert np.mean(corrected) == pytest.approx(0.90, abs=0.005)
    assert np.mean(naive) < 0.885


def test_intervals_are_symmetric_and_keep_missing_values() -> None:
    calibration = ConformalCalibration(coverage=0.9, quantile=2.5, n=100)
    lower, upper = interval(np.array([10.0, np.nan]), calibration)
    assert lower[0] == 7.5
    assert upper[0] == 12.5
    assert np.isnan(lower[1])
    assert np.isnan(upper[1])


def test_minimum_rows() -> None:
    assert minimum_rows(0.8) == 4
    assert minimum_rows(0.9) == 9
    assert minimum_rows(0.95) == 19
    for coverage in (0.5, 0.8, 0.9, 0.95, 0.99, 0.999, 0.37):
        n = minimum_rows(coverage)
        assert rank(n, coverage) <= n
        assert rank(n - 1, coverage) > n - 1


def test_the_rank_is_computed_exactly() -> None:
    # in floats 5 * 0.8 == 4.000000000000001 and 10 * 0.9 == 9.000000000000002
    assert rank(4, 0.8) == 4
    assert rank(9, 0.9) == 9
    assert rank(2_000, 0.9) == 1_801
    assert rank(99, 0.95) == 95


def test_refusals() -> None:
    with pytest.raises(ValueError, match="at least 19 are needed"):
        calibrate_conformal(np.zeros(18), None, np.ones(18), 0.95)
    with pytest.raises(ValueError, match="between 0 and 1"):
        calibrate_conformal(np.zeros(50), None, np.ones(50), 90)
    with pytest.raises(ValueError, match="2 calibration rows have a missing or infinite target"):
        calibrate_conformal(np.zeros(50), None, [np.nan, np.inf, *np.ones(48)], 0.9)
    with pytest.raises(ValueError, match="49 predictions for 50"):
        calibrate_conformal(np.zeros(49), None, np.ones(50), 0.9)
    with pytest.raises(ValidationError):
        ConformalCalibration(coverage=0.9, quantile=-1.0, n=100)
    with pytest.raises(ValidationError, match="at least 9"):
        ConformalCalibration(coverage=0.9, quantile=1.0, n=5)


def test_calibrate_for_package_refuses_what_it_cannot_use(
    loan_regression: dict[str, object],
) -> None:
    model = loan_regression["model"]
    calibration = loan_regression["calibration"]
    assert isinstance(calibration, pd.DataFrame)
    with pytest.raises(ValueError, match="no target column 'rate'"):
        calibrate_for_package(model, calibration, "rate")
    with pytest.raises(ValueError, match="lacks the model's input columns: region"):
        calibrate_for_package(model, calibration.drop(columns="region"), "interest_rate")
    with pytest.raises(ValueError, match="missing or infinite target"):
        missing = calibration.copy()
        missing.loc[missing.index[0], "interest_rate"] = np.nan
        calibrate_for_package(model, missing, "interest_rate")
    classifier = loan_pipeline(RandomForestClassifier(n_estimators=5, random_state=0))
    classifier.fit(calibration[LOAN_FEATURES], calibration["approved"])
    with pytest.raises(ValueError, match="for regressors"):
        calibrate_for_package(classifier, calibration, "interest_rate")


def test_a_packaged_scorer_calibrates_like_the_original(tmp_path: Path) -> None:
    """What is served is what is calibrated: the ONNX scorer gives the same quantile."""
    frame = loan_applications(1_500, seed=4)
    train, calibration = frame.iloc[:1_000], frame.iloc[1_000:]
    model = loan_pipeline(Ridge(alpha=1.0)).fit(train[LOAN_FEATURES], train["interest_rate"])
    # the contract comes from every row, so no calibration row falls outside its ranges
    mp.package(model, frame, name="loan-rate", path=tmp_path / "loan-rate")
    scorer = mp.load(tmp_path / "loan-rate")
    served = calibrate_for_package(scorer, calibration, "interest_rate", 0.9)
    original = calibrate_for_package(model, calibration, "interest_rate", 0.9)
    assert served.n == original.n == 500
    assert served.quantile == pytest.approx(original.quantile, abs=1e-6)
