"""Predictions become frames and JSON answers with the documented shape."""

from __future__ import annotations

import numpy as np

from modelport.runtime import Prediction, Task


def test_binary_answers_carry_label_probabilities_and_score() -> None:
    prediction = Prediction(
        Task.BINARY,
        ["no", "yes"],
        labels=np.array(["yes", "no"], dtype=object),
        probabilities=np.array([[0.25, 0.75], [0.9, 0.1]]),
    )
    assert prediction.to_records() == [
        {"label": "yes", "probabilities": {"no": 0.25, "yes": 0.75}, "score": 0.75},
        {"label": "no", "probabilities": {"no": 0.9, "yes": 0.1}, "score": 0.1},
    ]
    frame = prediction.to_frame()
    assert list(frame.columns) == ["label", "proba_no", "proba_yes"]


def test_multiclass_answers_have_no_score() -> None:
    prediction = Prediction(
        Task.MULTICLASS,
        [1, 2, 3],
        labels=np.array([3]),
        probabilities=np.array([[0.1, 0.2, 0.7]]),
    )
    assert prediction.to_records() == [
        {"label": 3, "probabilities": {"1": 0.1, "2": 0.2, "3": 0.7}}
    ]


def test_regression_answers_are_values_and_take_selects_rows() -> None:
    prediction = Prediction(Task.REGRESSION, None, values=np.array([1.5, 2.5, 3.5]))
    assert prediction.take(np.array([2, 0])).to_records() == [{"value": 3.5}, {"value": 1.5}]
    assert list(prediction.to_frame().columns) == ["value"]
    assert len(prediction) == 3
