"""Fixtures for batch tests: the loan scorer, valid rows, and inputs with invalid rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from batch_inputs import MAKERS, ROWS, Injected

from modelport.datasets import LOAN_FEATURES, loan_applications
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
    checked = scorer.validator.validate_columns({c: frame[c] for c in frame.columns}, len(frame))
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
