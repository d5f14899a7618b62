"""Model references: the three forms, and everything malformed refused as InvalidName."""

from __future__ import annotations

import pytest

from modelport.errors import InvalidName
from modelport.registry import DEFAULT_ALIAS, ModelRef, parse_ref


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("loan", ModelRef("loan", alias="production", version=None)),
        ("loan@staging", ModelRef("loan", alias="staging", version=None)),
        ("loan:3", ModelRef("loan", alias=None, version=3)),
        ("loan-approval_2@canary-1", ModelRef("loan-approval_2", alias="canary-1")),
        ("a:2147483647", ModelRef("a", version=2**31 - 1)),
    ],
)
def test_parse_the_three_forms(text: str, expected: ModelRef) -> None:
    assert parse_ref(text) == expected


def test_bare_name_means_production_and_round_trips() -> None:
    assert DEFAULT_ALIAS == "production"
    assert ModelRef("loan") == parse_ref("loan")
    assert str(parse_ref("loan")) == "loan@production"
    for text in ("loan@staging", "loan:12"):
        assert str(parse_ref(text)) == text
        assert parse_ref(str(parse_ref(text))) == parse_ref(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "../etc",
        "..",
        "a/b",
        "a\\b",
        "%2e%2e",
        "%2e%2e%2fetc",
        "name;drop table",
        "name;drop table models;--",
        "Loan",
        "loan ",
        " loan",
        "-loan",
        "loan-",
        "lo\nan",
        "loan\x00",
        "ℓoan",
        "a" * 65,
        "loan@",
        "loan:",
        "@staging",
        ":3",
        "loan@../x",
        "loan@Staging",
        "loan@a/b",
        "loan@staging:3",
        "loan:3@staging",
        "loan@a@b",
        "loan:0",
        "loan:-1",
        "loan:01",
        "loan:1.5",
        "loan:1e3",
        "loan: 3",
        "loan:３",
        "loan:2147483648",
        "loan:99999999999999999999",
        "x" * 10_000,
    ],
)
def test_malformed_references_are_invalid_names(text: str) -> None:
    with pytest.raises(InvalidName) as caught:
        parse_ref(text)
    assert caught.value.code == "invalid_name"
    assert len(str(caught.value)) < 400  # a huge input is not echoed back whole


@pytest.mark.parametrize("value", [None, 3, b"loan", ["loan"]])
def test_non_strings_are_invalid_names(value: object) -> None:
    with pytest.raises(InvalidName):
        parse_ref(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"name": "../etc"},
        {"name": "loan", "alias": "a/b"},
        {"name": "loan", "alias": "staging", "version": 2},
        {"name": "loan", "version": 0},
        {"name": "loan", "version": True},
        {"name": "loan", "version": "3"},
        {"name": "loan", "version": 2**31},
    ],
)
def test_model_ref_validates_when_built_directly(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidName):
        ModelRef(**kwargs)  # type: ignore[arg-type]


def test_model_ref_is_frozen_and_hashable() -> None:
    ref = parse_ref("loan:2")
    assert {ref: 1}[ModelRef("loan", version=2)] == 1
    with pytest.raises(AttributeError):
        ref.version = 3  # type: ignore[misc]
