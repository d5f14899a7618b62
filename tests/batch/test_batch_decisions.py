"""Decision and confidence fields in batch output: the columns ``decide_columns`` gives for
the same prediction, after the scorer's own, fixed per model in every format and chunk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from batch_inputs import read_output, write_parquet
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.pipeline import Pipeline

import modelport as mp
from modelport.batch import ArrowChunk, prediction_schema, score_chunk, score_file
from modelport.datasets import LOAN_FEATURES, loan_applications, loan_pipeline
from modelport.decisions import decide_columns
from modelport.errors import BatchError
from modelport.package import load_scorer, open_package
from modelport.runtime import Prediction, Scorer

RULES = "score>=0.7:approve, score>=0.4:refer, else:decline"
CLASSIFIER_FIELDS = ["decision", "rule_index", "rule", "probability", "margin", "threshold"]


@pytest.fixture(scope="module")
def rules_package(
    tmp_path_factory: pytest.TempPathFactory, fitted_loan_model: Pipeline, loan_frame: pd.DataFrame
) -> Path:
    path = tmp_path_factory.mktemp("decisions") / "loan-approval"
    mp.package(fitted_loan_model, loan_frame, name="loan-approval", path=path, decisions=RULES)
    return path


@pytest.fixture(scope="module")
def rules_scorer(rules_package: Path) -> Scorer:
    return load_scorer(open_package(rules_package))


@pytest.fixture(scope="module")
def rows(loan_frame: pd.DataFrame) -> pd.DataFrame:
    frame = loan_frame[LOAN_FEATURES].head(700).copy()
    frame.insert(0, "id", np.arange(700))
    return frame


def _prediction(scorer: Scorer, frame: pd.DataFrame) -> Prediction:
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return scorer.score(scorer.validate(records)).prediction


def _assert_decided(scored: pd.DataFrame, expected: dict[str, np.ndarray]) -> None:
    for name, column in expected.items():
        got = scored[name].to_numpy()
        if np.asarray(column).dtype.kind == "f":
            np.testing.assert_allclose(got.astype(float), column, atol=1e-9, err_msg=name)
        else:
            assert got.tolist() == np.asarray(column).tolist(), name


@pytest.mark.parametrize("suffix", ["csv", "parquet", "jsonl"])
def test_decision_columns_follow_the_predictions_in_every_format(
    tmp_path: Path, rules_package: Path, rules_scorer: Scorer, rows: pd.DataFrame, suffix: str
) -> None:
    source = write_parquet(rows, tmp_path / "applications.parquet", row_group_size=100)
    output = tmp_path / f"scores.{suffix}"
    summary = score_file(rules_scorer, source, output, carry=["id"], chunk_rows=256)
    assert summary.rows_scored == 700
    scored = read_output(output)
    assert list(scored.columns) == ["id", "label", "proba_0", "proba_1", *CLASSIFIER_FIELDS]
    prediction = _prediction(rules_scorer, rows[LOAN_FEATURES])
    decisioning = open_package(rules_package).manifest.decisioning
    expected = decide_columns(prediction, decisioning)
    assert list(expected) == CLASSIFIER_FIELDS
    _assert_decided(scored, expected)
    assert set(scored["decision"]) == {"approve", "refer", "decline"}
    score = prediction.probabilities[:, 1]  # type: ignore[index]
    assert scored["decision"].tolist() == [
        "approve" if s >= 0.7 else "refer" if s >= 0.4 else "decline" for s in score
    ]


def test_the_schema_is_fixed_even_for_no_rows(
    tmp_path: Path, rules_scorer: Scorer, rows: pd.DataFrame
) -> None:
    schema = prediction_schema(rules_scorer)
    assert schema.names == ["label", "proba_0", "proba_1", *CLASSIFIER_FIELDS]
    assert schema.field("decision").type == pa.string()
    assert schema.field("rule_index").type == pa.int64()
    assert schema.field("margin").type == pa.float64()
    table = pa.Table.from_pandas(rows.head(0), preserve_index=False).drop_columns(["id"])
    empty = score_chunk(rules_scorer, ArrowChunk(table))
    assert empty.table.schema.names == schema.names
    assert empty.table.schema.equals(schema)
    source = write_parquet(rows.head(0), tmp_path / "empty.parquet")
    output = tmp_path / "scores.parquet"
    score_file(rules_scorer, source, output, carry=["id"])
    written = pq.read_schema(output)
    assert written.names == ["id", *schema.names]
    assert written.field("decision").type == pa.string()


def test_refused_rows_leave_the_other_rows_decisions_in_place(
    tmp_path: Path, rules_package: Path, rules_scorer: Scorer, rows: pd.DataFrame
) -> None:
    frame = rows.head(40).copy()
    frame.loc[7, "age"] = -9.0  # never negative in the sample: refused
    source = write_parquet(frame, tmp_path / "applications.parquet")
    output = tmp_path / "scores.parquet"
    summary = score_file(rules_scorer, source, output, carry=["id"], chunk_rows=16)
    assert (summary.rows_scored, summary.rows_rejected) == (39, 1)
    kept = frame.drop(index=7)
    decisioning = open_package(rules_package).manifest.decisioning
    expected = decide_columns(_prediction(rules_scorer, kept[LOAN_FEATURES]), decisioning)
    _assert_decided(read_output(output), expected)


def test_a_carried_column_may_not_take_a_decision_field_name(
    tmp_path: Path, rules_scorer: Scorer, rows: pd.DataFrame
) -> None:
    source = write_parquet(rows.head(5).rename(columns={"id": "decision"}), tmp_path / "in.parquet")
    with pytest.raises(BatchError, match="cannot carry 'decision'"):
        score_file(rules_scorer, source, tmp_path / "out.parquet", carry=["decision"])


def test_a_regressor_with_an_interval_gets_its_bounds(tmp_path: Path) -> None:
    frame = loan_applications(4_000, seed=3)
    train, calibration, held_out = frame[:2_000], frame[2_000:3_500], frame[3_500:]
    model = loan_pipeline(RandomForestRegressor(n_estimators=15, max_depth=6, random_state=0))
    model.fit(train[LOAN_FEATURES], train["interest_rate"])
    path = tmp_path / "rate"
    mp.package(
        model, train, name="interest-rate", path=path, calibration=(calibration, "interest_rate")
    )
    package = open_package(path)
    scorer = load_scorer(package)
    source = write_parquet(held_out[LOAN_FEATURES], tmp_path / "held-out.parquet")
    output = tmp_path / "rates.jsonl"
    score_file(scorer, source, output, record_column="record", chunk_rows=200)
    scored = read_output(output)
    assert list(scored.columns) == ["record", "value", "lower", "upper"]
    accepted = held_out[LOAN_FEATURES].iloc[scored["record"].to_numpy()]
    expected = decide_columns(_prediction(scorer, accepted), package.manifest.decisioning)
    assert list(expected) == ["lower", "upper"]
    _assert_decided(scored, expected)
    assert (scored["lower"] <= scored["value"]).all() and (scored["value"] <= scored["upper"]).all()


def test_top_k_decisions_of_a_multiclass_model(tmp_path: Path, loan_frame: pd.DataFrame) -> None:
    model = loan_pipeline(RandomForestClassifier(n_estimators=15, max_depth=6, random_state=0))
    model.fit(loan_frame[LOAN_FEATURES], loan_frame["risk_grade"])
    path = tmp_path / "grade"
    mp.package(model, loan_frame, name="risk-grade", path=path, decisions="top2>=0.5, else:review")
    package = open_package(path)
    scorer = load_scorer(package)
    source = write_parquet(loan_frame[LOAN_FEATURES].head(300), tmp_path / "in.parquet")
    output = tmp_path / "grades.csv"
    score_file(scorer, source, output, chunk_rows=128)
    scored = pd.read_csv(output, keep_default_na=False)
    fields = ["decision", "rule_index", "rule", "probability", "margin"]
    assert list(scored.columns)[-5:] == fields
    expected = decide_columns(
        _prediction(scorer, loan_frame[LOAN_FEATURES].head(300)), package.manifest.decisioning
    )
    _assert_decided(scored, expected)
