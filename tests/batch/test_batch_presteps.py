"""Batch scoring runs a package's pre-steps like online scoring does: a file of raw rows
(date of birth, not age) scores equal to the scikit-learn pipeline, in every format."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from batch_inputs import read_rejects
from sklearn.pipeline import Pipeline

import modelport as mp
from customer_training import train_customer_pipeline
from modelport.batch import score_file
from modelport.datasets import customer_loan_applications, customers
from modelport.errors import BatchError

RAW = ["date_of_birth", "account_balance", "state", "loan_amount", "purpose"]


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    table = customers(300, seed=2)
    return customer_loan_applications(table, 1_500, seed=2).merge(table, on="customer_id")


@pytest.fixture(scope="module")
def pipeline(frame: pd.DataFrame) -> Pipeline:
    return train_customer_pipeline(frame, trees=15)


@pytest.fixture(scope="module")
def scorer(tmp_path_factory: pytest.TempPathFactory, pipeline: Pipeline, frame: pd.DataFrame):
    path = tmp_path_factory.mktemp("batch-presteps") / "loan-by-customer"
    mp.package(pipeline, frame[RAW], name="loan-by-customer", path=path)
    return mp.load(path)


@pytest.mark.parametrize("suffix", ["csv", "parquet", "jsonl"])
def test_a_file_of_raw_rows_scores_like_the_pipeline(
    tmp_path: Path, scorer, pipeline: Pipeline, frame: pd.DataFrame, suffix: str
) -> None:
    rows = frame[["customer_id", *RAW]].head(400)
    source = tmp_path / f"in.{suffix}"
    if suffix == "csv":
        rows.to_csv(source, index=False)
    elif suffix == "parquet":
        rows.to_parquet(source, index=False)
    else:
        source.write_text("\n".join(json.dumps(r) for r in rows.to_dict("records")) + "\n")
    output = tmp_path / "out.parquet"
    summary = score_file(scorer, source, output, carry=["customer_id"], chunk_rows=128)
    assert summary.rows_scored == 400 and summary.rows_rejected == 0
    scored = pq.read_table(output).to_pandas()
    carried = [str(v) for v in scored["customer_id"]]  # CSV columns are read as text
    assert carried == [str(v) for v in rows["customer_id"]]
    np.testing.assert_allclose(
        scored["proba_1"].to_numpy(), pipeline.predict_proba(rows[RAW])[:, 1], atol=1e-6
    )


def test_the_column_plan_asks_for_what_the_steps_read(tmp_path: Path, scorer, frame) -> None:
    source = tmp_path / "in.parquet"
    frame[["account_balance", "state", "loan_amount", "purpose"]].head(5).to_parquet(source)
    with pytest.raises(BatchError, match="date_of_birth"):
        score_file(scorer, source, tmp_path / "out.parquet")


def test_an_unreadable_date_is_a_reject_not_a_crash(tmp_path: Path, scorer, frame) -> None:
    rows = frame[RAW].head(3).copy()
    rows.loc[rows.index[1], "date_of_birth"] = "not a date"
    source = tmp_path / "in.csv"
    rows.to_csv(source, index=False)
    summary = score_file(scorer, source, tmp_path / "out.parquet")
    assert (summary.rows_scored, summary.rows_rejected) == (2, 1)
    # named as the file has it, as online answers name it: not "age is required"
    [reject] = read_rejects(Path(f"{tmp_path / 'out.parquet'}.rejects.jsonl"))
    assert reject["record"] == 1
    assert reject["errors"] == [
        {"field": "date_of_birth", "reason": "'not a date' is not a date (YYYY-MM-DD)"}
    ]
