"""The loan-by-customer pipeline several suites train (server, batch, benchmarks' shape):
age from the date of birth (a pre-step), state and purpose one-hot encoded, a small
random forest. Its inputs are what the customer table and the application hold."""

from __future__ import annotations

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from modelport.features import AgeFromDate

__all__ = ["CUSTOMER_RAW", "train_customer_pipeline"]

CUSTOMER_RAW = ["date_of_birth", "account_balance", "state", "loan_amount", "purpose"]


def train_customer_pipeline(frame: pd.DataFrame, *, trees: int = 20, depth: int = 6) -> Pipeline:
    """Fitted on ``frame``: applications joined with their customers' rows (``approved``)."""
    prepare = ColumnTransformer(
        [
            ("num", "passthrough", ["age", "account_balance", "loan_amount"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["state", "purpose"]),
        ]
    )
    model = Pipeline(
        [
            ("age", AgeFromDate(column="date_of_birth", output="age")),
            ("prepare", prepare),
            ("model", RandomForestClassifier(n_estimators=trees, max_depth=depth, random_state=0)),
        ]
    )
    return model.fit(frame[CUSTOMER_RAW], frame["approved"])
