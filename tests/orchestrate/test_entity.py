"""An entity's request split into keys and inputs, and refusals of sourced values named."""

from __future__ import annotations

import pytest

from modelport.errors import FieldError, InvalidInput
from modelport.orchestrate import name_sources, split_entity
from modelport.orchestrate.spec import FieldSource, OrchestrationSpec

SPEC = OrchestrationSpec(
    entity=["customer_id", "branch"],
    inputs={"date_of_birth": FieldSource(source="customers")},
)


def test_the_nested_form_is_passed_through() -> None:
    entity, inputs = {"customer_id": 17, "branch": "north"}, {"loan_amount": 5000}
    assert split_entity(SPEC, entity, inputs) == (entity, inputs)


def test_the_flat_form_takes_the_keys_out_of_a_copy_of_the_inputs() -> None:
    flat = {"customer_id": 17, "branch": "north", "loan_amount": 5000}
    entity, inputs = split_entity(SPEC, {}, flat)
    assert entity == {"customer_id": 17, "branch": "north"}
    assert inputs == {"loan_amount": 5000}
    assert flat == {"customer_id": 17, "branch": "north", "loan_amount": 5000}


@pytest.mark.parametrize(
    ("entity", "inputs", "errors"),
    [
        ({"customer_id": 17}, {}, [("branch", "missing")]),
        ({"customer_id": 17, "branch": None}, {}, [("branch", "missing")]),
        (
            {"client": 1, "branch": "x"},
            {},
            [("customer_id", "missing"), ("client", "not an entity key")],
        ),
        ({}, {"loan_amount": 1}, [("customer_id", "missing"), ("branch", "missing")]),
    ],
)
def test_missing_and_unknown_keys_are_refused_by_name(
    entity: dict[str, object], inputs: dict[str, object], errors: list[tuple[str, str]]
) -> None:
    with pytest.raises(InvalidInput, match="identifies entities by customer_id, branch") as refused:
        split_entity(SPEC, entity, inputs)
    got = [(e.field, e.reason) for e in refused.value.errors]
    assert len(got) == len(errors)
    for (field, reason), (want_field, want_reason) in zip(got, errors, strict=True):
        assert field == want_field
        assert reason.startswith(want_reason)


def test_a_refused_sourced_value_names_its_source() -> None:
    refused = InvalidInput(
        "input does not match the model's contract",
        [
            FieldError(0, "date_of_birth", "not a date"),
            FieldError(0, "loan_amount", "above the maximum"),
        ],
    )
    named = name_sources(refused, SPEC)
    assert named.message == "the entity's data does not match the model's contract"
    assert [e.reason for e in named.errors] == [
        "not a date (the value in source 'customers' for this entity)",
        "above the maximum",
    ]


def test_a_refusal_of_request_inputs_only_is_left_alone() -> None:
    refused = InvalidInput("no", [FieldError(0, "loan_amount", "above the maximum")])
    assert name_sources(refused, SPEC) is refused
