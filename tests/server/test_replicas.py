"""Several server replicas sharing one registry converge on an alias move within 5 s,
with the default poll interval and the database as the only channel between them."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from live_server import MODEL, Deployment, LiveServer, start_server, stop_server
from modelport.settings import Settings

CONVERGENCE_SECONDS = 5.0


def _served_version(client: httpx.Client, server: LiveServer, body: list[Any]) -> int:
    response = client.post(f"{server.url}/v1/models/{MODEL}/predict", json=body)
    assert response.status_code == 200, response.text
    return int(response.json()["model"]["version"])


def test_three_replicas_converge_within_five_seconds(
    registry_factory: Callable[[], Deployment], records: list[dict[str, Any]]
) -> None:
    deployment = registry_factory()
    default_poll = Settings().alias_poll_seconds
    replicas = [start_server(deployment, poll_seconds=default_poll) for _ in range(3)]
    try:
        with httpx.Client(timeout=10) as client:
            assert {_served_version(client, r, records[:1]) for r in replicas} == {1}
            for target in (2, 1):
                deployment.registry.set_alias(MODEL, "production", target)
                moved = time.monotonic()
                converged: dict[int, float] = {}
                while len(converged) < len(replicas):
                    elapsed = time.monotonic() - moved
                    assert elapsed < CONVERGENCE_SECONDS, (
                        f"replicas {sorted(set(range(3)) - set(converged))} still serve the "
                        f"old version {elapsed:.1f} s after the move to {target}"
                    )
                    for index, replica in enumerate(replicas):
                        served = index in converged or (
                            _served_version(client, replica, records[:1]) == target
                        )
                        if served and index not in converged:
                            converged[index] = elapsed
                    time.sleep(0.05)
    finally:
        for replica in replicas:
            stop_server(replica)
        deployment.registry.close()
