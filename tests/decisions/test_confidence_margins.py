"""Classifier confidence: the predicted class's probability and the margin, as documented."""

from __future__ import annotations

import numpy as np
import pytest

from modelport.decisions import (
    BINARY_THRESHOLD,
    TopK,
    margins,
    parse_rules,
    predicted_probability,
    threshold_margin,
    top_margin,
)
from modelport.runtime import Prediction, Task


def binary(scores: list[float]) -> Prediction:
    positive = np.asarray(scores, dtype=np.float64)
    probabilities = np.column_stack([1.0 - positive, positive])
    return Prediction(
        Task.BINARY, [0, 1], labels=(positive > 0.5).astype(int), probabilities=probabilities
    )


def test_margin_is_the_signed_distance_to_the_nearest_threshold() -> None:
    found = threshold_margin(np.array([0.95, 0.72, 0.66, 0.5, 0.1]), [0.7, 0.4])
    assert found.threshold is not None
    assert found.threshold.tolist() == [0.7, 0.7, 0.7, 0.4, 0.4]
    assert found.margin == pytest.approx([0.25, 0.02, -0.04, 0.1, -0.3])


def test_an_equally_near_threshold_goes_to_the_rule_listed_first() -> None:
    found = threshold_margin(np.array([0.5]), [0.75, 0.25])
    assert found.threshold is not None
    assert found.threshold.tolist() == [0.75]
    assert found.margin.tolist() == [-0.25]


def test_no_margin_without_a_finite_score() -> None:
    found = threshold_margin(np.array([np.nan, np.inf, 0.5]), [0.7])
    assert found.threshold is not None
    assert np.isnan(found.margin[:2]).all()
    assert np.isnan(found.threshold[:2]).all()
    assert found.margin[2] == pytest.approx(-0.2)


def test_top_margin_is_the_gap_between_the_two_best_classes() -> None:
    probabilities = np.array([[0.1, 0.6, 0.3], [0.4, 0.4, 0.2], [np.nan, 0.5, 0.5]])
    gap = top_margin(probabilities)
    assert gap[:2] == pytest.approx([0.3, 0.0])
    assert np.isnan(gap[2])


def test_probability_is_that_of_the_predicted_class() -> None:
    assert predicted_probability(binary([0.8, 0.3, 0.5])).tolist() == [0.8, 0.7, 0.5]


def test_margins_follow_the_declaration() -> None:
    prediction = binary([0.9, 0.45, 0.2])
    rules = margins(prediction, parse_rules("score>=0.7:decline, score>=0.4:refer, else:accept"))
    assert rules is not None
    assert rules.margin == pytest.approx([0.2, 0.05, -0.2])
    # no declaration: the label's own threshold, 0.5
    implicit = margins(prediction, None)
    assert implicit is not None
    assert implicit.threshold is not None
    assert implicit.threshold.tolist() == [BINARY_THRESHOLD] * 3
    assert implicit.margin == pytest.approx([0.4, -0.05, -0.3])
    # top-k: the top1 - top2 gap, no threshold
    gap = margins(prediction, TopK(k=2))
    assert gap is not None
    assert gap.threshold is None
    assert gap.margin == pytest.approx([0.8, 0.1, 0.6])


def test_regression_margin_is_in_the_units_of_the_value() -> None:
    prediction = Prediction(Task.REGRESSION, None, values=np.array([260_000.0, 10.0]))
    found = margins(prediction, parse_rules("value>250000:review, else:auto"))
    assert found is not None
    assert found.margin.tolist() == [10_000.0, -249_990.0]
    assert margins(prediction, None) is None
