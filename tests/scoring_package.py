"""A small package whose model has a pre-step (age from the date of birth, run at scoring
time), and rows to score with it: what the install and import tests score."""

from __future__ import annotations

from pathlib import Path

import modelport as mp
from customer_training import CUSTOMER_RAW, train_customer_pipeline
from modelport.datasets import customer_loan_applications, customers

__all__ = ["NAME", "build_scoring_package"]

NAME = "loan-by-customer"


def build_scoring_package(directory: Path, rows: int = 50) -> tuple[Path, Path]:
    """The package (``directory/NAME``) and a Parquet file of ``rows`` rows with its inputs
    and the ``approved`` target."""
    table = customers(300, seed=3)
    frame = customer_loan_applications(table, 1_500, seed=3).merge(table, on="customer_id")
    model = train_customer_pipeline(frame, trees=10, depth=5)
    path = directory / NAME
    mp.package(model, frame[CUSTOMER_RAW], name=NAME, path=path)
    sample = directory / "rows.parquet"
    frame[[*CUSTOMER_RAW, "approved"]].head(rows).to_parquet(sample)
    return path, sample
