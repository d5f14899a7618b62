"""Expectations: values outside the sample's range or categories are scored and warned about."""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd
import pytest

from modelport.contract import (
    Contract,
    FieldSpec,
    FieldType,
    FieldWarning,
    UnknownCategoryPolicy,
    Validator,
)


def test_a_warning_is_a_small_frozen_record_like_a_field_error() -> None:
    warning = FieldWarning(3, "income", "2000000 is above the expected maximum 950000")
    assert warning.to_dict() == {
        "record": 3,
        "field": "income",
        "reason": "2000000 is above the expected maximum 950000",
    }
    assert str(warning) == "record 3, income: 2000000 is above the expected maximum 950000"
    with pytest.raises(dataclasses.FrozenInstanceError):
        warning.record = 4  # type: ignore[misc]


def test_plain_records_have_no_warnings() -> None:
    contract = Contract(fields=[FieldSpec(name="x", type=FieldType.NUMBER)])
    validated = Validator(contract).validate_records([{"x": 1.0}, {"x": 2.0}])
    assert validated.warnings == []
    assert Validator(contract).validate_columns({"x": [1.0]}, 1).warnings == []


def income_contract(**policies: Any) -> Contract:
    return Contract(
        fields=[
            FieldSpec(
                name="income",
                type=FieldType.NUMBER,
                minimum=0,
                expected_minimum=1_000,
                expected_maximum=950_000,
            ),
            FieldSpec(name="city", type=FieldType.STRING, expected_categories=["oslo", "rome"]),
            FieldSpec(name="plan", type=FieldType.STRING, required=False, categories=["a", "b"]),
        ],
        **policies,
    )


ABOVE = "1200000 is above the expected maximum 950000 (the sample's range; scored, not refused)"
BELOW = "500.5 is below the expected minimum 1000 (the sample's range; scored, not refused)"
UNSEEN = (
    "'lima' is not one of the expected categories ('oslo', 'rome'): "
    "scored as a category the model never saw"
)


def triples(warnings: list[FieldWarning]) -> list[tuple[int, str, str]]:
    return [(w.record, w.field, w.reason) for w in warnings]


def test_values_outside_expectations_are_scored_and_warned_about_by_input_row() -> None:
    records = [
        {"income": 1_200_000, "city": "lima"},
        {"income": 5_000, "city": "oslo"},
        {"income": -5, "city": "lima"},  # a hard limit: refused, so no warnings
        {"income": 500.5, "city": "rome", "plan": "c"},  # refused for its plan
        {"income": 500.5, "city": "rome"},
    ]
    validated = Validator(income_contract()).validate_records(records)
    assert [(e.record, e.field, e.reason) for e in validated.errors] == [
        (2, "income", "-5 is below the minimum 0"),
        (3, "plan", "'c' is not one of the known categories ('a', 'b')"),
    ]
    assert validated.accepted.tolist() == [0, 1, 4]
    assert validated.columns["income"].tolist() == [1_200_000.0, 5_000.0, 500.5]
    assert triples(validated.warnings) == [
        (0, "income", ABOVE),
        (0, "city", UNSEEN),
        (4, "income", BELOW),
    ]


def test_columns_typed_or_text_warn_exactly_like_records() -> None:
    validator = Validator(income_contract())
    records = [{"income": 1_200_000.0, "city": "lima"}, {"income": 500.5, "city": "rome"}]
    typed = validator.validate_columns(
        {"income": pd.Series([1_200_000.0, 500.5]), "city": ["lima", "rome"]}, 2
    )
    text = validator.validate_columns(
        {"income": ["1200000", "500.5"], "city": ["lima", "rome"]}, 2, lenient=True
    )
    expected = triples(validator.validate_records(records).warnings)
    assert expected == [(0, "income", ABOVE), (0, "city", UNSEEN), (1, "income", BELOW)]
    assert triples(typed.warnings) == expected
    assert triples(text.warnings) == expected


def test_unknown_categories_allowed_are_scored_with_a_warning() -> None:
    validator = Validator(income_contract(unknown_categories=UnknownCategoryPolicy.ALLOW))
    validated = validator.validate_records([{"income": 5_000, "city": "oslo", "plan": "c"}])
    assert validated.errors == []
    assert triples(validated.warnings) == [
        (
            0,
            "plan",
            "'c' is not one of the known categories ('a', 'b'): passed to the model "
            "(unknown_categories=allow)",
        )
    ]


def test_a_default_outside_the_expected_range_is_warned_about_where_it_was_used() -> None:
    contract = Contract(
        fields=[
            FieldSpec(
                name="n", type=FieldType.INTEGER, required=False, default=0, expected_minimum=1
            )
        ]
    )
    validated = Validator(contract).validate_records([{"n": 4}, {}])
    assert validated.columns["n"].tolist() == [4.0, 0.0]
    assert [(w.record, w.field) for w in validated.warnings] == [(1, "n")]


def test_re_checking_reference_rows_neither_refuses_nor_warns() -> None:
    validator = Validator(income_contract())
    records = [{"income": -5, "city": "lima", "plan": "zz"}]
    validated = validator.validate_records(records, enforce_domain=False)
    assert (validated.errors, validated.warnings) == ([], [])
    columns = validator.validate_columns(
        {"income": [-5.0], "city": ["lima"]}, 1, enforce_domain=False
    )
    assert (columns.errors, columns.warnings) == ([], [])


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"type": "string", "expected_minimum": 1}, "only number and integer fields"),
        ({"type": "boolean", "expected_maximum": 1}, "only number and integer fields"),
        ({"type": "number", "expected_categories": ["a"]}, "only string fields take categories"),
        (
            {"type": "number", "expected_minimum": 2, "expected_maximum": 1},
            "expected minimum 2.0 exceeds expected maximum 1.0",
        ),
    ],
)
def test_expectations_fit_their_field(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FieldSpec(name="x", **spec)


def test_a_field_written_before_expectations_reads_back_to_the_same_document() -> None:
    # A manifest's digest covers its contract as written: the new attributes must not
    # appear when unset, or every package built before them would fail verification.
    old = {
        "name": "age",
        "type": "number",
        "required": True,
        "default": None,
        "minimum": 10.9,
        "maximum": 99.5,
        "categories": None,
        "description": None,
    }
    spec = FieldSpec.model_validate(old)
    assert spec.model_dump(mode="json") == old
    assert (spec.minimum, spec.maximum) == (10.9, 99.5)  # still hard, as before
    refused = Validator(Contract(fields=[spec])).validate_records([{"age": 120}])
    assert refused.errors[0].reason == "120 is above the maximum 99.5"
    new = spec.model_copy(update={"expected_maximum": 80.0})
    assert new.model_dump(mode="json") == {**old, "expected_maximum": 80.0}
