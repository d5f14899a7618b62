"""Pipelines using the feature library package with a parity proof, pre-steps included."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pandas as pd
import pytest
from onnx import TensorProto
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import modelport as mp
from modelport.datasets import LOAN_CATEGORICAL, LOAN_FEATURES, loan_applications
from modelport.errors import UnsupportedModel
from modelport.features import (
    AgeFromDate,
    Bucketize,
    DateParts,
    HaversineNearest,
    Log,
    MinMaxScale,
    Ratio,
    ZScore,
    split_presteps,
)
from modelport.package.converters.onnx_graph import GraphBuilder
from modelport.package.converters.sklearn_preprocessing import (
    Block,
    Context,
    apply_transformer,
    as_matrix,
)

BRANCHES = [(51.5074, -0.1278), (48.8566, 2.3522), (52.52, 13.405), (40.4168, -3.7038)]
NOW = dt.date(2024, 6, 30)
INPUTS = [*LOAN_FEATURES, "lat", "lon"]


@pytest.fixture(scope="module")
def applications() -> pd.DataFrame:
    frame = loan_applications(1_500, seed=11)
    rng = np.random.default_rng(5)
    n = len(frame)
    frame["lat"] = rng.uniform(36.0, 60.0, n)
    frame["lon"] = rng.uniform(-10.0, 25.0, n)
    frame.loc[rng.random(n) < 0.05, "lat"] = np.nan
    frame.loc[rng.random(n) < 0.02, "lon"] = np.nan
    born = pd.Timestamp("1940-01-01") + pd.to_timedelta(rng.integers(0, 23_000, n), unit="D")
    frame["date_of_birth"] = pd.Series(born.strftime("%Y-%m-%d"), dtype=object)
    frame.loc[rng.random(n) < 0.03, "date_of_birth"] = None
    applied = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 540, n), unit="D")
    frame["applied_on"] = pd.Series(applied.strftime("%Y-%m-%d"), dtype=object)
    return frame


def _features() -> ColumnTransformer:
    return ColumnTransformer(
        [
            ("dist", HaversineNearest("lat", "lon", BRANCHES, name="branch_km"), ["lat", "lon"]),
            (
                "lti",
                Ratio("loan_amount", "annual_income", name="lti"),
                ["loan_amount", "annual_income"],
            ),
            ("log", Log(), ["annual_income"]),
            ("minmax", MinMaxScale(), ["debt_to_income"]),
            ("z", ZScore(), ["credit_history_months"]),
            ("bucket", Bucketize([12.0, 24.0, 48.0]), ["loan_term_months"]),
        ],
        remainder="passthrough",
        verbose_feature_names_out=False,
    ).set_output(transform="pandas")


def _prepare(numeric: list[str]) -> ColumnTransformer:
    """``loan_pipeline``'s preprocessing, on the derived columns by name."""
    categorical = Pipeline(
        [
            ("impute", SimpleImputer(strategy="constant", fill_value="missing")),
            ("onehot", OneHotEncoder(handle_unknown="ignore")),
        ]
    )
    numbers = Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())])
    return ColumnTransformer([("num", numbers, numeric), ("cat", categorical, LOAN_CATEGORICAL)])


DERIVED = ["branch_km", "lti", "annual_income", "debt_to_income", "credit_history_months"]
NUMERIC = [*DERIVED, "loan_term_months", "age", "open_accounts", "delinquencies", "has_cosigner"]


def _graph_of(step: Any, frame: pd.DataFrame) -> np.ndarray:
    """Run ``step``'s emitted ONNX nodes alone on ``frame`` (float64 columns)."""
    ctx = Context(GraphBuilder())
    b = ctx.builder
    blocks = [
        Block(b.add_input(c, TensorProto.DOUBLE, [None, 1]), 1, False, c) for c in frame.columns
    ]
    out = as_matrix(ctx, apply_transformer(step, blocks, ctx), step)
    b.add_output(out, "features", TensorProto.DOUBLE, [None, None])
    session = ort.InferenceSession(
        b.build("features").SerializeToString(), providers=["CPUExecutionProvider"]
    )
    feeds = {c: frame[[c]].to_numpy(np.float64) for c in frame.columns}
    return np.asarray(session.run(["features"], feeds)[0])


def test_each_converted_feature_matches_numpy_on_edge_values() -> None:
    rng = np.random.default_rng(3)
    lat = np.concatenate([rng.uniform(-90, 90, 400), [51.5074, -51.5074, 90, -90, 0, 91, np.nan]])
    lon = np.concatenate([rng.uniform(-400, 400, 400), [-0.1278, 179.8722, 5, 0, np.inf, 0, 1]])
    n = len(lat)
    x = rng.normal(0, 100, n)
    x[:12] = [0.0, -1.0, -1.5, np.nan, 12.0, 24.0, 48.0, np.inf, -np.inf, 1e300, -0.0, 5.0]
    y = rng.normal(0, 100, n)
    y[:6] = [0.0, 0.0, -0.0, 2.0, np.nan, np.inf]
    frame = pd.DataFrame({"x": x, "y": y, "lat": lat, "lon": lon})
    steps = [
        MinMaxScale(columns=["x", "y"]),
        ZScore(),
        Log(columns=["x"], offset=1.0),
        Log(columns=["x", "y"], offset=0.0),
        Ratio("x", "y"),
        Bucketize([12.0, 24.0, 48.0], columns=["x", "y"]),
        HaversineNearest("lat", "lon", BRANCHES),
        HaversineNearest("lat", "lon", [(-51.5074, 179.8722)]),  # antipodes of London
    ]
    for step in steps:
        fitted = step.fit(frame.iloc[12:])
        expected = fitted.transform(frame)
        got = _graph_of(fitted, frame)
        assert got.shape == expected.shape, type(step).__name__
        np.testing.assert_array_equal(np.isnan(got), np.isnan(expected), type(step).__name__)
        np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-9, err_msg=repr(step))


def _package_and_compare(
    model: Any, frame: pd.DataFrame, path: Path, *, fresh: pd.DataFrame
) -> None:
    """Package on every row (so the contract admits them), compare on rows not fitted on."""
    built = mp.package(model, frame, name="features-demo", path=path)
    assert built.parity.passed, str(built.parity)
    assert built.manifest.runtime == "onnx"
    scorer = mp.load(path)
    out = scorer.predict(fresh)
    if "value" in out:
        np.testing.assert_allclose(out["value"], model.predict(fresh), rtol=0, atol=1e-6)
    else:
        proba = model.predict_proba(fresh)
        assert (
            np.abs(out[[c for c in out if c.startswith("proba_")]].to_numpy() - proba).max() <= 1e-6
        )
        assert (out["label"].to_numpy() == model.predict(fresh)).all()


def test_pipeline_with_graph_features_packages_with_parity(
    applications: pd.DataFrame, tmp_path: Path
) -> None:
    train, fresh = applications.iloc[:1_200], applications.iloc[1_200:][INPUTS]
    model = Pipeline(
        [
            ("features", _features()),
            ("prepare", _prepare(NUMERIC)),
            ("model", RandomForestClassifier(n_estimators=25, max_depth=8, random_state=0)),
        ]
    ).fit(train[INPUTS], train["approved"])
    fresh = fresh.copy()
    fresh.iloc[:5, fresh.columns.get_loc("annual_income")] = 0.0  # ratio by zero, log(1)
    fresh.iloc[5:10, fresh.columns.get_loc("lon")] = np.nan
    _package_and_compare(model, applications[INPUTS], tmp_path / "rf", fresh=fresh)


def test_regression_on_graph_features_meets_the_bar(
    applications: pd.DataFrame, tmp_path: Path
) -> None:
    train, fresh = applications.iloc[:1_200], applications.iloc[1_200:][INPUTS]
    model = Pipeline(
        [("features", _features()), ("prepare", _prepare(NUMERIC)), ("model", Ridge(alpha=1.0))]
    ).fit(train[INPUTS], train["interest_rate"])
    _package_and_compare(model, applications[INPUTS], tmp_path / "ridge", fresh=fresh)


def test_date_features_run_as_presteps_then_the_graph(
    applications: pd.DataFrame, tmp_path: Path
) -> None:
    raw_inputs = [c for c in INPUTS if c != "age"] + ["date_of_birth", "applied_on"]
    train = applications.iloc[:1_200]
    fresh = applications.iloc[1_200:][raw_inputs].copy()
    fresh.iloc[:3, fresh.columns.get_loc("date_of_birth")] = ["2000-02-29", None, "not a date"]
    numeric = [*NUMERIC, "applied_on_month", "applied_on_day_of_week"]
    model = Pipeline(
        [
            ("age", AgeFromDate("date_of_birth", "age", now=NOW)),
            ("parts", DateParts("applied_on", ["month", "day_of_week"])),
            ("features", _features()),
            ("prepare", _prepare(numeric)),
            ("model", RandomForestClassifier(n_estimators=25, max_depth=8, random_state=0)),
        ]
    ).fit(train[raw_inputs], train["approved"])

    # What the build will do: record the pre-steps, package the rest on their output.
    presteps, rest = split_presteps(model)
    assert presteps.inputs == ["date_of_birth", "applied_on"]
    built = mp.package(
        rest, presteps.apply(applications[raw_inputs]), name="with-presteps", path=tmp_path / "p"
    )
    assert built.parity.passed, str(built.parity)
    assert "age" in built.manifest.contract.names
    assert "date_of_birth" not in built.manifest.contract.names

    # What serving and batch will do: pre-steps (from the manifest form), then the graph.
    served = type(presteps).from_manifest(presteps.to_manifest())
    out = mp.load(tmp_path / "p").predict(served.apply(fresh, now=dt.date(2031, 1, 1)))
    proba = model.predict_proba(fresh)
    assert np.abs(out[["proba_0", "proba_1"]].to_numpy() - proba).max() <= 1e-6
    assert (out["label"].to_numpy() == model.predict(fresh)).all()


def test_a_date_transformer_inside_the_graph_is_refused_with_the_fix(
    applications: pd.DataFrame, tmp_path: Path
) -> None:
    inner = ColumnTransformer(
        [("age", AgeFromDate("date_of_birth", "age", now=NOW, drop=True), ["date_of_birth"])]
    )
    model = Pipeline([("inner", inner), ("model", Ridge())])
    rows = applications.iloc[:200]
    model.fit(rows[["date_of_birth"]].fillna("1980-01-01"), rows["interest_rate"])
    with pytest.raises(UnsupportedModel, match="pre-step"):
        mp.package(
            model, rows[["date_of_birth"]].fillna("1980-01-01"), name="x", path=tmp_path / "x"
        )
