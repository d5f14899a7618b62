"""A package that declares decision rules answers with its decision over HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestRegressor
from sklearn.pipeline import Pipeline

import modelport as mp
from live_server import MAX_RECORDS, MODEL, Deployment, start_server, stop_server
from modelport.datasets import LOAN_FEATURES, loan_applications, loan_pipeline
from modelport.registry import Registry
from modelport.settings import Settings


def test_every_answer_carries_the_decision_and_the_rule(
    tmp_path: Path,
    fitted_loan_model: Pipeline,
    loan_frame: pd.DataFrame,
    records: list[dict[str, Any]],
) -> None:
    path = tmp_path / "ruled"
    mp.package(
        fitted_loan_model,
        loan_frame,
        name=MODEL,
        path=path,
        decisions="score>=0.7:approve, score>=0.4:refer, else:decline",
    )
    home = tmp_path / "home"
    registry = Registry.from_settings(Settings(home=home))
    registry.register(path, alias="production")
    registry.close()
    live = start_server(Deployment(home, None, registry))
    try:
        single = httpx.post(f"{live.url}/v1/models/{MODEL}/predict", json=records[0], timeout=10)
        many = httpx.post(f"{live.url}/v1/models/{MODEL}/predict", json=records[:5], timeout=10)
    finally:
        stop_server(live)
    assert single.status_code == 200, single.text
    answer = single.json()["prediction"]
    score = answer["score"]
    assert answer["decision"] == (
        "approve" if score >= 0.7 else "refer" if score >= 0.4 else "decline"
    )
    assert answer["rule"]["text"]
    assert answer["confidence"]["probability"] >= 0.5
    assert [a["decision"] for a in many.json()["prediction"]][0] == answer["decision"]


def test_regression_intervals_over_http_cover_held_out_rows(tmp_path: Path) -> None:
    """The split-conformal interval a served regressor answers with covers 90% of held-out
    rows, within 2 points (2,000 calibration and 5,000 test rows, fixed seeds; see
    tests/decisions/test_conformal.py for why that is stable yet able to fail)."""
    frame = loan_applications(10_000, seed=11)
    train, calibration, test = frame.iloc[:3_000], frame.iloc[3_000:5_000], frame.iloc[5_000:]
    model = loan_pipeline(
        RandomForestRegressor(n_estimators=40, min_samples_leaf=3, random_state=0, n_jobs=1)
    ).fit(train[LOAN_FEATURES], train["interest_rate"])
    path = tmp_path / "rate"
    mp.package(
        model,
        frame[LOAN_FEATURES],  # the contract's ranges: every row the test sends is inside
        name="loan-rate",
        path=path,
        calibration=(calibration[[*LOAN_FEATURES, "interest_rate"]], "interest_rate"),
        coverage=0.9,
    )
    home = tmp_path / "home"
    registry = Registry.from_settings(Settings(home=home))
    registry.register(path, alias="production")
    registry.close()
    rows = test[LOAN_FEATURES].astype(object)
    records = rows.where(rows.notna(), None).to_dict("records")  # JSON has null, not NaN
    live = start_server(Deployment(home, None, registry))
    answers: list[dict[str, Any]] = []
    try:
        with httpx.Client(timeout=10) as client:
            for start in range(0, len(records), MAX_RECORDS):
                response = client.post(
                    f"{live.url}/v1/models/loan-rate/predict",
                    json=records[start : start + MAX_RECORDS],
                )
                assert response.status_code == 200, response.text
                answers += response.json()["prediction"]
    finally:
        stop_server(live)
    assert len(answers) == len(test)
    lower, upper = np.array([a["confidence"]["interval"] for a in answers]).T
    truth = test["interest_rate"].to_numpy()
    empirical = float(np.mean((lower <= truth) & (truth <= upper)))
    assert abs(empirical - 0.9) <= 0.02, f"{empirical:.4f} covered for a nominal 0.9"
    assert {a["confidence"]["coverage"] for a in answers} == {0.9}
    values = np.array([a["value"] for a in answers])
    np.testing.assert_allclose(values, model.predict(test[LOAN_FEATURES]), atol=1e-4)
