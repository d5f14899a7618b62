"""The declaration: what is accepted, what is refused and why, and how it fits a model."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from modelport.decisions import Decisioning, Rule, ThresholdRules, TopK, check_declaration
from modelport.runtime import Task


def loan_rules(**changes: object) -> ThresholdRules:
    fields: dict[str, object] = {
        "rules": [Rule(">=", 0.7, "decline"), Rule(">=", 0.4, "refer")],
        "otherwise": "accept",
    }
    fields.update(changes)
    return ThresholdRules(**fields)  # type: ignore[arg-type]


def test_rules_keep_their_order_and_read_back_from_json() -> None:
    rules = loan_rules()
    assert [r.decision for r in rules.rules] == ["decline", "refer"]
    assert rules.score == "score"
    assert rules.texts() == ["score >= 0.7", "score >= 0.4", "else"]
    assert ThresholdRules.model_validate(rules.model_dump(mode="json")) == rules


def test_rule_takes_keywords_too() -> None:
    assert Rule(when=">", threshold=0.5, decision="x") == Rule(">", 0.5, "x")


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ([Rule(">=", 0.4, "refer"), Rule(">=", 0.7, "decline")], "rule 1 (score >= 0.7) can never"),
        ([Rule(">=", 0.4, "a"), Rule(">=", 0.4, "b")], "rule 1 (score >= 0.4) can never"),
        ([Rule(">=", 0.4, "a"), Rule(">", 0.4, "b")], "rule 1 (score > 0.4) can never"),
        ([Rule("<", 0.2, "a"), Rule("<", 0.1, "b")], "rule 1 (score < 0.1) can never"),
        # together, < 0.5 and >= 0.5 match every score: nothing after them can fire
        (
            [Rule("<", 0.5, "a"), Rule(">=", 0.5, "b"), Rule(">=", 0.1, "c")],
            "rule 2 (score >= 0.1) can never",
        ),
    ],
)
def test_a_rule_an_earlier_rule_always_preempts_is_refused(rules: list[Rule], message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ThresholdRules(rules=rules, otherwise="accept")


def test_rules_that_can_each_fire_are_accepted() -> None:
    # > 0.4 then >= 0.4: the second still fires at exactly 0.4
    ThresholdRules(rules=[Rule(">", 0.4, "a"), Rule(">=", 0.4, "b")], otherwise="c")
    # a band: low scores, then high scores, then the middle is 'otherwise'
    ThresholdRules(rules=[Rule("<", 0.2, "low"), Rule(">=", 0.8, "high")], otherwise="mid")
    # < 0.5 and > 0.5 leave exactly 0.5 to a third rule
    ThresholdRules(
        rules=[Rule("<", 0.5, "a"), Rule(">", 0.5, "b"), Rule(">=", 0.5, "tie")], otherwise="c"
    )


@pytest.mark.parametrize("threshold", [-0.1, 1.5, 70.0])
def test_probability_thresholds_lie_between_zero_and_one(threshold: float) -> None:
    with pytest.raises(ValidationError, match="must lie between 0 and 1"):
        loan_rules(rules=[Rule(">=", threshold, "decline")])
    # a regression value may be anything finite
    ThresholdRules(score="value", rules=[Rule(">=", threshold, "review")], otherwise="auto")


@pytest.mark.parametrize("threshold", [float("nan"), float("inf")])
def test_thresholds_are_finite(threshold: float) -> None:
    with pytest.raises(ValidationError, match="finite"):
        Rule(">=", threshold, "x")


@pytest.mark.parametrize(
    ("decision", "message"),
    [
        ("", "non-empty"),
        ("   ", "non-empty"),
        (" decline", "leading or trailing"),
        ("a,b", "may not contain"),
        ("a:b", "may not contain"),
        ("x" * 101, "longer than"),
        ("undecided", "reserved"),
    ],
)
def test_decisions_are_short_plain_labels(decision: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Rule(">=", 0.5, decision)
    with pytest.raises(ValidationError, match=message):
        loan_rules(otherwise=decision)


def test_unknown_operators_scores_and_empty_rules_are_refused() -> None:
    with pytest.raises(ValidationError):
        Rule("==", 0.5, "x")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="not a model output"):
        loan_rules(score="probability")
    with pytest.raises(ValidationError, match="not a model output"):
        loan_rules(score="proba_")
    with pytest.raises(ValidationError, match="at least 1"):
        loan_rules(rules=[])


def test_top_k_bounds() -> None:
    assert TopK() == TopK(k=1, min_probability=0.0, fallback="unknown")
    for bad in ({"k": 0}, {"min_probability": 1.2}, {"min_probability": -0.1}, {"fallback": ""}):
        with pytest.raises(ValidationError):
            TopK(**bad)  # type: ignore[arg-type]


def test_the_score_must_be_an_output_of_the_model() -> None:
    check_declaration(loan_rules(), Task.BINARY, [0, 1])
    check_declaration(loan_rules(score="proba_0"), Task.BINARY, [0, 1])
    check_declaration(loan_rules(score="proba_C"), Task.MULTICLASS, ["A", "B", "C"])
    with pytest.raises(ValueError, match="'proba_2' is not an output of this model"):
        check_declaration(loan_rules(score="proba_2"), Task.BINARY, [0, 1])
    with pytest.raises(ValueError, match="has proba_A, proba_B, proba_C"):
        check_declaration(loan_rules(), Task.MULTICLASS, ["A", "B", "C"])
    with pytest.raises(ValueError, match="outputs 'value'"):
        check_declaration(loan_rules(), Task.REGRESSION, None)
    value_rules = ThresholdRules(score="value", rules=[Rule(">", 9.0, "x")], otherwise="y")
    check_declaration(value_rules, Task.REGRESSION, None)
    with pytest.raises(ValueError, match="regression output"):
        check_declaration(value_rules, Task.BINARY, [0, 1])


def test_top_k_needs_a_classifier_with_enough_classes() -> None:
    check_declaration(TopK(k=3), Task.MULTICLASS, ["A", "B", "C"])
    with pytest.raises(ValueError, match="more classes than the 3"):
        check_declaration(TopK(k=4), Task.MULTICLASS, ["A", "B", "C"])
    with pytest.raises(ValueError, match="need a classifier"):
        check_declaration(TopK(), Task.REGRESSION, None)


def test_decisioning_block_round_trips_and_checks_the_task() -> None:
    block = Decisioning(rules=TopK(k=3, min_probability=0.3))
    assert Decisioning.model_validate(block.model_dump(mode="json")) == block
    assert Decisioning.model_validate({"rules": loan_rules().model_dump()}).rules == loan_rules()
    with pytest.raises(ValidationError):
        Decisioning.model_validate({"rules": {"kind": "lottery"}})
    with pytest.raises(ValidationError):
        Decisioning.model_validate({"rules": None, "extra": 1})
    assert Decisioning().is_empty
    with pytest.raises(ValueError, match="more classes"):
        block.check(Task.BINARY, [0, 1])
