"""Schemathesis against a running server's own OpenAPI document: no request makes a 5xx.

A real uvicorn server on loopback (the helpers of ``tests/live_server.py``), on SQLite
and on PostgreSQL, serves the loan model (v1 at ``production``, v2 at ``staging``) with
the admin API on and JWT authentication (``MODELPORT_AUTH=jwt``). Its ``/openapi.json``
lists every operation: health, readiness, metrics, model listings, the generic and the
per-model predict routes (one per version and alias, request schema = the contract),
``/v1/score`` and the admin routes. Schemathesis' engine (what ``schemathesis run`` runs)
tests each operation through three phases: the schema's examples, *coverage* (boundary
values and schema-violating cases for every parameter, body property and header, plus
unexpected methods) and *fuzzing* (Hypothesis-generated positive and negative data for
path parameters, query, headers and bodies). The stateful phase is off: the API has no
links between operations, and the admin mutations already run in every phase against the
throwaway registry (alias moves, rollbacks, promotions with generated ``test_data``
paths, cache invalidations).

Checks:

* ``not_a_server_error``, everywhere. ``/readyz`` alone may answer 503: that is its
  documented meaning while an alias the fuzzer moved is being loaded, and the test then
  requires the ``not_ready`` code rather than an internal error.
* ``response_schema_conformance``: every response whose status the document declares must
  match its schema. The declared statuses are the ones the app really answers with (its
  own error envelope for 400/404/413/415/422/503 of the predict and score routes, the
  FastAPI routes declare only what they answer), so the check has no false failures
  today; an undocumented status (401, 403, 405...) is not judged.
* ``content_type_conformance``: every answer has the media type the document declares
  (JSON everywhere, Prometheus' text format for ``/metrics``).

Authentication: every generated request carries ``Authorization: Bearer <JWT>`` signed
with the server's test secret (scopes ``admin predict:*``). A second, shorter run sends no
credentials: there must be no 5xx, and nothing but 401 outside ``/healthz`` and ``/readyz``.

Time: Hypothesis' fuzzing phase makes at most ``MAX_EXAMPLES`` (25) cases per operation
and the coverage phase a fixed set per operation; both are derandomized from ``SEED``, so
a CI run sends the same requests every time. The credentialed run takes about 10-15 s per
backend and the one without credentials (``MAX_EXAMPLES_UNAUTHENTICATED`` = 5) a few
seconds; the file stays well under two minutes on two cores, server starts included.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, StopReason, events, from_schema

import live_server as helpers

# The shared fixtures, by name: a registry holding the loan model (v1, v2) on each backend.
registry_factory = helpers.registry_factory
second_package_path = helpers.second_package_path

MODEL = helpers.MODEL
SEED = 20240607
MAX_EXAMPLES = 25
MAX_EXAMPLES_UNAUTHENTICATED = 5
JWT_SECRET = "modelport-fuzz-test-secret-0123456789abcdef"  # 43 bytes, test only
PUBLIC_PATHS = {"/healthz", "/readyz"}


def token() -> str:
    claims = {"sub": "fuzzer", "scope": "admin predict:*", "exp": int(time.time()) + 3600}
    return jwt.encode(claims, JWT_SECRET, algorithm="HS256")


@pytest.fixture(scope="module")
def live(registry_factory: Callable[[], Any]) -> Iterator[Any]:
    deployment = registry_factory()
    deployment.registry.set_alias(MODEL, "staging", 2)
    deployment.registry.close()
    env = {
        "MODELPORT_ADMIN_API": "true",
        "MODELPORT_AUTH": "jwt",
        "MODELPORT_JWT_SECRET": JWT_SECRET,
        "MODELPORT_RATE_LIMIT_PER_SECOND": "0",
        # a real directory of test data, so hostile names are judged against one
        "MODELPORT_PROMOTION_DATA_DIR": str(deployment.home / "test-data"),
    }
    (deployment.home / "test-data").mkdir()
    server = helpers.start_server(deployment, extra_env=env)
    yield server
    helpers.stop_server(server)


@dataclass
class Outcome:
    """What one schemathesis run saw: statuses per operation, failed checks, errors."""

    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    failures: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stop_reason: StopReason | None = None
    bodies: dict[str, list[bytes]] = field(default_factory=lambda: defaultdict(list))

    def report(self) -> str:
        lines = [*self.failures, *self.errors]
        return "\n\n".join(lines[:20]) + (
            f"\n... {len(lines) - 20} more" if len(lines) > 20 else ""
        )


def run_schemathesis(url: str, *, headers: dict[str, str], max_examples: int) -> Outcome:
    config = SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "workers": 1,
            "generation": {
                "mode": "all",
                "max-examples": max_examples,
                "deterministic": True,
                "database": "none",
            },
            "headers": headers,
            "request-timeout": 60,
            "checks": {
                "enabled": False,
                "not_a_server_error": {"enabled": True},
                "response_schema_conformance": {"enabled": True},
                "content_type_conformance": {"enabled": True},
            },
            "phases": {"stateful": {"enabled": False}},
            "operations": [
                {
                    "include-path": "/readyz",
                    "checks": {
                        "not_a_server_error": {"expected-statuses": ["2XX", "3XX", "4XX", 503]}
                    },
                }
            ],
        }
    )
    auth = {"Authorization": f"Bearer {token()}"}  # the document itself needs credentials
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json", config=config, headers=auth)
    outcome = Outcome()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            for interaction in recorder.interactions.values():
                if interaction.response is not None:
                    status = interaction.response.status_code
                    outcome.statuses[event.label or "?"][status] += 1
                    if event.label == "GET /readyz" and status == 503:
                        outcome.bodies["GET /readyz 503"].append(interaction.response.content)
            for nodes in recorder.checks.values():
                for node in nodes:
                    if node.status is Status.FAILURE and node.failure_info is not None:
                        info = node.failure_info
                        outcome.failures.append(
                            f"{event.phase} {event.label}: {node.name}: {info.failure.title}\n"
                            f"{info.code_sample}"
                        )
        elif isinstance(event, events.NonFatalError):
            outcome.errors.append(f"{event.label}: {event.info.format()}")
        elif isinstance(event, events.FatalError):
            outcome.errors.append(f"fatal: {event.exception!r}")
        elif isinstance(event, events.EngineFinished):
            outcome.stop_reason = event.stop_reason
    return outcome


def check_readiness_refusals(outcome: Outcome) -> None:
    for body in outcome.bodies.get("GET /readyz 503", []):
        assert httpx.Response(503, content=body).json().get("code") == "not_ready", body


def test_no_generated_request_makes_a_server_error(live: Any) -> None:
    outcome = run_schemathesis(
        live.url, headers={"Authorization": f"Bearer {token()}"}, max_examples=MAX_EXAMPLES
    )
    assert outcome.stop_reason is StopReason.COMPLETED, outcome.report()
    assert not outcome.failures and not outcome.errors, outcome.report()
    check_readiness_refusals(outcome)
    seen = {status for counts in outcome.statuses.values() for status in counts}
    assert not {s for s in seen if s >= 500} - {503}, outcome.statuses
    # Honest coverage: every family of operations was reached, and with the credentials
    # accepted (an operation that only ever answered 401 was not fuzzed at all).
    labels = set(outcome.statuses)
    for expected in (
        "GET /v1/models",
        "GET /v1/models/{name}",
        "POST /v1/score",
        "GET /metrics",
        f"POST /v1/models/{MODEL}/predict",
        f"POST /v1/models/{MODEL}/versions/2/predict",
        f"POST /v1/models/{MODEL}/aliases/staging/predict",
        "POST /v1/models/{name}/versions/{version}/predict",
        "POST /v1/admin/models/{name}/promote",
        "PUT /v1/admin/models/{name}/aliases/{alias}",
        "POST /v1/admin/models/{name}/aliases/{alias}/rollback",
        "POST /v1/admin/cache/invalidate",
        "POST /v1/admin/models/{name}/versions",
        "DELETE /v1/admin/models/{name}/versions/{version}",
    ):
        assert expected in labels, sorted(labels)
    answered = sum(sum(counts.values()) for counts in outcome.statuses.values())
    print(f"schemathesis: {answered} requests over {len(labels)} operations, no 5xx")
    for label, counts in outcome.statuses.items():
        assert set(counts) - {401}, (label, counts)
    predicted = outcome.statuses[f"POST /v1/models/{MODEL}/predict"]
    assert predicted[200] > 0 and predicted[422] > 0, predicted
    assert live.alive()


def test_without_credentials_every_request_is_refused_and_none_is_a_server_error(
    live: Any,
) -> None:
    outcome = run_schemathesis(live.url, headers={}, max_examples=MAX_EXAMPLES_UNAUTHENTICATED)
    assert outcome.stop_reason is StopReason.COMPLETED, outcome.report()
    assert not outcome.errors, outcome.report()
    server_errors = [f for f in outcome.failures if "not_a_server_error" in f]
    assert not server_errors, "\n\n".join(server_errors[:10])
    check_readiness_refusals(outcome)
    for label, counts in outcome.statuses.items():
        path = label.split(" ", 1)[1]
        if path in PUBLIC_PATHS:
            continue
        assert set(counts) == {401}, (label, counts)
    assert live.alive()


HOSTILE_TEST_DATA = [
    "",
    "\x00",
    "/etc/passwd",
    "/proc/self/environ",
    "/dev/null",
    "/dev/zero",
    "/",
    ".",
    "..",
    "../../../../etc/hostname.csv",
    "/nonexistent/holdout.parquet",
    "http://127.0.0.1:1/holdout.csv",
    "file:///etc/hostname.csv",
    "~/holdout.csv",
    "holdout.csv\x00.parquet",
    "%2e%2e/holdout.csv",
    "x" * 4096,
    "😀.jsonl",
]


@pytest.mark.parametrize("test_data", HOSTILE_TEST_DATA)
def test_promotion_with_a_hostile_test_data_path_is_refused_not_an_error(
    live: Any, test_data: str
) -> None:
    """Generated strings seldom name a file that exists or reach the reader (it needs a
    target and a requirement too); these do, with paths a hostile caller would try."""
    body = {
        "version": 2,
        "alias": "candidate",
        "test_data": test_data,
        "target": "approved",
        "require": ["roc_auc>=0.5"],
    }
    headers = {"Authorization": f"Bearer {token()}"}
    with httpx.Client(base_url=live.url, timeout=60, headers=headers) as client:
        response = client.post(f"/v1/admin/models/{MODEL}/promote", json=body)
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["success"] is False
