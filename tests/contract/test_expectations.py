"""Expectations: values outside the sample's range or categories are scored and warned about."""

from __future__ import annotations

import dataclasses

import pytest

from modelport.contract import Contract, FieldSpec, FieldType, FieldWarning, Validator


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
