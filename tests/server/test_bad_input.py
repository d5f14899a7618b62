"""Every class of bad input: the right status, a stable code, and the field named."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from live_server import MAX_BODY_BYTES, MAX_RECORDS, MODEL, refusal

PREDICT = f"/v1/models/{MODEL}/predict"
JSON = {"content-type": "application/json"}
Change = Callable[[dict[str, Any]], Any]


def without(field: str) -> Change:
    return lambda r: {k: v for k, v in r.items() if k != field}


def setting(field: str, value: Any) -> Change:
    return lambda r: {**r, field: value}


CONTRACT_VIOLATIONS: dict[str, tuple[Change, str, str]] = {
    # case: (change to a good record, the field named, words in the reason)
    "missing required": (without("loan_amount"), "loan_amount", "is required"),
    "null required": (setting("loan_amount", None), "loan_amount", "must not be null"),
    "string for number": (setting("loan_amount", "12000"), "loan_amount", "expected a number"),
    "boolean for number": (setting("loan_amount", True), "loan_amount", "expected a number"),
    "number for string": (setting("home_ownership", 3), "home_ownership", "expected a string"),
    "number for boolean": (setting("has_cosigner", 1), "has_cosigner", "expected a boolean"),
    "fraction for integer": (setting("open_accounts", 2.5), "open_accounts", "integer"),
    "negative amount": (setting("loan_amount", -100), "loan_amount", "below the minimum 0"),
    "negative count": (setting("open_accounts", -1), "open_accounts", "below the minimum 0"),
    "extra field": (setting("favourite_colour", "red"), "favourite_colour", "not a field"),
    "object for number": (setting("age", {"years": 40}), "age", "expected a number"),
    "array for string": (setting("region", ["north"]), "region", "expected a string"),
}


# Beyond the sample's range or categories, but possible: scored, with a warning naming the field.
UNUSUAL: dict[str, tuple[Change, str]] = {
    "above the expected maximum": (setting("loan_amount", 1e12), "loan_amount"),
    "huge number": (setting("loan_amount", 10**30), "loan_amount"),
    "unseen category": (setting("home_ownership", "castle"), "home_ownership"),
}


def test_the_fixture_contract_is_what_these_cases_assume(contract: Any) -> None:
    assert contract.field("loan_amount").required and contract.field("loan_amount").minimum == 0
    assert contract.field("loan_amount").maximum is None
    assert contract.field("open_accounts").minimum == 0
    home = contract.field("home_ownership")
    assert home.categories is None and home.expected_categories  # OneHotEncoder ignores unseen
    assert contract.field("has_cosigner").type == "boolean"
    assert contract.field("open_accounts").type == "integer"
    assert contract.extra_fields == "reject" and contract.unknown_categories == "reject"


@pytest.mark.parametrize("case", sorted(CONTRACT_VIOLATIONS))
def test_contract_violations_are_422_naming_record_and_field(
    client: httpx.Client, record: dict[str, Any], case: str
) -> None:
    change, field, words = CONTRACT_VIOLATIONS[case]
    body = refusal(client.post(PREDICT, json=change(record)), 422, "invalid_input")
    named = [e for e in body["errors"] if e["field"] == field]
    assert named, body
    assert named[0]["record"] == 0
    assert words in named[0]["reason"]


@pytest.mark.parametrize("case", sorted(UNUSUAL))
def test_values_beyond_the_sample_are_scored_not_refused(
    client: httpx.Client, record: dict[str, Any], case: str
) -> None:
    change, field = UNUSUAL[case]
    response = client.post(PREDICT, json=change(record))
    assert response.status_code == 200, response.text
    assert field in response.text  # the warning names it


def test_errors_name_the_record_in_a_list(
    client: httpx.Client, records: list[dict[str, Any]]
) -> None:
    batch = [dict(r) for r in records[:5]]
    batch[1]["loan_amount"] = "lots"
    batch[3].pop("home_ownership")
    batch[3]["delinquencies"] = -2
    response = client.post(PREDICT, json=batch)
    body = refusal(response, 422, "invalid_input")
    assert response.headers["x-model-version"] == f"{MODEL}:1"
    found = {(e["record"], e["field"]) for e in body["errors"]}
    assert found == {(1, "loan_amount"), (3, "home_ownership"), (3, "delinquencies")}


def test_every_field_wrong_lists_every_field(
    client: httpx.Client, record: dict[str, Any], contract: Any
) -> None:
    nonsense = {name: [1, 2] for name in record}
    body = refusal(client.post(PREDICT, json=nonsense), 422, "invalid_input")
    assert {e["field"] for e in body["errors"]} == set(contract.names)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b'{"age": 40,', "not valid JSON"),
        (b"", "empty"),
        (b"   ", "empty"),
        (b"NaN", "not valid JSON"),
        (b'{"loan_amount": NaN}', "not valid JSON"),
        (b'{"loan_amount": Infinity}', "not valid JSON"),
        (b'{"loan_amount": 1e999}', "not valid JSON"),
        (b"\xff\xfe{}", "not valid JSON"),
        (b"{'single': 'quotes'}", "not valid JSON"),
        (b"[" * 5000 + b"]" * 5000, "not valid JSON"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_malformed_json_is_400(client: httpx.Client, content: bytes, words: str) -> None:
    body = refusal(client.post(PREDICT, content=content, headers=JSON), 400, "malformed_request")
    assert words in body["message"]


@pytest.mark.parametrize("content", [b'"a string"', b"42", b"4.2", b"true", b"null"])
def test_a_body_that_is_not_an_object_is_400(client: httpx.Client, content: bytes) -> None:
    body = refusal(client.post(PREDICT, content=content, headers=JSON), 400, "malformed_request")
    assert body["errors"] and body["errors"][0]["field"] is None


def test_array_items_that_are_not_objects_are_400_naming_the_record(
    client: httpx.Client, record: dict[str, Any]
) -> None:
    body = refusal(client.post(PREDICT, json=[record, 7, "x"]), 400, "malformed_request")
    assert [e["record"] for e in body["errors"]] == [1, 2]


def test_an_empty_list_is_400(client: httpx.Client) -> None:
    body = refusal(client.post(PREDICT, json=[]), 400, "malformed_request")
    assert "empty" in body["message"]


def test_too_many_records_is_400(client: httpx.Client, record: dict[str, Any]) -> None:
    assert client.post(PREDICT, json=[record] * MAX_RECORDS).status_code == 200
    body = refusal(
        client.post(PREDICT, json=[record] * (MAX_RECORDS + 1)), 400, "malformed_request"
    )
    assert str(MAX_RECORDS) in body["message"]


def test_deeply_nested_values_are_refused_not_crashed(client: httpx.Client) -> None:
    for depth in (900, 1000, 1020):
        content = b'{"age": ' + b"[" * depth + b"]" * depth + b"}"
        response = client.post(PREDICT, content=content, headers=JSON)
        assert response.status_code in (400, 422), response.text
        nested = b'[{"age": ' + b'{"a": ' * depth + b"1" + b"}" * depth + b"}]"
        assert client.post(PREDICT, content=nested, headers=JSON).status_code in (400, 422)


def test_a_body_over_the_limit_is_413(client: httpx.Client) -> None:
    content = b'{"pad": "' + b"x" * MAX_BODY_BYTES + b'"}'
    body = refusal(client.post(PREDICT, content=content, headers=JSON), 413, "payload_too_large")
    assert str(MAX_BODY_BYTES) in body["message"]


def test_a_chunked_body_over_the_limit_is_413(client: httpx.Client) -> None:
    def chunks() -> Any:
        yield b'{"pad": "'
        for _ in range(MAX_BODY_BYTES // 4096 + 2):
            yield b"x" * 4096
        yield b'"}'

    response = client.post(PREDICT, content=chunks(), headers=JSON)
    refusal(response, 413, "payload_too_large")


def test_a_body_just_within_the_limit_is_read(client: httpx.Client) -> None:
    fields = [b'"p%d": "%s"' % (i, b"x" * 1000) for i in range(MAX_BODY_BYTES // 1012)]
    content = b"{" + b", ".join(fields) + b"}"  # short strings: within the string limit
    assert MAX_BODY_BYTES - 1012 < len(content) <= MAX_BODY_BYTES
    refusal(client.post(PREDICT, content=content, headers=JSON), 422, "invalid_input")


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "json"],
)
def test_a_content_type_that_is_not_json_is_415(
    client: httpx.Client, record: dict[str, Any], content_type: str
) -> None:
    content = httpx.Request("POST", "/", json=record).content
    response = client.post(PREDICT, content=content, headers={"content-type": content_type})
    refusal(response, 415, "unsupported_media_type")


def test_the_server_is_still_up(client: httpx.Client, record: dict[str, Any], server: Any) -> None:
    assert server.alive()
    assert client.get("/healthz").status_code == 200
    assert client.post(PREDICT, json=record).status_code == 200
