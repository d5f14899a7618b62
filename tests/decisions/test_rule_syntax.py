"""The compact text form: parsing, writing back, and errors that say what is wrong."""

from __future__ import annotations

import pytest

from modelport.decisions import (
    Rule,
    RuleSyntaxError,
    ThresholdRules,
    TopK,
    format_rules,
    parse_rules,
)


def test_the_issue_example_parses_in_order() -> None:
    parsed = parse_rules("score>=0.7:decline, score>=0.4:refer, else:accept")
    assert parsed == ThresholdRules(
        score="score",
        rules=[Rule(">=", 0.7, "decline"), Rule(">=", 0.4, "refer")],
        otherwise="accept",
    )


def test_spaces_are_ignored_and_names_may_hold_spaces() -> None:
    parsed = parse_rules("  value >  250000 : manual review ,value<=0:reject,  else : auto ")
    assert parsed == ThresholdRules(
        score="value",
        rules=[Rule(">", 250000.0, "manual review"), Rule("<=", 0.0, "reject")],
        otherwise="auto",
    )


def test_class_probabilities_and_top_k() -> None:
    parsed = parse_rules("proba_D>=0.5:decline, else:accept")
    assert isinstance(parsed, ThresholdRules)
    assert parsed.score == "proba_D"
    assert parse_rules("top2>=0.2, else:unknown") == TopK(k=2, min_probability=0.2)
    assert parse_rules("top 3 >= 0, else: other") == TopK(k=3, fallback="other")


@pytest.mark.parametrize(
    "declaration",
    [
        ThresholdRules(
            rules=[Rule(">=", 0.7, "decline"), Rule(">=", 0.4, "refer")], otherwise="accept"
        ),
        ThresholdRules(
            score="value",
            rules=[Rule("<", -1e-05, "refund"), Rule(">", 123456.789, "audit")],
            otherwise="ok",
        ),
        ThresholdRules(
            score="proba_high risk",
            rules=[Rule("<=", 0.1, "fast track"), Rule(">", 1 / 3, "decline")],
            otherwise="refer",
        ),
        TopK(k=3, min_probability=0.25, fallback="unknown"),
        TopK(),
    ],
)
def test_format_then_parse_round_trips(declaration: ThresholdRules | TopK) -> None:
    text = format_rules(declaration)
    assert parse_rules(text) == declaration
    assert format_rules(parse_rules(text)) == text


def test_format_is_the_compact_form() -> None:
    rules = parse_rules("score >= 0.7 : decline , else : accept")
    assert format_rules(rules) == "score>=0.7:decline, else:accept"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty decision rules"),
        ("score>=0.7:decline", "the last part must be else:DECISION"),
        ("score>=0.7:decline, else:accept, score>=0.1:x", "the last part must be else"),
        ("else:accept, else:refer", "part 1 .* 'else' must be the last part"),
        ("else:accept", "no rule before else"),
        ("score=>0.7:decline, else:accept", r"part 1 \('score=>0.7:decline'\) is not a rule"),
        ("score==0.7:decline, else:accept", "is not a rule"),
        ("score>=0.7 decline, else:accept", "is not a rule"),
        ("score>=seven:decline, else:accept", "'seven' is not a number"),
        ("score>=nan:decline, else:accept", "finite number"),
        ("score>=0.7:decline,, else:accept", "part 2 .* is empty"),
        ("score>=0.7:decline, value>3:x, else:accept", "all rules of a declaration test the same"),
        ("score>=0.4:refer, score>=0.7:decline, else:a", r"rule 1 \(score >= 0.7\) can never"),
        ("score>=7:decline, else:accept", "thresholds must lie between 0 and 1"),
        ("score>=0.7:, else:accept", "decision must be a non-empty string"),
        ("score>=0.7:decline, else:", "'otherwise' decision must be a non-empty"),
        ("score>=0.7:a:b, else:accept", "may not contain"),
        ("top2>=0.2, score>=0.1:x, else:y", "top-k takes one part and else"),
        ("top0>=0.2, else:y", "greater than or equal to 1"),
        ("probability>=0.2:x, else:y", "not a model output"),
    ],
)
def test_bad_syntax_is_refused_clearly(text: str, message: str) -> None:
    with pytest.raises(RuleSyntaxError, match=message):
        parse_rules(text)


def test_syntax_errors_are_value_errors() -> None:
    # so a CLI or an API layer can treat them like any other bad argument
    assert issubclass(RuleSyntaxError, ValueError)
