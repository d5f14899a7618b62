"""Limits over real HTTP: 429 with Retry-After per principal, 413 on every route, 408 for a
body that does not arrive, and JSON too deep or with too long strings refused with 400."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
import pytest

from live_server import (
    MAX_BODY_BYTES,
    MODEL,
    Deployment,
    LiveServer,
    refusal,
    start_server,
    stop_server,
)

SECRET = "limits-test-secret-0123456789-0123456789-0123456789"
PREDICT = f"/v1/models/{MODEL}/predict"
MAX_PACKAGE_BYTES = 2_000_000
LIMITED_ENV = {
    "MODELPORT_MAX_PACKAGE_BYTES": str(MAX_PACKAGE_BYTES),
    "MODELPORT_AUTH": "jwt",
    "MODELPORT_JWT_SECRET": SECRET,
    "MODELPORT_ADMIN_API": "true",
    "MODELPORT_RATE_LIMIT_PER_SECOND": "0.5",
    "MODELPORT_RATE_LIMIT_BURST": "3",
    "MODELPORT_REQUEST_TIMEOUT_SECONDS": "1",
    "MODELPORT_MAX_JSON_DEPTH": "8",
    "MODELPORT_MAX_STRING_LENGTH": "100",
}


def bearer(subject: str, scope: str = "admin") -> dict[str, str]:
    claims = {"sub": subject, "scope": scope, "exp": int(time.time()) + 600}
    return {"authorization": f"Bearer {jwt.encode(claims, SECRET, 'HS256')}"}


@pytest.fixture(scope="module")
def limited(registry_factory: Callable[[], Deployment]) -> Iterator[LiveServer]:
    deployment = registry_factory()
    deployment.registry.close()
    live = start_server(deployment, extra_env=LIMITED_ENV)
    yield live
    stop_server(live)


@pytest.fixture(scope="module")
def http(limited: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=limited.url, timeout=30) as client:
        yield client


def test_a_principal_over_its_rate_gets_429_with_retry_after(
    http: httpx.Client, record: dict[str, Any]
) -> None:
    eager = bearer("eager", f"predict:{MODEL}")
    statuses = [http.post(PREDICT, json=record, headers=eager).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]  # the burst
    limited = http.post(PREDICT, json=record, headers=eager)
    body = refusal(limited, 429, "rate_limited")
    assert int(limited.headers["retry-after"]) >= 1
    assert "retry" in body["message"]
    # another principal has a bucket of its own
    assert http.post(PREDICT, json=record, headers=bearer("patient")).status_code == 200
    # the FastAPI routes count too
    refusal(http.get("/v1/models", headers=eager), 429, "rate_limited")
    # the probes never do
    assert http.get("/healthz").status_code == 200


def test_the_wait_is_honoured(http: httpx.Client, record: dict[str, Any]) -> None:
    caller = bearer("waits", f"predict:{MODEL}")
    for _ in range(3):
        http.post(PREDICT, json=record, headers=caller)
    refused = http.post(PREDICT, json=record, headers=caller)
    assert refused.status_code == 429
    time.sleep(int(refused.headers["retry-after"]) + 0.1)
    assert http.post(PREDICT, json=record, headers=caller).status_code == 200


def test_an_admin_body_over_the_limit_is_413(http: httpx.Client) -> None:
    big = {"source": "x" * (MAX_BODY_BYTES + 10)}
    response = http.post("/v1/admin/cache/invalidate", json=big, headers=bearer("big-admin"))
    refusal(response, 413, "payload_too_large")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/admin/cache/invalidate"),
        ("PUT", f"/v1/admin/models/{MODEL}/aliases/staging"),
        ("POST", f"/v1/admin/models/{MODEL}/promote"),
        ("POST", f"/v1/admin/models/{MODEL}/versions"),
    ],
)
def test_a_chunked_body_over_the_limit_is_413_too(
    http: httpx.Client, method: str, path: str
) -> None:
    # no Content-Length: the limit is found while reading (the upload's limit is larger)
    size = MAX_BODY_BYTES if not path.endswith("/versions") else MAX_PACKAGE_BYTES

    def chunks() -> Iterator[bytes]:
        yield b'{"source": "'
        for _ in range(size // 65_536 + 2):
            yield b"x" * 65_536

    who = bearer("chunky" + path.replace("/", "-"))  # a principal each: no rate limit
    response = http.request(method, path, content=chunks(), headers=who)
    refusal(response, 413, "payload_too_large")


def test_a_predict_body_over_the_limit_is_413_and_never_read_unauthenticated(
    http: httpx.Client,
) -> None:
    content = b"[" + b"1," * MAX_BODY_BYTES + b"1]"
    refusal(http.post(PREDICT, content=content, headers=bearer("big")), 413, "payload_too_large")
    refusal(http.post(PREDICT, content=content), 401, "unauthenticated")


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"state": "x" * 101}, "longer than 100"),
        ({"k" * 101: 1}, "key is longer"),
        ({"state": [[[[[[[[[["deep"]]]]]]]]]]}, "nests deeper than 8"),
        ([{"state": "NY", "extra": {"a": {"b": {"c": {"d": {"e": {"f": {"g": 1}}}}}}}}], "deeper"),
    ],
)
def test_json_past_the_shape_limits_is_400(http: httpx.Client, body: Any, says: str) -> None:
    response = http.post(PREDICT, content=json.dumps(body), headers=bearer(f"shape-{says[:5]}"))
    assert says in refusal(response, 400, "malformed_request")["message"]


def test_a_body_that_does_not_arrive_in_time_is_408(limited: LiveServer) -> None:
    url = urlsplit(limited.url)
    headers = bearer("slow", f"predict:{MODEL}")["authorization"]
    request = (
        f"POST {PREDICT} HTTP/1.1\r\nHost: {url.hostname}\r\nAuthorization: {headers}\r\n"
        'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"state": '
    ).encode()
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(request)  # and never the rest: the server must not wait forever
        began = time.monotonic()
        answer = b""
        while chunk := sock.recv(4096):  # the server closes the connection after the 408
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    body = json.loads(answer.split(b"\r\n\r\n", 1)[1])
    assert body["code"] == "request_timeout"
    assert "did not arrive within 1 s" in body["message"]
    assert time.monotonic() - began < 9
