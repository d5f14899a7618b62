"""Authentication and scopes over real HTTP: 401 before anything is revealed, 403 for a
missing scope, admin routes closed to predict-only credentials, API keys and revocation.

One server per registry backend, with JWTs (HS256, issuer and audience checked) and API
keys both accepted and the admin API on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from live_server import MODEL, Deployment, LiveServer, refusal, start_server, stop_server
from modelport.package import pack
from modelport.registry import Registry
from modelport.settings import Settings

SECRET = "a-test-secret-that-is-long-enough-for-hs256-0123456789"
ISSUER = "https://login.example.test/"
AUDIENCE = "modelport-tests"
AUTH_ENV = {
    "MODELPORT_AUTH": "jwt,apikey",
    "MODELPORT_JWT_SECRET": SECRET,
    "MODELPORT_JWT_ISSUER": ISSUER,
    "MODELPORT_JWT_AUDIENCE": AUDIENCE,
    "MODELPORT_ADMIN_API": "true",
}


def token(scope: str, *, subject: str = "alice", **claims: Any) -> str:
    now = int(time.time())
    payload = {"sub": subject, "scope": scope, "iss": ISSUER, "aud": AUDIENCE, "exp": now + 600}
    payload |= claims
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, SECRET, "HS256")


def bearer(credential: str) -> dict[str, str]:
    return {"authorization": f"Bearer {credential}"}


@dataclass
class Secured:
    server: LiveServer
    deployment: Deployment

    def registry(self) -> Registry:
        return Registry.from_settings(
            Settings(home=self.deployment.home, database_url=self.deployment.database_url)
        )


@pytest.fixture(scope="module")
def secured(registry_factory: Callable[[], Deployment]) -> Iterator[Secured]:
    deployment = registry_factory()
    deployment.registry.close()
    live = start_server(deployment, extra_env=AUTH_ENV)
    yield Secured(live, deployment)
    stop_server(live)


@pytest.fixture(scope="module")
def http(secured: Secured) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=secured.server.url, timeout=30) as client:
        yield client


PREDICT = f"/v1/models/{MODEL}/predict"
ADMIN_CALLS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", f"/v1/admin/models/{MODEL}/promote", {"version": 2, "alias": "staging"}),
    ("POST", f"/v1/admin/models/{MODEL}/aliases/production/rollback", None),
    ("PUT", f"/v1/admin/models/{MODEL}/aliases/staging", {"version": 2}),
    ("GET", f"/v1/admin/models/{MODEL}/history", None),
    ("POST", "/v1/admin/cache/invalidate", {}),
    ("POST", f"/v1/admin/models/{MODEL}/versions", None),
    ("DELETE", f"/v1/admin/models/{MODEL}/versions/2", None),
]
PROTECTED: list[tuple[str, str]] = [
    ("POST", PREDICT),
    ("POST", f"/v1/models/{MODEL}/versions/1/predict"),
    ("POST", "/v1/models/no-such-model/predict"),
    ("POST", "/v1/score"),
    ("GET", "/v1/models"),
    ("GET", f"/v1/models/{MODEL}"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/metrics"),
    ("GET", "/no/such/route"),
    *[(method, path) for method, path, _ in ADMIN_CALLS],
]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_without_credentials_everything_but_the_probes_is_401(
    http: httpx.Client, record: dict[str, Any], method: str, path: str
) -> None:
    response = http.request(method, path, json=record)
    body = refusal(response, 401, "unauthenticated")
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert MODEL not in response.text.replace(path, "")  # nothing about the deployment
    assert "version" not in body["message"]


def test_the_probes_answer_without_credentials_but_say_no_more(http: httpx.Client) -> None:
    assert http.get("/healthz").status_code == 200
    ready = http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"success": True, "message": "ready"}
    detailed = http.get("/readyz", headers=bearer(token("metrics"))).json()
    assert detailed["serving"] == {MODEL: {"production": 1}}
    # a client hears only of the models it may use
    assert http.get("/readyz", headers=bearer(token(f"predict:{MODEL}"))).json()["serving"]
    stranger = http.get("/readyz", headers=bearer(token("predict:another-model"))).json()
    assert stranger["serving"] == {} and stranger["success"] is True


@pytest.mark.parametrize(
    ("name", "credential"),
    [
        ("garbage", "not-a-token"),
        ("wrong secret", jwt.encode({"sub": "a", "exp": 2**31}, "x" * 40, "HS256")),
        ("expired", token("admin", exp=int(time.time()) - 3600)),
        ("not yet valid", token("admin", nbf=int(time.time()) + 3600)),
        ("no expiry", token("admin", exp=None)),
        ("no subject", token("admin", subject=None)),
        ("other issuer", token("admin", iss="https://evil.example.test/")),
        ("other audience", token("admin", aud="another-service")),
        ("alg none", jwt.encode({"sub": "a", "exp": 2**31, "scope": "admin"}, None, "none")),
        ("unknown API key", "mpk_0123456789ab_" + "A" * 43),
        ("malformed API key", "mpk_nothex"),
    ],
)
def test_credentials_that_do_not_verify_are_401(
    http: httpx.Client, record: dict[str, Any], name: str, credential: str
) -> None:
    for path in (PREDICT, f"/v1/admin/models/{MODEL}/history"):
        refusal(http.post(path, json=record, headers=bearer(credential)), 401, "unauthenticated")


def test_a_scheme_other_than_bearer_is_401(http: httpx.Client, record: dict[str, Any]) -> None:
    basic = {"authorization": "Basic YWxpY2U6cGFzc3dvcmQ="}
    refusal(http.post(PREDICT, json=record, headers=basic), 401, "unauthenticated")


def test_an_empty_api_key_header_does_not_hide_a_bearer_token(
    http: httpx.Client, record: dict[str, Any]
) -> None:
    headers = [("x-api-key", ""), ("authorization", f"Bearer {token('predict:*')}")]
    assert http.post(PREDICT, json=record, headers=headers).status_code == 200
    # the token verified above is remembered by its own header, not by the empty key
    alone = http.post(PREDICT, json=record, headers=[("x-api-key", "")])
    refusal(alone, 401, "unauthenticated")


def test_a_predict_scope_scores_that_model_only(http: httpx.Client, record: dict[str, Any]) -> None:
    mine = bearer(token(f"openid predict:{MODEL}"))  # scopes of other systems are ignored
    answer = http.post(PREDICT, json=record, headers=mine)
    assert answer.status_code == 200, answer.text
    assert http.post(f"/v1/models/{MODEL}/versions/2/predict", json=record, headers=mine).is_success
    assert http.get(f"/v1/models/{MODEL}", headers=mine).is_success
    assert [m["name"] for m in http.get("/v1/models", headers=mine).json()["models"]] == [MODEL]

    other = bearer(token("predict:another-model"))
    refused = refusal(http.post(PREDICT, json=record, headers=other), 403, "forbidden")
    assert f"predict:{MODEL}" in refused["message"]
    refusal(http.get(f"/v1/models/{MODEL}", headers=other), 403, "forbidden")
    assert http.get("/v1/models", headers=other).json()["models"] == []
    # a model that does not exist is 403 as well: a refusal reveals nothing
    refusal(http.post("/v1/models/nope/predict", json=record, headers=mine), 403, "forbidden")
    score = {"model": "another-model", "entity": {"customer_id": 1}}
    refusal(http.post("/v1/score", json=score, headers=mine), 403, "forbidden")


def test_predict_star_scores_every_model(http: httpx.Client, record: dict[str, Any]) -> None:
    every = bearer(token("predict:*"))
    assert http.post(PREDICT, json=record, headers=every).status_code == 200
    missing = http.post("/v1/models/nope/predict", json=record, headers=every)
    refusal(missing, 404, "model_not_found")


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_CALLS)
def test_admin_routes_are_closed_to_predict_only_credentials(
    http: httpx.Client, method: str, path: str, body: dict[str, Any] | None
) -> None:
    for scope in (f"predict:{MODEL}", "predict:*", "metrics"):
        response = http.request(method, path, json=body, headers=bearer(token(scope)))
        refused = refusal(response, 403, "forbidden")
        assert "admin" in refused["message"]


def test_metrics_need_the_metrics_or_admin_scope(http: httpx.Client) -> None:
    refusal(http.get("/metrics", headers=bearer(token("predict:*"))), 403, "forbidden")
    for scope in ("metrics", "admin"):
        scraped = http.get("/metrics", headers=bearer(token(scope)))
        assert scraped.status_code == 200 and "modelport_" in scraped.text


def test_the_openapi_document_declares_the_bearer_scheme(http: httpx.Client) -> None:
    document = http.get("/openapi.json", headers=bearer(token("predict:*"))).json()
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert document["security"] == [{"bearer": []}]


def test_an_admin_token_administers_and_the_audit_trail_names_it(
    registry_factory: Callable[[], Deployment], tmp_path: Path, second_package_path: Path
) -> None:
    deployment = registry_factory()
    deployment.registry.close()
    live = start_server(deployment, extra_env=AUTH_ENV)
    admin = bearer(token("admin", subject="release-manager"))
    try:
        with httpx.Client(base_url=live.url, timeout=60, headers=admin) as http:
            moved = http.put(f"/v1/admin/models/{MODEL}/aliases/staging", json={"version": 2})
            assert moved.status_code == 200, moved.text
            history = http.get(f"/v1/admin/models/{MODEL}/history").json()["events"]
            assert history[0]["actor"] == "release-manager (jwt) from http 127.0.0.1"
            in_use = http.delete(f"/v1/admin/models/{MODEL}/versions/2")
            refusal(in_use, 409, "in_use")

            archive = pack(second_package_path, tmp_path / "second.mpk")
            again = http.post(
                f"/v1/admin/models/{MODEL}/versions",
                content=archive.read_bytes(),
                headers={"content-type": "application/octet-stream"},
            )
            assert again.status_code == 201, again.text
            assert again.json()["version"]["version"] == 2  # the same package: the same version
            wrong_name = http.post(
                "/v1/admin/models/another-model/versions", content=archive.read_bytes()
            )
            refusal(wrong_name, 422, "invalid_input")
            not_an_archive = http.post(
                f"/v1/admin/models/{MODEL}/versions", content=b"this is not a tar.gz"
            )
            refusal(not_an_archive, 422, "unsafe_archive")
    finally:
        stop_server(live)


def test_api_keys_work_until_revoked_or_expired(
    secured: Secured, http: httpx.Client, record: dict[str, Any]
) -> None:
    with secured.registry() as registry:
        made, key = registry.api_keys.create("scorer", [f"predict:{MODEL}"])
        _, expired = registry.api_keys.create(
            "old", ["predict:*"], expires_at=datetime.now(UTC) - timedelta(seconds=1)
        )
    assert http.post(PREDICT, json=record, headers=bearer(key)).status_code == 200
    assert http.post(PREDICT, json=record, headers={"x-api-key": key}).status_code == 200
    history = f"/v1/admin/models/{MODEL}/history"
    refusal(http.get(history, headers=bearer(key)), 403, "forbidden")
    tampered = key[:-1] + ("A" if key[-1] != "A" else "B")
    refusal(http.post(PREDICT, json=record, headers=bearer(tampered)), 401, "unauthenticated")
    expired_answer = http.post(PREDICT, json=record, headers=bearer(expired))
    assert "expired" in refusal(expired_answer, 401, "unauthenticated")["message"]

    with secured.registry() as registry:
        registry.api_keys.revoke(made.key_id)
    deadline = time.monotonic() + 15  # servers re-read keys every 5 s
    status = 200
    while status == 200 and time.monotonic() < deadline:
        status = http.post(PREDICT, json=record, headers=bearer(key)).status_code
        time.sleep(0.2)
    assert status == 401, "the revoked key was still accepted after 15 s"


def test_a_token_keeps_working_for_many_requests(
    http: httpx.Client, record: dict[str, Any]
) -> None:
    headers = bearer(token(f"predict:{MODEL}"))
    statuses = {http.post(PREDICT, json=record, headers=headers).status_code for _ in range(50)}
    assert statuses == {200}
