"""A pipeline that starts with date-based pre-steps packages, and the declared pre-steps
run identically in Python, online over HTTP, and in the reference check."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

import modelport as mp
from customer_training import train_customer_pipeline
from live_server import Deployment, start_server, stop_server
from modelport.datasets import customer_loan_applications, customers
from modelport.package import load_scorer, open_package
from modelport.registry import Registry
from modelport.settings import Settings

RAW = ["date_of_birth", "account_balance", "state", "loan_amount", "purpose"]


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    table = customers(400, seed=1)
    applications = customer_loan_applications(table, 2_000, seed=1)
    return applications.merge(table, on="customer_id")


@pytest.fixture(scope="module")
def pipeline(frame: pd.DataFrame) -> Pipeline:
    return train_customer_pipeline(frame)


@pytest.fixture(scope="module")
def package_path(
    tmp_path_factory: pytest.TempPathFactory, pipeline: Pipeline, frame: pd.DataFrame
) -> Path:
    path = tmp_path_factory.mktemp("presteps") / "loan-by-customer"
    mp.package(pipeline, frame[RAW], name="loan-by-customer", path=path)
    return path


def test_the_manifest_declares_the_step_and_the_contract_takes_its_output(
    package_path: Path,
) -> None:
    manifest = open_package(package_path).manifest
    assert manifest.presteps and manifest.presteps[0]["step"] == "age_from_date"
    assert "age" in manifest.contract.names and "date_of_birth" not in manifest.contract.names


def test_python_scoring_runs_the_steps_like_the_pipeline(
    package_path: Path, pipeline: Pipeline, frame: pd.DataFrame
) -> None:
    rows = frame[RAW].head(300)
    scored = mp.load(package_path).predict(rows)
    expected = pipeline.predict_proba(rows)[:, 1]
    np.testing.assert_allclose(scored["proba_1"].to_numpy(), expected, atol=1e-6)


def test_online_answers_equal_the_pipeline(
    tmp_path: Path, package_path: Path, pipeline: Pipeline, frame: pd.DataFrame
) -> None:
    home = tmp_path / "home"
    registry = Registry.from_settings(Settings(home=home))
    registry.register(package_path, alias="production")
    registry.close()
    rows = frame[RAW].head(20)
    records = rows.to_dict("records")
    live = start_server(Deployment(home, None, registry))
    try:
        response = httpx.post(
            f"{live.url}/v1/models/loan-by-customer/predict", json=records, timeout=10
        )
        missing = httpx.post(
            f"{live.url}/v1/models/loan-by-customer/predict",
            json={k: v for k, v in records[0].items() if k != "date_of_birth"},
            timeout=10,
        )
        unreadable = httpx.post(
            f"{live.url}/v1/models/loan-by-customer/predict",
            json=[records[0], {**records[1], "date_of_birth": "15/06/1990"}],
            timeout=10,
        )
        unborn = httpx.post(  # a negative age: the sample proves ages are not
            f"{live.url}/v1/models/loan-by-customer/predict",
            json={**records[0], "date_of_birth": "2990-01-01"},
            timeout=10,
        )
    finally:
        stop_server(live)
    assert response.status_code == 200, response.text
    scores = [p["score"] for p in response.json()["prediction"]]
    np.testing.assert_allclose(scores, pipeline.predict_proba(rows)[:, 1], atol=1e-6)
    # refusals name the field the caller sent, not the age the pre-step makes from it
    assert missing.status_code == 422
    assert missing.json()["errors"] == [
        {
            "record": 0,
            "field": "date_of_birth",
            "reason": "is required (the pre-step age_from_date derives age from it)",
        }
    ]
    assert unreadable.status_code == 422
    assert unreadable.json()["errors"] == [
        {
            "record": 1,
            "field": "date_of_birth",
            "reason": "'15/06/1990' is not a date (YYYY-MM-DD)",
        }
    ]
    (error,) = unborn.json()["errors"]
    assert error["field"] == "date_of_birth"
    assert error["reason"].startswith("gives age: ") and "below the minimum 0" in error["reason"]


def test_any_value_for_a_date_is_refused_naming_its_type(package_path: Path) -> None:
    """However odd the value (a list nested a thousand deep), the refusal names the field;
    showing the value must not itself fail and take the neighbours in its batch with it."""
    scorer = load_scorer(open_package(package_path))
    good = {"account_balance": 100.0, "state": "CA", "loan_amount": 900.0, "purpose": "car"}
    nested: list[object] = []
    for _ in range(1_000):
        nested = [nested]
    validated = scorer.validate(
        [{**good, "date_of_birth": "1980-01-01"}, {**good, "date_of_birth": nested}]
    )
    assert [(e.record, e.field, e.reason) for e in validated.errors] == [
        (1, "date_of_birth", "list is not a date (YYYY-MM-DD)")
    ]
    assert validated.accepted.tolist() == [0]
