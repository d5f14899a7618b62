"""Hot swap under concurrent load: no request fails, and each answer is the named version's."""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

import modelport as mp
from live_server import MODEL, Deployment, start_server, stop_server

CONNECTIONS = 16
PATH = f"/v1/models/{MODEL}/predict"


async def load(url: str, body: list[dict[str, Any]], stop: threading.Event) -> list[Any]:
    """CONNECTIONS clients, each predicting until ``stop``; every outcome recorded."""
    outcomes: list[Any] = []
    limits = httpx.Limits(max_connections=CONNECTIONS)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:

        async def loop() -> None:
            while not stop.is_set():
                try:
                    response = await client.post(PATH, json=body)
                except httpx.HTTPError as exc:
                    outcomes.append(exc)
                    continue
                outcomes.append(response)

        await asyncio.gather(*(loop() for _ in range(CONNECTIONS)))
    return outcomes


def _predictions(scorer: mp.Scorer, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return scorer.score(scorer.validate(records)).prediction.to_records()


def test_alias_moves_under_load_fail_nothing(
    registry_factory: Callable[[], Deployment],
    loan_package_path: Path,
    second_package_path: Path,
    records: list[dict[str, Any]],
) -> None:
    body = records[:4]
    expected = {
        version: _predictions(mp.load(path), body)
        for version, path in ((1, loan_package_path), (2, second_package_path))
    }
    deployment = registry_factory()
    registry = deployment.registry
    live = start_server(deployment, poll_seconds=0.2)
    stop = threading.Event()
    outcomes: list[Any] = []
    runner = threading.Thread(
        target=lambda: outcomes.extend(asyncio.run(load(live.url, body, stop))), daemon=True
    )
    try:
        runner.start()
        time.sleep(1.0)
        registry.set_alias(MODEL, "production", 2)
        time.sleep(2.0)
        registry.set_alias(MODEL, "production", 1)
        time.sleep(2.0)
    finally:
        stop.set()
        runner.join(30)
        stop_server(live)
        registry.close()
    assert not runner.is_alive()
    failures = [o for o in outcomes if not isinstance(o, httpx.Response) or o.status_code != 200]
    assert failures == [], f"{len(failures)} of {len(outcomes)} requests failed: {failures[:3]}"
    assert len(outcomes) > 200, "the load loop was too slow to mean anything"
    versions = []
    for response in outcomes:
        answer = response.json()
        version = answer["model"]["version"]
        assert response.headers["x-model-version"] == f"{MODEL}:{version}"
        for got, want in zip(answer["prediction"], expected[version], strict=True):
            assert got["label"] == want["label"]
            assert math.isclose(got["score"], want["score"], abs_tol=1e-12)
        versions.append(version)
    assert set(versions) == {1, 2}
    assert versions[0] == 1 and versions[-1] == 1
