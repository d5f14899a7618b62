"""The feature transformers: the same numbers as the functions, scikit-learn conventions."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from modelport.features import (
    Bucketize,
    HaversineNearest,
    Log,
    MinMaxScale,
    Ratio,
    ZScore,
    bucket,
    haversine_km,
    log,
    min_max,
    ratio,
    z_score,
)

BRANCHES = [(51.5074, -0.1278), (48.8566, 2.3522), (52.52, 13.405)]


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 200
    data = pd.DataFrame(
        {
            "income": rng.lognormal(10, 0.5, n),
            "amount": rng.uniform(0, 5000, n),
            "lat": rng.uniform(40, 58, n),
            "lon": rng.uniform(-5, 20, n),
            "term": rng.choice([6.0, 12.0, 24.0, 36.0], n),
        }
    )
    data.loc[::17, "income"] = np.nan
    data.loc[::23, "lat"] = np.nan
    data.loc[5, "amount"] = 0.0
    data.loc[6, "income"] = 0.0
    return data


ALL = [
    MinMaxScale(columns=["income", "amount"]),
    ZScore(columns="income"),
    Log(columns=["income"], offset=1.0),
    Bucketize(edges=[12.0, 24.0], columns=["term"]),
    Ratio("amount", "income", name="amount_to_income"),
    HaversineNearest(lat="lat", lon="lon", references=BRANCHES, name="branch_km"),
]


def test_transformers_compute_the_functions(frame: pd.DataFrame) -> None:
    scaled = MinMaxScale(columns=["income", "amount"]).fit(frame)
    assert scaled.min_.tolist() == [frame.income.min(), frame.amount.min()]
    assert scaled.max_.tolist() == [frame.income.max(), frame.amount.max()]
    expected = min_max(frame[["income", "amount"]], scaled.min_, scaled.max_)
    np.testing.assert_array_equal(scaled.transform(frame), expected)

    z = ZScore(columns=["income"]).fit(frame)
    assert z.mean_[0] == pytest.approx(frame.income.mean(), rel=1e-12)
    assert z.std_[0] == pytest.approx(frame.income.std(ddof=0), rel=1e-12)
    np.testing.assert_array_equal(z.transform(frame), z_score(frame[["income"]], z.mean_, z.std_))

    np.testing.assert_array_equal(Log(["income"]).fit_transform(frame), log(frame[["income"]]))
    np.testing.assert_array_equal(
        Bucketize([12.0, 24.0], ["term"]).fit_transform(frame), bucket(frame[["term"]], [12, 24])
    )
    np.testing.assert_array_equal(
        Ratio("amount", "income").fit_transform(frame)[:, 0], ratio(frame.amount, frame.income)
    )
    lats, lons = zip(*BRANCHES, strict=True)
    np.testing.assert_array_equal(
        HaversineNearest("lat", "lon", BRANCHES).fit_transform(frame)[:, 0],
        haversine_km(frame.lat, frame.lon, lats, lons),
    )


def test_zscore_matches_standard_scaler_without_missing_values(frame: pd.DataFrame) -> None:
    complete = frame[["amount", "term"]]
    np.testing.assert_allclose(
        ZScore().fit_transform(complete), StandardScaler().fit_transform(complete), atol=1e-12
    )


def test_an_empty_column_scales_as_identity() -> None:
    empty = pd.DataFrame({"x": [np.nan, np.nan]})
    assert MinMaxScale().fit(empty).min_.tolist() == [0.0]
    assert ZScore().fit(empty).std_.tolist() == [1.0]
    assert np.isnan(ZScore().fit(empty).transform(pd.DataFrame({"x": [np.nan]}))).all()
    np.testing.assert_array_equal(ZScore().fit(empty).transform(pd.DataFrame({"x": [3.0]})), [[3]])


@pytest.mark.parametrize("transformer", ALL, ids=lambda t: type(t).__name__)
def test_clone_and_params_round_trip(transformer: Any, frame: pd.DataFrame) -> None:
    copy = clone(transformer)
    assert copy.get_params() == transformer.get_params()
    assert type(copy)(**copy.get_params()).get_params() == transformer.get_params()
    fitted = copy.fit(frame)
    assert fitted is copy
    assert list(fitted.feature_names_in_) == list(frame.columns)
    assert fitted.n_features_in_ == frame.shape[1]
    assert not hasattr(clone(fitted), "input_indices_")  # clone drops the learned state
    out = fitted.transform(frame)
    assert out.dtype == np.float64 and out.shape == (
        len(frame),
        len(fitted.get_feature_names_out()),
    )


def test_feature_names_out(frame: pd.DataFrame) -> None:
    names = [list(clone(t).fit(frame).get_feature_names_out()) for t in ALL]
    assert names == [
        ["income", "amount"],
        ["income"],
        ["income"],
        ["term"],
        ["amount_to_income"],
        ["branch_km"],
    ]
    assert list(Ratio("amount", "income").fit(frame).get_feature_names_out()) == [
        "amount_per_income"
    ]


def test_inside_column_transformer_and_pipeline(frame: pd.DataFrame) -> None:
    features = ColumnTransformer(
        [
            ("dist", HaversineNearest("lat", "lon", BRANCHES, name="branch_km"), ["lat", "lon"]),
            ("lti", Ratio("amount", "income", name="lti"), ["amount", "income"]),
            ("log", Log(), ["income"]),
            ("scale", MinMaxScale(), ["amount"]),
            ("bucket", Bucketize([12.0, 24.0]), ["term"]),
        ],
        verbose_feature_names_out=False,
    ).set_output(transform="pandas")
    pipeline = Pipeline(
        [("features", features), ("impute", SimpleImputer()), ("z", ZScore(columns=["lti"]))]
    ).set_output(transform="pandas")
    out = features.fit_transform(frame)
    assert list(out.columns) == ["branch_km", "lti", "income", "amount", "term"]
    np.testing.assert_array_equal(out["lti"], ratio(frame.amount, frame.income))
    assert list(clone(pipeline).fit(frame).get_feature_names_out()) == ["lti"]
    assert list(pipeline.fit_transform(frame).columns) == ["lti"]


def test_fitted_on_arrays_columns_are_positions(frame: pd.DataFrame) -> None:
    values = frame[["amount", "income"]].to_numpy()
    fitted = Ratio(0, 1).fit(values)
    assert not hasattr(fitted, "feature_names_in_")
    assert list(fitted.get_feature_names_out()) == ["x0_per_x1"]
    np.testing.assert_array_equal(fitted.transform(values)[:, 0], ratio(values[:, 0], values[:, 1]))
    with pytest.raises(ValueError, match="fitted on 2 columns"):
        fitted.transform(values[:, :1])


def test_refusals(frame: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="no column 'nope'"):
        MinMaxScale(columns=["nope"]).fit(frame)
    with pytest.raises(ValueError, match="strictly increasing"):
        Bucketize(edges=[3.0, 1.0]).fit(frame)
    with pytest.raises(ValueError, match=r"\(lat, lon\) pairs"):
        HaversineNearest("lat", "lon").fit(frame)
    with pytest.raises(ValueError, match="missing columns"):
        Log(["income"]).fit(frame).transform(frame.drop(columns="income"))
