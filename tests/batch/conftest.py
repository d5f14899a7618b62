"""Fixtures for batch tests: the loan scorer, valid rows, and inputs with invalid rows; the
loan-by-customer model, whose package looks its customer inputs up by ``customer_id``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from batch_inputs import MAKERS, ROWS, Injected
from customer_model import CUSTOMER_MODEL, CUSTOMER_RAW, CUSTOMER_RULES, CUSTOMER_SPEC
from sklearn.pipeline import Pipeline

import modelport as mp
from customer_training import train_customer_pipeline
from modelport.datasets import (
    LOAN_FEATURES,
    customer_loan_applications,
    customers,
    loan_applications,
)
from modelport.package import load_scorer, open_package
from modelport.runtime import Scorer


@pytest.fixture(scope="session")
def scorer(loan_package_path: Path) -> Scorer:
    return load_scorer(open_package(loan_package_path))


@pytest.fixture(scope="session")
def valid_rows(scorer: Scorer) -> pd.DataFrame:
    """``ROWS`` loan applications that all pass the contract (missing values included),
    with an ``id`` column first and a free-text ``note`` column last."""
    frame = loan_applications(ROWS + ROWS // 10, seed=11)[LOAN_FEATURES]
    checked = scorer.validate(frame)
    frame = frame.iloc[checked.accepted[:ROWS]].reset_index(drop=True)
    frame.insert(0, "id", np.arange(1_000_000, 1_000_000 + ROWS, dtype=np.int64))
    frame["note"] = pd.Series([f"note, {i}" for i in range(ROWS)], dtype=object)
    return frame


@pytest.fixture(scope="session", params=sorted(MAKERS))
def injected(
    request: pytest.FixtureRequest,
    valid_rows: pd.DataFrame,
    tmp_path_factory: pytest.TempPathFactory,
) -> Injected:
    """A 25,000-row input in each format with invalid rows at known records."""
    directory = tmp_path_factory.mktemp(f"input-{request.param}")
    return MAKERS[request.param](valid_rows, directory)


@pytest.fixture(scope="session")
def customer_table() -> pd.DataFrame:
    """The bank's customers (ids 1 to 300), as the ``customers`` source holds them."""
    return customers(300, seed=4)


@pytest.fixture(scope="session")
def customer_pipeline(customer_table: pd.DataFrame) -> Pipeline:
    """Approval from the customer's row (age from the date of birth) and the application."""
    frame = customer_loan_applications(customer_table, 2_000, seed=4)
    frame = frame.merge(customer_table, on="customer_id")
    return train_customer_pipeline(frame)


@pytest.fixture(scope="session")
def customer_package(
    tmp_path_factory: pytest.TempPathFactory,
    customer_pipeline: Pipeline,
    customer_table: pd.DataFrame,
) -> Path:
    """The customer model packaged with its decision rules and where its inputs come from."""
    sample = customer_loan_applications(customer_table, 500, seed=5)
    sample = sample.merge(customer_table, on="customer_id")
    path = tmp_path_factory.mktemp("customer-package") / CUSTOMER_MODEL
    mp.package(
        customer_pipeline,
        sample[CUSTOMER_RAW],
        name=CUSTOMER_MODEL,
        path=path,
        decisions=CUSTOMER_RULES,
        orchestration=CUSTOMER_SPEC,
    )
    return path
