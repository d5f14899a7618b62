"""Contract inference: types, optionality, proven limits, expected ranges, categories, overrides."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modelport.contract import FieldType, infer_contract
from modelport.contract.infer import ModelCategories
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


def test_the_observed_range_widened_by_ten_percent_is_expected_not_hard() -> None:
    sample = pd.DataFrame({"x": [20.0, 30.0, 120.0], "y": [-1.0, 0.0, 1.0]})
    contract = infer_contract(sample)
    x, y = contract.field("x"), contract.field("y")
    assert x.expected_minimum == pytest.approx(10.0)
    assert x.expected_maximum == pytest.approx(130.0)
    assert y.expected_minimum == pytest.approx(-1.2)
    assert y.expected_maximum == pytest.approx(1.2)
    # The sign is proven for x (a hard minimum of 0); nothing about y's range is.
    assert (x.minimum, x.maximum) == (0.0, None)
    assert (y.minimum, y.maximum) == (None, None)


def test_a_field_never_seen_negative_is_hard_non_negative_and_expected_from_zero() -> None:
    contract = infer_contract(pd.DataFrame({"amount": [1.0, 50.0, 100.0], "n": [0, 3, 9]}))
    amount, n = contract.field("amount"), contract.field("n")
    assert amount.minimum == 0.0 and amount.expected_minimum == 0.0
    assert amount.expected_maximum == pytest.approx(109.9)
    assert (n.type, n.minimum, n.expected_minimum, n.expected_maximum) == (
        FieldType.INTEGER,
        0.0,
        0.0,
        10.0,
    )


def test_integer_expected_bounds_are_whole_and_never_narrower_than_the_sample() -> None:
    contract = infer_contract(pd.DataFrame({"n": [-7, 3, 12]}))
    n = contract.field("n")
    assert n.minimum is None  # seen negative: no sign proven
    assert n.expected_minimum is not None and n.expected_maximum is not None
    assert n.expected_minimum == int(n.expected_minimum) <= -7
    assert n.expected_maximum == int(n.expected_maximum) >= 12


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
    age = contract.field("age")
    assert (age.minimum, age.maximum) == (18, 100)
    # Declared bounds are the real ones: the sample's guesses on those sides are gone.
    assert (age.expected_minimum, age.expected_maximum) == (None, None)
    assert contract.field("n").required is False
    assert contract.field("n").default == 0
    assert contract.field("n").expected_maximum == 43.0  # untouched by the default


def test_a_declared_bound_replaces_only_its_own_side_and_none_lifts_a_proven_one() -> None:
    sample = pd.DataFrame({"income": [1_000.0, 5_000.0, 11_000.0]})
    capped = infer_contract(sample, overrides={"income": {"maximum": 1e6}}).field("income")
    assert (capped.minimum, capped.maximum) == (0.0, 1e6)
    assert (capped.expected_minimum, capped.expected_maximum) == (0.0, None)
    lifted = infer_contract(sample, overrides={"income": {"minimum": None}}).field("income")
    assert lifted.minimum is None
    assert (lifted.expected_minimum, lifted.expected_maximum) == (0.0, 12_000.0)
    both = infer_contract(
        sample, overrides={"income": {"maximum": 1e6, "expected_maximum": 2e4}}
    ).field("income")
    assert (both.maximum, both.expected_maximum) == (1e6, 2e4)


def test_categories_are_hard_unless_the_model_is_known_to_score_unseen_ones() -> None:
    sample = pd.DataFrame(
        {
            "plan": ["basic", "plus"] * 20,
            "city": ["oslo", "rome", "lima", "oslo"] * 10,
            "shop": ["s1", "s2"] * 20,
            "code": [f"c{i}" for i in range(40)],
        }
    )
    contract = infer_contract(
        sample,
        max_categories=10,
        model_categories={
            # an encoder with handle_unknown="ignore" that learned one value the sample lacks
            "plan": ModelCategories(scores_unseen=True, known=["basic", "plus", "pro"]),
            # handle_unknown="error": the values it learned, and only those, are accepted
            "city": ModelCategories(scores_unseen=False, known=["lima", "oslo", "rome", "kyiv"]),
            # no encoder found, but nothing refuses an unseen value (a dropped column)
            "code": ModelCategories(scores_unseen=True),
        },
    )
    plan, city, shop, code = (contract.field(n) for n in ("plan", "city", "shop", "code"))
    assert (plan.categories, plan.expected_categories) == (None, ["basic", "plus", "pro"])
    assert (city.categories, city.expected_categories) == (
        ["kyiv", "lima", "oslo", "rome"],
        None,
    )
    # Nothing known about the model: closed, the sample's values (as before expectations).
    assert (shop.categories, shop.expected_categories) == (["s1", "s2"], None)
    # Too many distinct values to list: no list at all.
    assert (code.categories, code.expected_categories) == (None, None)


def test_a_model_that_refuses_unseen_values_closes_the_field_however_many_it_knows() -> None:
    known = [f"c{i:03d}" for i in range(120)]
    sample = pd.DataFrame({"code": known[:100]})
    refused = ModelCategories(scores_unseen=False, known=known)
    contract = infer_contract(sample, model_categories={"code": refused})
    assert contract.field("code").categories == known
    scored = ModelCategories(scores_unseen=True, known=known)
    contract = infer_contract(sample, model_categories={"code": scored})
    assert contract.field("code").expected_categories is None  # too many to warn usefully


def test_declared_categories_are_closed_and_replace_the_expected_ones() -> None:
    sample = pd.DataFrame({"plan": ["basic", "plus"] * 5})
    contract = infer_contract(
        sample,
        overrides={"plan": {"categories": ["basic", "plus", "pro"]}},
        model_categories={"plan": ModelCategories(scores_unseen=True)},
    )
    plan = contract.field("plan")
    assert (plan.categories, plan.expected_categories) == (["basic", "plus", "pro"], None)


def test_overrides_must_name_real_fields() -> None:
    with pytest.raises(ValueError, match="nope"):
        infer_contract(pd.DataFrame({"a": [1.0]}), overrides={"nope": {"minimum": 0}})


def test_the_json_schema_of_a_record_describes_every_field() -> None:
    contract = infer_contract(loan_applications(500, seed=2)[LOAN_FEATURES])
    schema = contract.json_schema()
    assert set(schema["properties"]) == set(LOAN_FEATURES)
    assert "loan_amount" in schema["required"]
    assert schema["additionalProperties"] is False
    amount = schema["properties"]["loan_amount"]
    spec = contract.field("loan_amount")
    # Hard limits as JSON Schema bounds, expectations as OpenAPI extensions (refuse nothing).
    assert amount["minimum"] == 0.0 and "maximum" not in amount
    assert amount["x-expected-minimum"] == spec.expected_minimum
    assert amount["x-expected-maximum"] == spec.expected_maximum
    region = schema["properties"]["region"]
    assert region["enum"] == contract.field("region").categories
