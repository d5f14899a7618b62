"""Good requests: the documented 200 envelope, for every route and body shape."""

from __future__ import annotations

import math
from typing import Any

import httpx
import pytest

from live_server import MODEL

PREDICT = f"/v1/models/{MODEL}/predict"


def check_prediction(prediction: dict[str, Any]) -> None:
    assert set(prediction) == {"label", "probabilities", "score"}
    probabilities = prediction["probabilities"]
    assert set(probabilities) == {"0", "1"}
    assert math.isclose(sum(probabilities.values()), 1.0, abs_tol=1e-6)
    assert all(0.0 <= p <= 1.0 for p in probabilities.values())
    assert prediction["score"] == probabilities["1"]
    assert prediction["label"] in (0, 1)
    assert str(prediction["label"]) == max(probabilities, key=probabilities.__getitem__)


def test_one_record_gets_one_prediction(client: httpx.Client, record: dict[str, Any]) -> None:
    response = client.post(PREDICT, json=record)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"success", "message", "model", "prediction"}
    assert body["success"] is True
    assert body["message"] == "ok"
    assert body["model"] == {"name": MODEL, "version": 1}
    check_prediction(body["prediction"])
    assert response.headers["x-model-version"] == f"{MODEL}:1"


def test_a_list_of_records_gets_a_list(client: httpx.Client, records: list[dict[str, Any]]) -> None:
    response = client.post(PREDICT, json=records)
    assert response.status_code == 200
    predictions = response.json()["prediction"]
    assert isinstance(predictions, list)
    assert len(predictions) == len(records)
    for prediction in predictions:
        check_prediction(prediction)


def test_a_list_of_one_is_still_a_list(client: httpx.Client, record: dict[str, Any]) -> None:
    body = client.post(PREDICT, json=[record]).json()
    assert isinstance(body["prediction"], list) and len(body["prediction"]) == 1


def test_same_answer_alone_or_in_a_batch(
    client: httpx.Client, records: list[dict[str, Any]]
) -> None:
    batch = client.post(PREDICT, json=records).json()["prediction"]
    for index in (0, 7, len(records) - 1):
        alone = client.post(PREDICT, json=records[index]).json()["prediction"]
        assert alone == batch[index]


def test_optional_fields_may_be_left_out_or_null(
    client: httpx.Client, record: dict[str, Any], contract: Any
) -> None:
    optional = [f.name for f in contract.fields if not f.required]
    assert optional, "the loan contract has optional fields"
    left_out = {k: v for k, v in record.items() if k not in optional}
    nulls = {**record, **dict.fromkeys(optional)}
    for body in (left_out, nulls):
        response = client.post(PREDICT, json=body)
        assert response.status_code == 200, response.text
        check_prediction(response.json()["prediction"])


def test_version_route_names_that_version(client: httpx.Client, record: dict[str, Any]) -> None:
    for version in (1, 2):
        response = client.post(f"/v1/models/{MODEL}/versions/{version}/predict", json=record)
        assert response.status_code == 200
        assert response.json()["model"] == {"name": MODEL, "version": version}
        check_prediction(response.json()["prediction"])


def test_alias_routes(client: httpx.Client, record: dict[str, Any]) -> None:
    staging = client.post(f"/v1/models/{MODEL}/aliases/staging/predict", json=record)
    assert staging.status_code == 200
    assert staging.json()["model"] == {"name": MODEL, "version": 2}
    production = client.post(f"/v1/models/{MODEL}/aliases/production/predict", json=record)
    assert production.json()["model"] == {"name": MODEL, "version": 1}
    assert production.json() == client.post(PREDICT, json=record).json()


def test_the_two_versions_are_different_models(
    client: httpx.Client, records: list[dict[str, Any]]
) -> None:
    one = client.post(f"/v1/models/{MODEL}/versions/1/predict", json=records).json()
    two = client.post(f"/v1/models/{MODEL}/versions/2/predict", json=records).json()
    assert one["prediction"] != two["prediction"]


@pytest.mark.parametrize(
    "content_type",
    [None, "application/json", "application/json; charset=utf-8", "application/x+json"],
)
def test_json_content_types_are_accepted(
    client: httpx.Client, record: dict[str, Any], content_type: str | None
) -> None:
    content = httpx.Request("POST", "/", json=record).content
    headers = {} if content_type is None else {"content-type": content_type}
    request = client.build_request("POST", PREDICT, content=content, headers=headers)
    assert ("content-type" in request.headers) is (content_type is not None)
    assert client.send(request).status_code == 200


def test_a_chunked_body_within_the_limit_is_read(
    client: httpx.Client, records: list[dict[str, Any]]
) -> None:
    payload = httpx.Request("POST", "/", json=records).content

    def chunks() -> Any:
        for start in range(0, len(payload), 100):
            yield payload[start : start + 100]

    response = client.post(PREDICT, content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 200
    assert len(response.json()["prediction"]) == len(records)


def test_request_ids(client: httpx.Client, record: dict[str, Any]) -> None:
    mine = client.post(PREDICT, json=record, headers={"x-request-id": "order-42.a:b_c"})
    assert mine.headers["x-request-id"] == "order-42.a:b_c"
    generated = client.post(PREDICT, json=record)
    assert len(generated.headers["x-request-id"]) >= 16
    assert (
        generated.headers["x-request-id"]
        != client.post(PREDICT, json=record).headers["x-request-id"]
    )
    for unsafe in ("x" * 200, "a b", "<script>", "é"):
        headers = [(b"x-request-id", unsafe.encode("utf-8"))]
        response = client.get("/healthz", headers=headers)
        assert response.headers["x-request-id"] != unsafe
        assert response.headers["x-request-id"].isalnum()
