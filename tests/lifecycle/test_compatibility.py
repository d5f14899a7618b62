"""Contract compatibility: what a candidate's contract would refuse that today's accepts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from modelport.contract import (
    Contract,
    ExtraFieldPolicy,
    FieldSpec,
    FieldType,
    UnknownCategoryPolicy,
)
from modelport.lifecycle import ChangeKind, ContractChange, breaking, compare_contracts
from modelport.package import open_package

CURRENT = Contract(
    fields=[
        FieldSpec(name="age", type=FieldType.INTEGER, minimum=18, maximum=100),
        FieldSpec(name="income", type=FieldType.NUMBER, required=False, minimum=0),
        FieldSpec(name="region", type=FieldType.STRING, categories=["east", "north", "south"]),
        FieldSpec(name="note", type=FieldType.STRING, required=False),
        FieldSpec(name="has_cosigner", type=FieldType.BOOLEAN),
    ]
)


def changed(contract: Contract = CURRENT, **policies: Any) -> Any:
    """``changed(age={"minimum": 21}, drop=["note"], add=[spec], extra_fields="ignore")``."""
    drop = set(policies.pop("drop", ()))
    add = list(policies.pop("add", ()))
    updates = {k: policies.pop(k) for k in list(policies) if k in contract.names}
    fields = [
        FieldSpec.model_validate({**spec.model_dump(), **updates.get(spec.name, {})})
        for spec in contract.fields
        if spec.name not in drop
    ]
    return Contract(
        fields=fields + add,
        unknown_categories=policies.get("unknown_categories", contract.unknown_categories),
        extra_fields=policies.get("extra_fields", contract.extra_fields),
    )


def only(changes: list[ContractChange]) -> ContractChange:
    assert len(changes) == 1, changes
    return changes[0]


def test_an_identical_contract_has_no_changes() -> None:
    assert compare_contracts(CURRENT, changed()) == []


def test_a_real_packages_contract_compared_with_itself_has_no_changes(
    loan_package_path: Path,
) -> None:
    contract = open_package(loan_package_path).manifest.contract
    assert compare_contracts(contract, contract.model_copy(deep=True)) == []


def test_a_real_contract_gaining_a_required_field_breaks_callers(loan_package_path: Path) -> None:
    contract = open_package(loan_package_path).manifest.contract
    postcode = FieldSpec(name="postcode", type=FieldType.STRING)

    change = only(compare_contracts(contract, changed(contract, add=[postcode])))

    assert (change.field, change.kind, change.breaking) == (
        "postcode",
        ChangeKind.FIELD_ADDED_REQUIRED,
        True,
    )
    assert change.message == (
        "field 'postcode' is new and required: callers that do not send it would be refused"
    )


CASES = [
    # fields added or removed
    (
        changed(add=[FieldSpec(name="score", type=FieldType.NUMBER, required=False)]),
        "score",
        ChangeKind.FIELD_ADDED_OPTIONAL,
        False,
        "new and optional",
    ),
    (
        changed(drop=["note"]),
        "note",
        ChangeKind.FIELD_REMOVED,
        True,
        "callers that still send it would be refused (extra_fields=reject)",
    ),
    # types
    (
        changed(age={"type": FieldType.NUMBER}),
        "age",
        ChangeKind.TYPE_WIDENED,
        False,
        "from integer to number",
    ),
    (
        changed(income={"type": FieldType.INTEGER}),
        "income",
        ChangeKind.TYPE_CHANGED,
        True,
        "values accepted as number could be refused",
    ),
    (
        changed(has_cosigner={"type": FieldType.INTEGER}),
        "has_cosigner",
        ChangeKind.TYPE_CHANGED,
        True,
        "from boolean to integer",
    ),
    # required or not
    (
        changed(income={"required": True}),
        "income",
        ChangeKind.NOW_REQUIRED,
        True,
        "leave it out or send null would be refused",
    ),
    (
        changed(age={"required": False}),
        "age",
        ChangeKind.NOW_OPTIONAL,
        False,
        "is now optional",
    ),
    (
        changed(note={"default": "none"}),
        "note",
        ChangeKind.DEFAULT_CHANGED,
        False,
        "now defaults to 'none' instead of None",
    ),
    # bounds
    (
        changed(age={"minimum": 21}),
        "age",
        ChangeKind.MINIMUM_RAISED,
        True,
        "minimum raised from 18 to 21: callers that send values below 21 would be refused",
    ),
    (
        changed(age={"minimum": 16}),
        "age",
        ChangeKind.MINIMUM_LOWERED,
        False,
        "minimum lowered from 18 to 16",
    ),
    (
        changed(age={"minimum": None}),
        "age",
        ChangeKind.MINIMUM_LOWERED,
        False,
        "no longer has a minimum (it was 18)",
    ),
    (
        changed(age={"maximum": 90}),
        "age",
        ChangeKind.MAXIMUM_LOWERED,
        True,
        "values above 90 would be refused",
    ),
    (
        changed(income={"maximum": 1e6}),
        "income",
        ChangeKind.MAXIMUM_LOWERED,
        True,
        "now has a maximum of 1000000",
    ),
    (
        changed(age={"maximum": 120}),
        "age",
        ChangeKind.MAXIMUM_RAISED,
        False,
        "maximum raised from 100 to 120",
    ),
    # categories
    (
        changed(region={"categories": ["east", "north"]}),
        "region",
        ChangeKind.CATEGORIES_NARROWED,
        True,
        "no longer has the categories 'south': callers that send other values would be",
    ),
    (
        changed(region={"categories": ["east", "north", "south", "west"]}),
        "region",
        ChangeKind.CATEGORIES_WIDENED,
        False,
        "new categories 'west'",
    ),
    (
        changed(region={"categories": None}),
        "region",
        ChangeKind.CATEGORIES_WIDENED,
        False,
        "no longer restricts",
    ),
    (
        changed(note={"categories": ["a", "b"]}),
        "note",
        ChangeKind.CATEGORIES_NARROWED,
        True,
        "now restricts its values to 'a', 'b'",
    ),
    # expectations: never breaking, only noted
    (
        changed(income={"expected_minimum": 0, "expected_maximum": 9.5e5}),
        "income",
        ChangeKind.EXPECTED_RANGE_CHANGED,
        False,
        "now expects values from 0 to 950000 (it expected any value): values outside it are "
        "scored with a warning, not refused",
    ),
    (
        changed(note={"expected_categories": ["a", "b"]}),
        "note",
        ChangeKind.EXPECTED_CATEGORIES_CHANGED,
        False,
        "now expects the categories 'a', 'b': other values are scored with a warning",
    ),
    # contract-wide policies
    (
        changed(extra_fields=ExtraFieldPolicy.IGNORE),
        None,
        ChangeKind.EXTRA_FIELDS_IGNORED,
        False,
        "now ignored",
    ),
    (
        changed(unknown_categories=UnknownCategoryPolicy.ALLOW),
        None,
        ChangeKind.UNKNOWN_CATEGORIES_ALLOWED,
        False,
        "passed to the model",
    ),
]


@pytest.mark.parametrize(
    ("candidate", "field", "kind", "is_breaking", "words"),
    CASES,
    ids=[case[2].value for case in CASES],
)
def test_each_change_is_found_and_judged(
    candidate: Contract, field: str | None, kind: ChangeKind, is_breaking: bool, words: str
) -> None:
    change = only(compare_contracts(CURRENT, candidate))

    assert (change.field, change.kind, change.breaking) == (field, kind, is_breaking)
    assert words in change.message
    assert str(change).startswith("breaking: " if is_breaking else "compatible: ")


def test_rejecting_extra_fields_breaks_callers() -> None:
    change = only(compare_contracts(changed(extra_fields=ExtraFieldPolicy.IGNORE), CURRENT))

    assert (change.field, change.kind, change.breaking) == (
        None,
        ChangeKind.EXTRA_FIELDS_REJECTED,
        True,
    )
    assert "callers that send fields the model does not use would be refused" in change.message


def test_a_removed_field_breaks_even_when_extra_fields_are_ignored() -> None:
    candidate = changed(drop=["note"], extra_fields=ExtraFieldPolicy.IGNORE)
    changes = compare_contracts(changed(extra_fields=ExtraFieldPolicy.IGNORE), candidate)

    change = only(changes)
    assert change.kind is ChangeKind.FIELD_REMOVED and change.breaking
    assert "not refused (extra_fields=ignore), but the value they send no longer affects" in (
        change.message
    )


def test_fewer_categories_do_not_break_when_the_candidate_allows_unknown_ones() -> None:
    allowing = UnknownCategoryPolicy.ALLOW
    current = changed(unknown_categories=allowing)
    candidate = changed(region={"categories": ["east"]}, unknown_categories=allowing)

    change = only(compare_contracts(current, candidate))

    assert change.kind is ChangeKind.CATEGORIES_NARROWED and not change.breaking
    assert "(unknown_categories=allow), so no caller is refused" in change.message


def test_rejecting_unknown_categories_breaks_only_where_there_are_categories() -> None:
    allowing = changed(unknown_categories=UnknownCategoryPolicy.ALLOW)
    change = only(compare_contracts(allowing, CURRENT))
    assert change.kind is ChangeKind.UNKNOWN_CATEGORIES_REJECTED and change.breaking
    assert "outside the categories of 'region'" in change.message

    plain = Contract(
        fields=[FieldSpec(name="x", type=FieldType.NUMBER)],
        unknown_categories=UnknownCategoryPolicy.ALLOW,
    )
    strict = plain.model_copy(update={"unknown_categories": UnknownCategoryPolicy.REJECT})
    change = only(compare_contracts(plain, strict))
    assert not change.breaking and "no field has categories" in change.message


def test_descriptions_are_not_changes() -> None:
    assert compare_contracts(CURRENT, changed(age={"description": "in years"})) == []


def test_breaking_changes_come_first_in_a_fixed_order() -> None:
    candidate = changed(
        age={"maximum": 120, "minimum": 21},
        income={"required": True},
        region={"categories": ["east", "north", "south", "west"]},
        drop=["note"],
        add=[
            FieldSpec(name="postcode", type=FieldType.STRING),
            FieldSpec(name="score", type=FieldType.NUMBER, required=False),
        ],
        extra_fields=ExtraFieldPolicy.IGNORE,
    )

    changes = compare_contracts(CURRENT, candidate)

    assert [(c.field, c.kind.value, c.breaking) for c in changes] == [
        ("age", "minimum_raised", True),
        ("income", "now_required", True),
        ("note", "field_removed", True),
        ("postcode", "field_added_required", True),
        (None, "extra_fields_ignored", False),
        ("age", "maximum_raised", False),
        ("region", "categories_widened", False),
        ("score", "field_added_optional", False),
    ]
    assert compare_contracts(CURRENT, candidate) == changes
    assert breaking(changes) == changes[:4]


EXPECTING = changed(
    income={"expected_minimum": 0, "expected_maximum": 1.2e6},
    note={"expected_categories": ["a", "b", "c"]},
)


def test_narrowed_expectations_are_noted_but_never_block_a_promotion() -> None:
    candidate = changed(
        EXPECTING,
        income={"expected_maximum": 9.5e5},
        note={"expected_categories": ["a", "b", "d"]},
    )
    changes = compare_contracts(EXPECTING, candidate)
    assert breaking(changes) == []
    assert [(c.field, c.kind, c.message) for c in changes] == [
        (
            "income",
            ChangeKind.EXPECTED_RANGE_CHANGED,
            "field 'income' now expects values from 0 to 950000 (it expected values from 0 to "
            "1200000): values outside it are scored with a warning, not refused",
        ),
        (
            "note",
            ChangeKind.EXPECTED_CATEGORIES_CHANGED,
            "field 'note' no longer expects 'c' and now also expects 'd': other values are "
            "scored with a warning, not refused",
        ),
    ]
    dropped = changed(
        EXPECTING, income={"expected_maximum": None}, note={"expected_categories": None}
    )
    assert [c.message.split(":")[0] for c in compare_contracts(EXPECTING, dropped)] == [
        "field 'income' now expects values of at least 0 (it expected values from 0 to 1200000)",
        "field 'note' no longer expects a list of categories",
    ]


def test_a_contract_inferred_before_expectations_can_be_replaced_by_one_inferred_after() -> None:
    # before: the sample's range (widened) was hard, and so were its categories
    before = Contract(
        fields=[
            FieldSpec(name="income", type=FieldType.NUMBER, minimum=0, maximum=1.3e6),
            FieldSpec(name="segment", type=FieldType.STRING, categories=["a", "b"]),
        ]
    )
    # after: only the sign is hard; the range and the categories are expected
    after = Contract(
        fields=[
            FieldSpec(
                name="income",
                type=FieldType.NUMBER,
                minimum=0,
                expected_minimum=0,
                expected_maximum=1.3e6,
            ),
            FieldSpec(name="segment", type=FieldType.STRING, expected_categories=["a", "b"]),
        ]
    )
    forward = compare_contracts(before, after)
    assert breaking(forward) == []
    assert [c.kind for c in forward] == [
        ChangeKind.MAXIMUM_RAISED,
        ChangeKind.EXPECTED_RANGE_CHANGED,
        ChangeKind.CATEGORIES_WIDENED,
        ChangeKind.EXPECTED_CATEGORIES_CHANGED,
    ]
    # going back makes the range and the categories hard again: that does break callers
    assert [c.kind for c in breaking(compare_contracts(after, before))] == [
        ChangeKind.MAXIMUM_LOWERED,
        ChangeKind.CATEGORIES_NARROWED,
    ]
