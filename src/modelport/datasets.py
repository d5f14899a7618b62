"""Synthetic data and a reference pipeline for examples, tests and benchmarks (no downloads)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from modelport.extras import require

__all__ = [
    "BRANCHES",
    "LOAN_CATEGORICAL",
    "LOAN_FEATURES",
    "LOAN_NUMERIC",
    "LOAN_TARGETS",
    "customer_loan_applications",
    "customers",
    "loan_applications",
    "loan_pipeline",
]

LOAN_FEATURES = [
    "age",
    "annual_income",
    "loan_amount",
    "loan_term_months",
    "debt_to_income",
    "credit_history_months",
    "open_accounts",
    "delinquencies",
    "employment_type",
    "home_ownership",
    "purpose",
    "region",
    "has_cosigner",
]
LOAN_TARGETS = ["approved", "risk_grade", "interest_rate"]
LOAN_NUMERIC = LOAN_FEATURES[:8] + ["has_cosigner"]
LOAN_CATEGORICAL = ["employment_type", "home_ownership", "purpose", "region"]


def loan_pipeline(estimator: Any) -> Any:
    """The usual shape of a tabular pipeline: impute and scale numbers, impute and one-hot
    encode categories, then ``estimator``. Returns an unfitted scikit-learn ``Pipeline``."""
    require("build", "modelport.datasets.loan_pipeline")
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())])
    categorical = Pipeline(
        [
            ("impute", SimpleImputer(strategy="constant", fill_value="missing")),
            ("onehot", OneHotEncoder(handle_unknown="ignore")),
        ]
    )
    columns = ColumnTransformer(
        [("num", numeric, LOAN_NUMERIC), ("cat", categorical, LOAN_CATEGORICAL)]
    )
    return Pipeline([("prepare", columns), ("model", estimator)])


def loan_applications(n_rows: int = 5_000, *, seed: int = 0) -> pd.DataFrame:
    """Loan applications with realistic skew, missing values and three targets.

    ``approved`` (binary 0/1), ``risk_grade`` (``"A"``..``"D"``) and ``interest_rate``
    (a percentage) depend on the features through a noisy credit-risk score.
    """
    rng = np.random.default_rng(seed)
    n = n_rows
    age = rng.normal(41, 12, n).clip(18, 90).round()
    income = rng.lognormal(10.9, 0.55, n).round(-2)
    amount = (income * rng.uniform(0.05, 0.6, n)).round(-2).clip(500, None)
    term = rng.choice([12, 24, 36, 48, 60], n, p=[0.1, 0.2, 0.35, 0.15, 0.2])
    dti = rng.beta(2, 5, n).round(3) * 60
    history = (np.maximum(age - 18, 0) * 12 * rng.uniform(0.2, 1.0, n)).round()
    accounts = rng.poisson(6, n)
    delinquencies = rng.poisson(0.3, n)
    employment = rng.choice(
        ["salaried", "self_employed", "contract", "unemployed", "retired"],
        n,
        p=[0.55, 0.15, 0.15, 0.07, 0.08],
    )
    home = rng.choice(["rent", "mortgage", "own", "other"], n, p=[0.4, 0.4, 0.17, 0.03])
    purpose = rng.choice(
        ["debt_consolidation", "home_improvement", "car", "education", "medical", "business"],
        n,
        p=[0.35, 0.2, 0.2, 0.1, 0.08, 0.07],
    )
    region = rng.choice(["north", "south", "east", "west", "central"], n)
    cosigner = rng.random(n) < 0.12

    risk = (
        -2.2 * np.log(income / 60_000)
        + 3.0 * amount / income
        + 0.05 * dti
        - 0.004 * history
        + 0.6 * delinquencies
        + np.select(
            [employment == "unemployed", employment == "contract", employment == "retired"],
            [1.5, 0.4, 0.2],
            0.0,
        )
        + np.where(home == "own", -0.5, np.where(home == "rent", 0.2, 0.0))
        + np.where(purpose == "business", 0.5, 0.0)
        - 0.8 * cosigner
        + rng.normal(0, 0.8, n)
    )
    approved = (risk < np.quantile(risk, 0.62)).astype(np.int64)
    grade = np.array(["A", "B", "C", "D"])[np.digitize(risk, np.quantile(risk, [0.25, 0.5, 0.75]))]
    rate = (6.0 + 2.1 * risk + 0.03 * term + rng.normal(0, 0.7, n)).clip(2.5, 35).round(2)

    frame = pd.DataFrame(
        {
            "age": age,
            "annual_income": income,
            "loan_amount": amount,
            "loan_term_months": term.astype(np.int64),
            "debt_to_income": dti,
            "credit_history_months": history,
            "open_accounts": accounts.astype(np.int64),
            "delinquencies": delinquencies.astype(np.int64),
            "employment_type": pd.Series(employment, dtype=object),
            "home_ownership": pd.Series(home, dtype=object),
            "purpose": pd.Series(purpose, dtype=object),
            "region": pd.Series(region, dtype=object),
            "has_cosigner": cosigner,
            "approved": approved,
            "risk_grade": grade,
            "interest_rate": rate,
        }
    )
    # Missing values where real applications have them: unreported income and history,
    # blank employment and purpose.
    for column, share in (
        ("annual_income", 0.04),
        ("credit_history_months", 0.08),
        ("debt_to_income", 0.05),
        ("age", 0.02),
    ):
        frame.loc[rng.random(n) < share, column] = np.nan
    for column, share in (("employment_type", 0.06), ("purpose", 0.03)):
        frame.loc[rng.random(n) < share, column] = np.nan
    return frame


# Branch locations (latitude, longitude) of the example bank: twelve US cities.
BRANCHES: list[tuple[float, float]] = [
    (40.7128, -74.0060),  # New York
    (34.0522, -118.2437),  # Los Angeles
    (41.8781, -87.6298),  # Chicago
    (29.7604, -95.3698),  # Houston
    (33.4484, -112.0740),  # Phoenix
    (39.9526, -75.1652),  # Philadelphia
    (32.7767, -96.7970),  # Dallas
    (37.7749, -122.4194),  # San Francisco
    (47.6062, -122.3321),  # Seattle
    (39.7392, -104.9903),  # Denver
    (25.7617, -80.1918),  # Miami
    (42.3601, -71.0589),  # Boston
]
_STATES = ["NY", "CA", "IL", "TX", "AZ", "PA", "WA", "CO", "FL", "MA"]


def customers(n_customers: int = 1_000, *, seed: int = 0) -> pd.DataFrame:
    """The example bank's customer table: ids 1..n with what scoring looks up.

    ``date_of_birth`` (ISO date text, as a CRM table stores it), ``state``,
    ``account_balance`` and the home's ``home_lat``/``home_lon`` (most customers live near
    a branch, some far from any).
    """
    rng = np.random.default_rng(seed)
    n = n_customers
    born = pd.Timestamp("2006-01-01") - pd.to_timedelta(rng.integers(0, 60 * 365, n), unit="D")
    near = rng.integers(0, len(BRANCHES), n)
    spread = np.where(rng.random(n) < 0.8, 0.3, 4.0)  # degrees: near a branch, or far away
    lat = np.array([BRANCHES[i][0] for i in near]) + rng.normal(0, 1, n) * spread
    lon = np.array([BRANCHES[i][1] for i in near]) + rng.normal(0, 1, n) * spread
    return pd.DataFrame(
        {
            "customer_id": np.arange(1, n + 1, dtype=np.int64),
            "date_of_birth": pd.Series(born.strftime("%Y-%m-%d"), dtype=object),
            "state": pd.Series(rng.choice(_STATES, n), dtype=object),
            "account_balance": rng.lognormal(8.5, 1.2, n).round(2),
            "home_lat": lat.round(5),
            "home_lon": lon.round(5),
        }
    )


def customer_loan_applications(
    customer_table: pd.DataFrame, n_applications: int = 5_000, *, seed: int = 0
) -> pd.DataFrame:
    """Applications by existing customers: the customer's id, what the application itself
    says (``loan_amount``, ``loan_term_months``, ``purpose``) and whether it was
    ``approved``, which depends on the customer's age, balance and distance to the nearest
    branch as well as on the application."""
    rng = np.random.default_rng(seed)
    n = n_applications
    chosen = customer_table.sample(n, replace=True, random_state=seed).reset_index(drop=True)
    amount = rng.lognormal(9.2, 0.7, n).round(-2).clip(500, None)
    term = rng.choice([12, 24, 36, 48, 60], n)
    purpose = rng.choice(["debt_consolidation", "home_improvement", "car", "education"], n)
    age = (pd.Timestamp("2026-01-01") - pd.to_datetime(chosen["date_of_birth"])).dt.days / 365.25
    lat = np.radians(chosen["home_lat"].to_numpy())[:, None]
    lon = np.radians(chosen["home_lon"].to_numpy())[:, None]
    branch = np.radians(np.array(BRANCHES))
    d_lat, d_lon = branch[:, 0] - lat, branch[:, 1] - lon
    a = np.sin(d_lat / 2) ** 2 + np.cos(lat) * np.cos(branch[:, 0]) * np.sin(d_lon / 2) ** 2
    distance = (2 * 6371.0088 * np.arcsin(np.sqrt(a))).min(axis=1)
    risk = (
        1.4 * np.log(amount / chosen["account_balance"].to_numpy())
        - 0.03 * age.to_numpy()
        + 0.004 * distance
        + 0.02 * term
        + np.where(purpose == "education", 0.4, 0.0)
        + rng.normal(0, 0.8, n)
    )
    return pd.DataFrame(
        {
            "customer_id": chosen["customer_id"].to_numpy(),
            "loan_amount": amount,
            "loan_term_months": term.astype(np.int64),
            "purpose": pd.Series(purpose, dtype=object),
            "approved": (risk < np.quantile(risk, 0.6)).astype(np.int64),
        }
    )
