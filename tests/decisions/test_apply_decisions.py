"""Applying a declaration row by row: first match, boundaries, else, undecided, top-k."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from modelport.datasets import LOAN_FEATURES, loan_applications, loan_pipeline
from modelport.decisions import (
    NO_RULE,
    UNDECIDED,
    Rule,
    ThresholdRules,
    TopK,
    apply,
    parse_rules,
    score_of,
)
from modelport.runtime import Prediction, Task


def binary(scores: list[float]) -> Prediction:
    positive = np.asarray(scores, dtype=np.float64)
    probabilities = np.column_stack([1.0 - positive, positive])
    labels = np.where(positive > 0.5, 1, 0)
    return Prediction(Task.BINARY, [0, 1], labels=labels, probabilities=probabilities)


def multiclass(rows: list[list[float]], classes: list[object]) -> Prediction:
    probabilities = np.asarray(rows, dtype=np.float64)
    labels = np.array(classes, dtype=object)[np.argmax(probabilities, axis=1)]
    return Prediction(Task.MULTICLASS, classes, labels=labels, probabilities=probabilities)


LOAN = parse_rules("score>=0.7:decline, score>=0.4:refer, else:accept")


def test_the_first_matching_rule_fires() -> None:
    decided = apply(LOAN, binary([0.95, 0.7, 0.55, 0.4, 0.39, 0.0, 1.0]))
    assert decided.decision.tolist() == [
        "decline",
        "decline",
        "refer",
        "refer",
        "accept",
        "accept",
        "decline",
    ]
    assert decided.rule_index.tolist() == [0, 0, 1, 1, 2, 2, 0]
    assert decided.rule_text.tolist()[:3] == ["score >= 0.7", "score >= 0.7", "score >= 0.4"]
    assert decided.rule_text[4] == "else"


def test_order_decides_when_rules_overlap() -> None:
    # 0.9 matches both rules; the one listed first wins, whichever it is
    first_high = parse_rules("score>=0.8:high, score>0.5:mid, else:low")
    first_band = parse_rules("score<0.2:low, score>=0.8:high, else:mid")
    assert apply(first_high, binary([0.9, 0.6])).decision.tolist() == ["high", "mid"]
    assert apply(first_band, binary([0.9, 0.1, 0.5])).decision.tolist() == ["high", "low", "mid"]


@pytest.mark.parametrize(
    ("text", "at", "below", "above"),
    [
        ("score>=0.5:yes, else:no", "yes", "no", "yes"),
        ("score>0.5:yes, else:no", "no", "no", "yes"),
        ("score<=0.5:yes, else:no", "yes", "yes", "no"),
        ("score<0.5:yes, else:no", "no", "yes", "no"),
    ],
)
def test_boundaries_follow_the_operator(text: str, at: str, below: str, above: str) -> None:
    below_half = float(np.nextafter(0.5, 0.0))
    above_half = float(np.nextafter(0.5, 1.0))
    decided = apply(parse_rules(text), binary([0.5, below_half, above_half]))
    assert decided.decision.tolist() == [at, below, above]


def test_a_score_that_is_not_a_number_is_undecided_not_otherwise() -> None:
    decided = apply(LOAN, binary([np.nan, 0.1, np.inf]))
    assert decided.decision.tolist() == [UNDECIDED, "accept", UNDECIDED]
    assert decided.rule_index.tolist() == [NO_RULE, 2, NO_RULE]
    assert decided.rule_text[0] == "no rule: the score is not a finite number"
    record = decided.to_records()[0]
    assert record == {
        "decision": "undecided",
        "rule": {"index": None, "text": "no rule: the score is not a finite number"},
    }


def test_regression_rules_test_the_value() -> None:
    rules = parse_rules("value>20:review, value<0:reject, else:auto")
    prediction = Prediction(Task.REGRESSION, None, values=np.array([25.0, -1.0, 5.0, np.nan]))
    assert apply(rules, prediction).decision.tolist() == ["review", "reject", "auto", UNDECIDED]


def test_class_probabilities_are_found_by_their_name() -> None:
    prediction = multiclass([[0.1, 0.2, 0.7], [0.5, 0.3, 0.2]], ["A", "B", "D"])
    rules = ThresholdRules(score="proba_D", rules=[Rule(">=", 0.5, "decline")], otherwise="ok")
    assert apply(rules, prediction).decision.tolist() == ["decline", "ok"]
    # 'score' is the binary positive class, classes[1]
    assert score_of(binary([0.25]), "score").tolist() == [0.25]
    assert score_of(binary([0.25]), "proba_0").tolist() == [0.75]
    with pytest.raises(ValueError, match="not an output of this prediction"):
        score_of(prediction, "proba_C")
    with pytest.raises(ValueError, match="only defined for a binary"):
        score_of(prediction, "score")


def test_records_carry_the_decision_and_the_rule() -> None:
    assert apply(LOAN, binary([0.8, 0.1])).to_records() == [
        {"decision": "decline", "rule": {"index": 0, "text": "score >= 0.7"}},
        {"decision": "accept", "rule": {"index": 2, "text": "else"}},
    ]


def test_top_k_decides_the_top_class_above_the_minimum() -> None:
    prediction = multiclass(
        [[0.1, 0.6, 0.3], [0.34, 0.33, 0.33], [0.2, 0.2, 0.6], [np.nan, 0.5, 0.5]], ["A", "B", "C"]
    )
    decided = apply(TopK(k=2, min_probability=0.4, fallback="unsure"), prediction)
    assert decided.decision.tolist() == ["B", "unsure", "C", UNDECIDED]
    assert decided.rule_index.tolist() == [0, 1, 0, NO_RULE]
    assert decided.rule_text.tolist()[:2] == ["top1 >= 0.4", "else"]
    assert decided.top_classes is not None
    assert decided.top_classes.tolist()[:3] == [["B", "C"], ["A", "B"], ["C", "A"]]
    records = decided.to_records()
    assert records[0]["top_k"] == [
        {"class": "B", "probability": 0.6},
        {"class": "C", "probability": 0.3},
    ]


def test_top_k_ties_go_to_the_class_listed_first() -> None:
    prediction = multiclass([[0.4, 0.4, 0.2], [0.2, 0.4, 0.4]], [2, 0, 1])
    decided = apply(TopK(k=3), prediction)
    assert decided.top_classes is not None
    assert decided.top_classes.tolist() == [[2, 0, 1], [0, 1, 2]]
    # decisions are strings; the top-k lists keep the classes as the model has them
    assert decided.decision.tolist() == ["2", "0"]


def test_an_empty_prediction_has_no_decisions() -> None:
    assert len(apply(LOAN, binary([]))) == 0
    empty = multiclass([[0.1, 0.9]], ["A", "B"]).take(np.array([], dtype=np.int64))
    assert len(apply(TopK(k=2), empty)) == 0


def test_decisions_on_a_real_model_match_a_row_by_row_reading() -> None:
    frame = loan_applications(2_000, seed=3)
    model = loan_pipeline(LogisticRegression(max_iter=500))
    model.fit(frame[LOAN_FEATURES], frame["approved"])
    probabilities = model.predict_proba(frame[LOAN_FEATURES])
    prediction = Prediction(
        Task.BINARY, [0, 1], labels=model.predict(frame[LOAN_FEATURES]), probabilities=probabilities
    )
    rules = parse_rules("score<0.3:decline, score<0.6:refer, score>0.95:fast track, else:approve")
    decided = apply(rules, prediction)

    def by_hand(p: float) -> str:
        if p < 0.3:
            return "decline"
        if p < 0.6:
            return "refer"
        if p > 0.95:
            return "fast track"
        return "approve"

    assert decided.decision.tolist() == [by_hand(p) for p in probabilities[:, 1]]
    assert set(decided.decision.tolist()) == {"decline", "refer", "fast track", "approve"}
