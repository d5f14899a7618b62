"""Contract inference: types, optionality, widened bounds, categories, overrides."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modelport.contract import FieldType, infer_contract
from modelport.datasets import LOAN_FEATURES, loan_applications


def test_types_and_optionality_follow_the_sample() -> None:
    sample = loan_applications(2_000, seed=1)[LOAN_FEATURES]
    contract = infer_contract(sample)
    kinds = {f.name: f.type for f in contract.fields}
    assert kinds["annual_income"] is FieldType.NUMBER
    assert kinds["loan_term_months"] is FieldType.INTEGER
    assert kinds["employment_type"] is FieldType.STRING
    assert kinds["has_cosigner"] is FieldType.BOOLEAN
    assert contract.field("annual_income").required is False  # the sample has gaps
    assert contract.field("loan_amount").required is True
    assert contract.names == LOAN_FEATURES


def test_bounds_are_the_observed_range_widened_by_ten_percent() -> None:
    sample = pd.DataFrame({"x": [20.0, 30.0, 120.0], "y": [-1.0, 0.0, 1.0]})
    contract = infer_contract(sample)
    assert contract.field("x").minimum == pytest.approx(10.0)
    assert contract.field("x").maximum == pytest.approx(130.0)
    assert contract.field("y").minimum == pytest.approx(-1.2)
    assert contract.field("y").maximum == pytest.approx(1.2)


def test_a_field_never_seen_negative_is_not_widened_below_zero() -> None:
    contract = infer_contract(pd.DataFrame({"amount": [1.0, 50.0, 100.0]}))
    assert contract.field("amount").minimum == 0.0


def test_few_distinct_strings_become_categories_many_do_not() -> None:
    sample = pd.DataFrame(
        {"colour": ["red", "blue", None, "red"] * 30, "id": [f"c{i}" for i in range(120)]}
    )
    contract = infer_contract(sample)
    assert contract.field("colour").categories == ["blue", "red"]
    assert contract.field("colour").required is False
    assert contract.field("id").categories is None


def test_overrides_change_what_the_sample_cannot_know() -> None:
    sample = pd.DataFrame({"age": np.arange(20, 60, dtype=float), "n": np.arange(40)})
    contract = infer_contract(
        sample, overrides={"age": {"minimum": 18, "maximum": 100}, "n": {"default": 0}}
    )
    assert (contract.field("age").minimum, contract.field("age").maximum) == (18, 100)
    assert contract.field("n").required is False
    assert contract.field("n").default == 0


def test_overrides_must_name_real_fields() -> None:
    with pytest.raises(ValueError, match="nope"):
        infer_contract(pd.DataFrame({"a": [1.0]}), overrides={"nope": {"minimum": 0}})


def test_the_json_schema_of_a_record_describes_every_field() -> None:
    contract = infer_contract(loan_applications(500, seed=2)[LOAN_FEATURES])
    schema = contract.json_schema()
    assert set(schema["properties"]) == set(LOAN_FEATURES)
    assert "loan_amount" in schema["required"]
    assert schema["additionalProperties"] is False
