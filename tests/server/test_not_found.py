"""Unknown models, aliases, versions and routes: 404 with the right code; wrong method 405."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from live_server import MODEL, refusal


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/v1/models/no-such-model/predict", "model_not_found"),
        ("/v1/models/no-such-model/aliases/production/predict", "model_not_found"),
        ("/v1/models/no-such-model/versions/1/predict", "model_not_found"),
        ("/v1/models/no-such-model/versions/abc/predict", "model_not_found"),
        ("/v1/models/NOT%20A%20NAME/predict", "model_not_found"),
        ("/v1/models/%C3%A9t%C3%A9/predict", "model_not_found"),
        (f"/v1/models/{MODEL}/aliases/no-such-alias/predict", "alias_not_found"),
        (f"/v1/models/{MODEL}/aliases/Bad%20Alias!/predict", "alias_not_found"),
        (f"/v1/models/{MODEL}/versions/99/predict", "version_not_found"),
        (f"/v1/models/{MODEL}/versions/0/predict", "version_not_found"),
        (f"/v1/models/{MODEL}/versions/-1/predict", "version_not_found"),
        (f"/v1/models/{MODEL}/versions/1.0/predict", "version_not_found"),
        (f"/v1/models/{MODEL}/versions/99999999999999999999/predict", "version_not_found"),
        (f"/v1/models/{MODEL}/versions/%D9%A1/predict", "version_not_found"),  # Arabic digit one
    ],
)
def test_unknown_model_alias_or_version_is_404(
    client: httpx.Client, record: dict[str, Any], path: str, code: str
) -> None:
    body = refusal(client.post(path, json=record), 404, code)
    assert body["errors"] == []


def test_unknown_model_wins_over_a_bad_body(client: httpx.Client) -> None:
    response = client.post("/v1/models/no-such-model/predict", content=b"{not json")
    refusal(response, 404, "model_not_found")


def test_get_unknown_model_is_404(client: httpx.Client) -> None:
    refusal(client.get("/v1/models/no-such-model"), 404, "model_not_found")
    refusal(client.get("/v1/models/Not%20Valid"), 404, "model_not_found")


@pytest.mark.parametrize("path", ["/", "/v2/models", "/v1/models/x/y/z", "/v1/predict", "/.env"])
def test_unknown_routes_are_404(client: httpx.Client, path: str) -> None:
    refusal(client.get(path), 404, "not_found")
    refusal(client.post(path, json={}), 404, "not_found")


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_wrong_method_is_405(client: httpx.Client, method: str) -> None:
    response = client.request(method, f"/v1/models/{MODEL}/predict")
    refusal(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "POST"
    refusal(
        client.request(method, f"/v1/models/{MODEL}/versions/1/predict"), 405, "method_not_allowed"
    )
    if method != "GET":
        refusal(client.request(method, "/healthz"), 405, "method_not_allowed")
