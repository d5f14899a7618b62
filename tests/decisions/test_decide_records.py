"""The per-record answer fields and the batch columns built from a Decisioning block."""

from __future__ import annotations

import json

import numpy as np
import pytest

from modelport.decisions import (
    ConformalCalibration,
    Decisioning,
    TopK,
    decide,
    decide_columns,
    parse_rules,
)
from modelport.runtime import Prediction, Task


def binary(scores: list[float]) -> Prediction:
    positive = np.asarray(scores, dtype=np.float64)
    probabilities = np.column_stack([1.0 - positive, positive])
    return Prediction(
        Task.BINARY, [0, 1], labels=(positive > 0.5).astype(int), probabilities=probabilities
    )


LOAN = Decisioning(rules=parse_rules("score>=0.7:decline, score>=0.4:refer, else:accept"))


def test_binary_records_carry_decision_rule_and_confidence() -> None:
    records = decide(binary([0.9, 0.45, np.nan]), LOAN)
    assert records[0] == {
        "decision": "decline",
        "rule": {"index": 0, "text": "score >= 0.7"},
        "confidence": {"probability": 0.9, "margin": pytest.approx(0.2), "threshold": 0.7},
    }
    assert records[1]["decision"] == "refer"
    assert records[1]["confidence"]["probability"] == pytest.approx(0.55)
    assert records[1]["confidence"]["margin"] == pytest.approx(0.05)
    assert records[2] == {
        "decision": "undecided",
        "rule": {"index": None, "text": "no rule: the score is not a finite number"},
        "confidence": {"probability": None, "margin": None, "threshold": None},
    }
    json.dumps(records, allow_nan=False)  # JSON-ready: no NaN, no NumPy types


def test_top_k_records_list_the_best_classes() -> None:
    prediction = Prediction(
        Task.MULTICLASS,
        ["A", "B", "C"],
        labels=np.array(["B"], dtype=object),
        probabilities=np.array([[0.25, 0.45, 0.3]]),
    )
    (record,) = decide(prediction, Decisioning(rules=TopK(k=2, min_probability=0.5)))
    assert record["decision"] == "unknown"
    assert record["rule"] == {"index": 1, "text": "else"}
    assert record["top_k"] == [
        {"class": "B", "probability": 0.45},
        {"class": "C", "probability": 0.3},
    ]
    assert record["confidence"] == {"probability": 0.45, "margin": pytest.approx(0.15)}


def test_regression_records_carry_the_interval_and_its_coverage() -> None:
    block = Decisioning(
        rules=parse_rules("value>20:review, else:auto"),
        conformal=ConformalCalibration(coverage=0.9, quantile=1.5, n=500),
    )
    prediction = Prediction(Task.REGRESSION, None, values=np.array([21.0, 3.0]))
    records = decide(prediction, block)
    assert records[0] == {
        "decision": "review",
        "rule": {"index": 0, "text": "value > 20.0"},
        "confidence": {"margin": 1.0, "threshold": 20.0, "interval": [19.5, 22.5], "coverage": 0.9},
    }
    plain = decide(prediction, Decisioning(conformal=block.conformal))
    assert plain[1] == {"confidence": {"interval": [1.5, 4.5], "coverage": 0.9}}


def test_without_a_block_classifiers_still_get_confidence() -> None:
    assert decide(binary([0.8]), None) == [
        {"confidence": {"probability": 0.8, "margin": pytest.approx(0.3), "threshold": 0.5}}
    ]
    regression = Prediction(Task.REGRESSION, None, values=np.array([1.0]))
    assert decide(regression, None) == [{"confidence": {}}]


def test_columns_hold_the_same_answers_for_batch_output() -> None:
    prediction = binary([0.9, 0.45, 0.1, np.nan])
    columns = decide_columns(prediction, LOAN)
    assert list(columns) == ["decision", "rule_index", "rule", "probability", "margin", "threshold"]
    assert columns["decision"].tolist() == ["decline", "refer", "accept", "undecided"]
    assert columns["rule_index"].tolist() == [0, 1, 2, -1]
    assert all(len(column) == 4 for column in columns.values())
    records = decide(prediction, LOAN)
    assert [r["decision"] for r in records] == columns["decision"].tolist()


def test_a_block_must_fit_the_model() -> None:
    with pytest.raises(ValueError, match="conformal intervals are for regressors"):
        Decisioning(conformal=ConformalCalibration(coverage=0.9, quantile=1.0, n=50)).check(
            Task.BINARY, [0, 1]
        )
    with pytest.raises(ValueError, match="outputs 'value'"):
        LOAN.check(Task.REGRESSION, None)
    assert LOAN.check(Task.BINARY, [0, 1]) is LOAN
