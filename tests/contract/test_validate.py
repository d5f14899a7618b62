"""The validator: every rejection names the record, the field and the reason."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modelport.contract import (
    Contract,
    ExtraFieldPolicy,
    FieldSpec,
    FieldType,
    UnknownCategoryPolicy,
    Validator,
)


@pytest.fixture
def contract() -> Contract:
    return Contract(
        fields=[
            FieldSpec(name="age", type=FieldType.NUMBER, minimum=10.9, maximum=99.5),
            FieldSpec(name="children", type=FieldType.INTEGER, required=False, default=0),
            FieldSpec(name="city", type=FieldType.STRING, required=False, categories=["a", "b"]),
            FieldSpec(name="member", type=FieldType.BOOLEAN),
            FieldSpec(name="since", type=FieldType.DATE, required=False),
        ]
    )


def reasons(validated: object) -> list[tuple[int | None, str | None, str]]:
    return [(e.record, e.field, e.reason) for e in validated.errors]  # type: ignore[attr-defined]


def test_good_records_become_typed_columns(contract: Contract) -> None:
    validated = Validator(contract).validate_records(
        [
            {"age": 30, "children": 2, "city": "a", "member": True, "since": "2020-01-31"},
            {"age": 40.5, "member": False},
        ]
    )
    assert validated.errors == []
    assert validated.accepted.tolist() == [0, 1]
    columns = validated.columns
    assert columns["age"].dtype == np.float64
    assert columns["age"].tolist() == [30.0, 40.5]
    assert columns["children"].tolist() == [2.0, 0.0]  # default fills the absent field
    assert columns["city"].tolist() == ["a", None]
    assert columns["member"].tolist() == [1.0, 0.0]
    assert columns["since"].tolist() == ["2020-01-31", None]


def test_the_reason_reads_like_a_sentence(contract: Contract) -> None:
    validated = Validator(contract).validate_records([{"age": -5, "member": True}])
    assert reasons(validated) == [(0, "age", "-5 is below the minimum 10.9")]


@pytest.mark.parametrize(
    ("record", "field", "reason"),
    [
        ({"member": True}, "age", "is required"),
        ({"age": None, "member": True}, "age", "is required and must not be null"),
        ({"age": "30", "member": True}, "age", "expected a number, got string '30'"),
        ({"age": True, "member": True}, "age", "expected a number, got boolean True"),
        ({"age": [1], "member": True}, "age", "expected a number, got array [1]"),
        ({"age": 120, "member": True}, "age", "120 is above the maximum 99.5"),
        ({"age": 30, "member": 1}, "member", "expected a boolean, got number 1"),
        ({"age": 30, "member": True, "children": 1.5}, "children", "expected an integer, got 1.5"),
        ({"age": 30, "member": True, "city": 7}, "city", "expected a string, got number 7"),
        (
            {"age": 30, "member": True, "city": "z"},
            "city",
            "'z' is not one of the known categories ('a', 'b')",
        ),
        (
            {"age": 30, "member": True, "since": "31/01/2020"},
            "since",
            "expected a date as YYYY-MM-DD, got string '31/01/2020'",
        ),
        ({"age": 30, "member": True, "shoe": 42}, "shoe", "is not a field of this model"),
    ],
)
def test_each_bad_input_class_names_the_field(
    contract: Contract, record: dict[str, object], field: str, reason: str
) -> None:
    validated = Validator(contract).validate_records([record])
    assert reasons(validated) == [(0, field, reason)]
    assert validated.n_accepted == 0


def test_not_an_object_is_one_error_not_one_per_field(contract: Contract) -> None:
    validated = Validator(contract).validate_records([{"age": 30, "member": True}, [1, 2], "x"])
    assert [(e.record, e.field) for e in validated.errors] == [(1, None), (2, None)]
    assert validated.accepted.tolist() == [0]


def test_errors_in_several_records_keep_their_indices(contract: Contract) -> None:
    records = [
        {"age": 30, "member": True},
        {"age": 5, "member": True},
        {"age": 30, "member": True},
        {"age": 30},
    ]
    validated = Validator(contract).validate_records(records)
    assert [(e.record, e.field) for e in validated.errors] == [(1, "age"), (3, "member")]
    assert validated.accepted.tolist() == [0, 2]
    assert validated.rejected == [1, 3]
    assert validated.columns["age"].tolist() == [30.0, 30.0]


def test_policies_can_allow_unknown_categories_and_ignore_extra_fields() -> None:
    contract = Contract(
        fields=[FieldSpec(name="city", type=FieldType.STRING, categories=["a"])],
        unknown_categories=UnknownCategoryPolicy.ALLOW,
        extra_fields=ExtraFieldPolicy.IGNORE,
    )
    validated = Validator(contract).validate_records([{"city": "zz", "extra": 1}])
    assert validated.errors == []
    assert validated.columns["city"].tolist() == ["zz"]


def test_columns_from_a_frame_are_validated_vectorised(contract: Contract) -> None:
    frame = pd.DataFrame(
        {
            "age": [30.0, np.nan, 5.0, np.inf],
            "children": [1, 2, 3, 4],
            "city": ["a", None, "b", "q"],
            "member": [True, False, True, True],
        }
    )
    validated = Validator(contract).validate_columns(
        {c: frame[c] for c in frame.columns}, len(frame)
    )
    assert reasons(validated) == [
        (1, "age", "is required and must not be null"),
        (2, "age", "5 is below the minimum 10.9"),
        (3, "age", "must be a finite number"),
        (3, "city", "'q' is not one of the known categories ('a', 'b')"),
    ]
    assert validated.accepted.tolist() == [0]


def test_lenient_mode_reads_numbers_and_booleans_written_as_text(contract: Contract) -> None:
    columns = {
        "age": np.array(["30", "abc", "41.5"], dtype=object),
        "member": np.array(["true", "0", "maybe"], dtype=object),
    }
    validated = Validator(contract).validate_columns(columns, 3, lenient=True)
    assert reasons(validated) == [
        (1, "age", "expected a number, got string 'abc'"),
        (2, "member", "expected a boolean, got string 'maybe'"),
    ]
    assert validated.columns["age"].tolist() == [30.0]
    assert validated.columns["member"].tolist() == [1.0]


def test_extra_columns_of_a_source_are_refused_per_row(contract: Contract) -> None:
    validated = Validator(contract).validate_columns(
        {"age": [30.0], "member": [True]}, 1, extra_names=["age", "member", "zip"]
    )
    assert reasons(validated) == [(0, "zip", "is not a field of this model")]


def test_domain_checks_can_be_skipped_for_parity_runs(contract: Contract) -> None:
    validated = Validator(contract).validate_records(
        [{"age": 500, "member": True, "city": "zz"}], enforce_domain=False
    )
    assert validated.errors == []


def test_pandas_missing_markers_are_missing_values(contract: Contract) -> None:
    frame = pd.DataFrame(
        {
            "age": [30.0, 40.0],
            "city": pd.Series(["a", pd.NA], dtype="string"),
            "member": pd.Series([True, pd.NA], dtype="boolean"),
        }
    )
    validated = Validator(contract).validate_columns({c: frame[c] for c in frame}, 2)
    assert reasons(validated) == [(1, "member", "is required and must not be null")]
    assert validated.columns["city"].tolist() == ["a"]


def test_typed_booleans_are_not_numbers_and_odd_text_is_not_a_number(contract: Contract) -> None:
    validated = Validator(contract).validate_columns(
        {"age": np.array([True, False]), "member": np.array([True, True])}, 2
    )
    assert reasons(validated) == [
        (0, "age", "expected a number, got a boolean"),
        (1, "age", "expected a number, got a boolean"),
    ]
    lenient = Validator(contract).validate_columns(
        {"age": np.array(["1_0"], dtype=object), "member": np.array(["true"], dtype=object)},
        1,
        lenient=True,
    )
    assert reasons(lenient) == [(0, "age", "expected a number, got string '1_0'")]


def test_an_integer_beyond_float_range_is_refused_not_raised(contract: Contract) -> None:
    validated = Validator(contract).validate_records([{"age": 10**400, "member": True}])
    assert reasons(validated) == [(0, "age", "must be a finite number")]
