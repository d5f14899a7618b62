"""The prediction log on a real server: after a graceful shutdown every answered record is
in the log (SQL table or Parquet files), with its request id, inputs, outputs, decision."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from live_server import MODEL, Deployment, start_server, stop_server
from modelport.predlog import read_predictions


async def _traffic(url: str, records: list[dict[str, Any]]) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:

        async def one(i: int) -> httpx.Response:
            body: Any = records[i % len(records)] if i % 3 else records[: 1 + i % 4]
            return await client.post(f"/v1/models/{MODEL}/predict", json=body)

        return await asyncio.gather(*(one(i) for i in range(300)))


@pytest.mark.parametrize("sink", ["sql", "parquet"])
def test_every_answered_record_is_logged_after_a_graceful_shutdown(
    registry_factory: Callable[[], Deployment],
    records: list[dict[str, Any]],
    tmp_path: Path,
    sink: str,
) -> None:
    deployment = registry_factory()
    deployment.registry.close()
    where = f"sqlite:///{tmp_path / 'log.db'}" if sink == "sql" else str(tmp_path / "log")
    setting = (
        "MODELPORT_PREDICTION_LOG_URL" if sink == "sql" else "MODELPORT_PREDICTION_LOG_DIRECTORY"
    )
    env = {
        "MODELPORT_PREDICTION_LOG_ENABLED": "true",
        setting: where,
        "MODELPORT_PREDICTION_LOG_FLUSH_SECONDS": "30",  # only the shutdown flush writes
    }
    live = start_server(deployment, extra_env=env)
    try:
        answers = asyncio.run(_traffic(live.url, records))
        refused = httpx.post(f"{live.url}/v1/models/{MODEL}/predict", json={"age": "x"})
    finally:
        stop_server(live)  # SIGTERM: uvicorn's graceful shutdown runs the lifespan's end
    assert all(a.status_code == 200 for a in answers)
    assert refused.status_code == 422
    expected: dict[str, int] = {}
    for answer in answers:
        prediction = answer.json()["prediction"]
        expected[answer.headers["x-request-id"]] = (
            len(prediction) if isinstance(prediction, list) else 1
        )
    logged = read_predictions(where)
    counts: dict[str, int] = {}
    for record in logged:
        counts[record.request_id] = counts.get(record.request_id, 0) + 1
    assert counts == expected  # every answered record, once; nothing for the refusal
    first = next(r for r in logged if r.request_id == answers[1].headers["x-request-id"])
    assert first.model == MODEL and first.version == 1
    assert first.inputs == records[1 % len(records)]
    assert first.outputs == answers[1].json()["prediction"]
    assert first.latency_ms > 0
