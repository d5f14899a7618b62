"""The one scoring path: a Scorer is built complete, and its two doors (validate, score)
give every caller the same answers, pre-steps and decisions included."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn.pipeline import Pipeline

import modelport as mp
from customer_training import train_customer_pipeline
from modelport.batch import ArrowChunk, score_chunk
from modelport.contract import Contract, FieldSpec, FieldType
from modelport.datasets import customer_loan_applications, customers
from modelport.errors import InvalidInput
from modelport.package import load_scorer, open_package
from modelport.runtime import WARNINGS_ATTR, Prediction, Scorer, Task

SRC = Path(__file__).resolve().parents[2] / "src" / "modelport"
RAW = ["date_of_birth", "account_balance", "state", "loan_amount", "purpose"]
RULES = "score>=0.6:accept, score>=0.35:refer, else:decline"


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    table = customers(300, seed=3)
    return customer_loan_applications(table, 1_500, seed=3).merge(table, on="customer_id")


@pytest.fixture(scope="module")
def pipeline(frame: pd.DataFrame) -> Pipeline:
    return train_customer_pipeline(frame)


@pytest.fixture(scope="module")
def scorer(
    tmp_path_factory: pytest.TempPathFactory, pipeline: Pipeline, frame: pd.DataFrame
) -> Scorer:
    """A package with a pre-step (age from the date of birth) and decision rules."""
    path = tmp_path_factory.mktemp("scorer") / "by-customer"
    mp.package(pipeline, frame[RAW], name="by-customer", path=path, decisions=RULES)
    return load_scorer(open_package(path))


def test_a_scorer_is_built_complete_and_never_changes(scorer: Scorer) -> None:
    assert scorer.inputs == ("account_balance", "state", "loan_amount", "purpose", "date_of_birth")
    assert scorer.derived == ("age",)
    assert scorer.decision_fields[:3] == ("decision", "rule_index", "rule")
    for name in ("pre_steps", "extras", "_validator", "contract"):
        with pytest.raises(AttributeError, match="built complete"):
            setattr(scorer, name, None)


def test_records_columns_frames_and_batch_chunks_agree(
    scorer: Scorer, pipeline: Pipeline, frame: pd.DataFrame
) -> None:
    rows = frame[RAW].head(200).reset_index(drop=True)
    expected = pipeline.predict_proba(rows)[:, 1]
    records = rows.astype(object).where(rows.notna(), None)
    records["date_of_birth"] = rows["date_of_birth"].astype(str)
    by_records = scorer.score(scorer.validate(records.to_dict("records")))
    by_columns = scorer.score(scorer.validate({c: rows[c] for c in rows.columns}))
    by_frame = scorer.predict(rows)
    chunk = score_chunk(scorer, ArrowChunk(pa.Table.from_pandas(rows, preserve_index=False)))
    answers = by_records.answers()
    np.testing.assert_allclose([a["score"] for a in answers], expected, atol=1e-6)
    np.testing.assert_allclose(by_columns.prediction.probabilities[:, 1], expected, atol=1e-6)
    np.testing.assert_allclose(by_frame["proba_1"], expected, atol=1e-6)
    np.testing.assert_allclose(chunk.table.column("proba_1").to_numpy(), expected, atol=1e-6)
    # the decisions are the same through every door
    decisions = [a["decision"] for a in answers]
    assert by_frame["decision"].tolist() == decisions
    assert chunk.table.column("decision").to_pylist() == decisions
    assert list(by_columns.decision_columns()["decision"]) == decisions


def test_refusals_of_derived_fields_name_what_the_caller_sent(
    scorer: Scorer, frame: pd.DataFrame
) -> None:
    row = frame[RAW].iloc[0].to_dict()
    row["date_of_birth"] = "not a date"
    by_records = scorer.validate([row])
    by_columns = scorer.validate({k: [v] for k, v in row.items()})
    expected = [(0, "date_of_birth", "'not a date' is not a date (YYYY-MM-DD)")]
    assert [(e.record, e.field, e.reason) for e in by_records.errors] == expected
    assert [(e.record, e.field, e.reason) for e in by_columns.errors] == expected
    with pytest.raises(InvalidInput) as refused:
        scorer.predict(pd.DataFrame([row]))
    assert refused.value.errors[0].field == "date_of_birth"


class _Echo:
    """A runtime that answers each row's ``x`` as its value: the doors, not a model, tested."""

    def run(self, columns: dict[str, np.ndarray], n_rows: int) -> Prediction:
        return Prediction(Task.REGRESSION, None, values=np.asarray(columns["x"], dtype=float))


def test_values_outside_the_expected_range_are_scored_and_flagged() -> None:
    contract = Contract(
        fields=[
            FieldSpec(
                name="x",
                type=FieldType.NUMBER,
                minimum=0,
                expected_minimum=1,
                expected_maximum=10,
            )
        ]
    )
    scorer = Scorer(_Echo(), contract, Task.REGRESSION, None)
    validated = scorer.validate([{"x": 5.0}, {"x": 50.0}, {"x": -1.0}, {"x": 0.5}])
    assert [(e.record, e.field) for e in validated.errors] == [(2, "x")]  # a hard limit
    answers = scorer.score(validated).answers()
    assert [a["value"] for a in answers] == [5.0, 50.0, 0.5]
    assert "warnings" not in answers[0]
    assert [w["field"] for w in answers[1]["warnings"]] == ["x"]
    assert "expected maximum" in answers[1]["warnings"][0]["reason"]
    assert "expected minimum" in answers[2]["warnings"][0]["reason"]
    scored = scorer.predict(pd.DataFrame({"x": [2.0, 20.0]}))
    assert scored["value"].tolist() == [2.0, 20.0]
    assert [(w["record"], w["field"]) for w in scored.attrs[WARNINGS_ATTR]] == [(1, "x")]


def test_nothing_outside_runtime_reaches_into_a_scorer() -> None:
    """Every caller uses the two doors; the parts stay inside ``modelport.runtime``."""
    internals = re.compile(
        r"scorer\._\w+|\.(validator|pre_steps|score_validated|predict_records|validate_records)\b"
    )
    found = []
    for path in SRC.rglob("*.py"):
        if path.is_relative_to(SRC / "runtime") or path.is_relative_to(SRC / "contract"):
            continue  # the contract's own validator has validate_records
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if internals.search(line):
                found.append(f"{path.relative_to(SRC)}:{number}: {line.strip()}")
    assert found == []
