"""Health, readiness, model listings and the OpenAPI document."""

from __future__ import annotations

from typing import Any

import httpx

from live_server import MAX_RECORDS, MODEL


def test_healthz(client: httpx.Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["success"] is True


def test_readyz_when_ready(client: httpx.Client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert body["reasons"] == [] and body["failed"] == []
    assert body["serving"][MODEL]["production"] == 1


def test_list_models(client: httpx.Client, record: dict[str, Any]) -> None:
    client.post(f"/v1/models/{MODEL}/aliases/staging/predict", json=record)
    response = client.get("/v1/models")
    assert response.status_code == 200
    (model,) = response.json()["models"]
    assert model["name"] == MODEL
    assert model["aliases"] == {"production": 1, "staging": 2}
    assert model["serving"]["production"] == 1
    assert model["serving"]["staging"] == 2
    assert set(model["loaded_versions"]) == {1, 2}
    versions = {v["version"]: v for v in model["versions"]}
    assert set(versions) == {1, 2}
    assert versions[1]["aliases"] == ["production"]
    assert versions[2]["description"] == "refit, random_state=1"
    assert versions[1]["task"] == "binary" and versions[1]["runtime"] == "onnx"
    assert versions[1]["loaded"] is True
    assert len(versions[1]["digest"]) == 64
    assert "path" not in versions[1]  # no filesystem paths leave the server


def test_get_one_model(client: httpx.Client) -> None:
    response = client.get(f"/v1/models/{MODEL}")
    assert response.status_code == 200
    model = response.json()["model"]
    assert model["name"] == MODEL
    assert [v["version"] for v in model["versions"]] == [1, 2]


def test_openapi_carries_each_models_contract(client: httpx.Client, contract: Any) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    schemas = doc["components"]["schemas"]
    record_schema = schemas[f"{MODEL}.v1.Record"]
    assert record_schema == contract.json_schema()
    assert set(record_schema["properties"]) == set(contract.names)
    assert f"{MODEL}.v2.Record" in schemas
    for path, version in [
        (f"/v1/models/{MODEL}/predict", 1),
        (f"/v1/models/{MODEL}/aliases/staging/predict", 2),
        (f"/v1/models/{MODEL}/versions/1/predict", 1),
        (f"/v1/models/{MODEL}/versions/2/predict", 2),
    ]:
        operation = doc["paths"][path]["post"]
        body = operation["requestBody"]["content"]["application/json"]["schema"]
        one, many = body["oneOf"]
        assert one == {"$ref": f"#/components/schemas/{MODEL}.v{version}.Record"}
        assert many["items"] == one and many["maxItems"] == MAX_RECORDS
        assert {"200", "400", "404", "413", "415", "422"} <= set(operation["responses"])
    prediction = schemas[f"{MODEL}.v1.Prediction"]
    assert set(prediction["required"]) == {"label", "probabilities", "score"}
    for fixed in ("/healthz", "/readyz", "/v1/models", "/v1/models/{name}"):
        assert fixed in doc["paths"]


def test_docs_page(client: httpx.Client) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert "/openapi.json" in response.text
