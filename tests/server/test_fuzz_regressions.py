"""What the fuzzers found, each as a minimal reproduction against a real server.

FastAPI decodes admin bodies with Python's ``json``, which reads ``1e999`` as infinity and
accepts the ``NaN`` and ``Infinity`` literals. A non-finite number that reaches the
registry cannot be stored on PostgreSQL (its JSON has no such numbers): the write fails
and the client got a 503 "registry unavailable" for its own mistake, while SQLite stored
it. Each must be refused as the caller's error (422) on both backends.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator

import httpx
import jwt
import pytest

from live_server import MODEL, Deployment, LiveServer, start_server, stop_server
from modelport.errors import InvalidInput
from modelport.lifecycle import GatePolicy

JWT_SECRET = "modelport-fuzz-regressions-secret-0123456789"
NON_FINITE = [b"1e999", b"-1e999", b"NaN", b"Infinity", b"-Infinity"]


@pytest.fixture(scope="module")
def admin_server(registry_factory: Callable[[], Deployment]) -> Iterator[LiveServer]:
    deployment = registry_factory()
    deployment.registry.close()
    env = {
        "MODELPORT_ADMIN_API": "true",
        "MODELPORT_AUTH": "jwt",
        "MODELPORT_JWT_SECRET": JWT_SECRET,
    }
    live = start_server(deployment, extra_env=env)
    yield live
    stop_server(live)


@pytest.fixture(scope="module")
def admin(admin_server: LiveServer) -> Iterator[httpx.Client]:
    claims = {"sub": "fuzzer", "scope": "admin predict:*", "exp": int(time.time()) + 3600}
    token = jwt.encode(claims, JWT_SECRET, algorithm="HS256")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    with httpx.Client(base_url=admin_server.url, timeout=60, headers=headers) as client:
        yield client


def test_an_infinite_tolerance_is_refused_by_the_library() -> None:
    with pytest.raises(InvalidInput, match="tolerance must be a finite number"):
        GatePolicy(no_worse_than_current=True, tolerance=math.inf)


@pytest.mark.parametrize("number", [b"1e999", b"Infinity"])
def test_an_infinite_promotion_tolerance_is_a_refusal_not_a_503(
    admin: httpx.Client, admin_server: LiveServer, number: bytes
) -> None:
    body = b'{"version": 2, "alias": "staging", "no_worse_than_current": true, "tolerance": '
    response = admin.post(f"/v1/admin/models/{MODEL}/promote", content=body + number + b"}")
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_input"
    assert "tolerance" in response.json()["message"]
    events = admin.get(f"/v1/admin/models/{MODEL}/history").json()["events"]
    assert [e for e in events if e["action"] == "promote"] == []  # refused before the gates
    assert admin_server.alive()


@pytest.mark.parametrize("number", NON_FINITE)
def test_a_non_finite_entity_key_in_a_cache_invalidation_is_a_refusal(
    admin: httpx.Client, number: bytes
) -> None:
    body = b'{"source": "customers", "entity": {"customer_id": ' + number + b"}}"
    response = admin.post("/v1/admin/cache/invalidate", content=body)
    assert 400 <= response.status_code < 500, response.text
