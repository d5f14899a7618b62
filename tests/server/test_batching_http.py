"""Micro-batching over real HTTP: concurrent requests share runtime calls, answers stay own."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

import modelport as mp
from live_server import MODEL, LiveServer, refusal

PATH = f"/v1/models/{MODEL}/predict"


def batch_counts(client: httpx.Client) -> tuple[float, float]:
    """(runtime calls so far, calls that held a single request) for version 1."""
    calls = single = 0.0
    for family in text_string_to_metric_families(client.get("/metrics").text):
        if family.name != "modelport_batch_requests":
            continue
        for sample in family.samples:
            if sample.labels.get("version") != "1":
                continue
            if sample.name.endswith("_count"):
                calls = sample.value
            elif sample.name.endswith("_bucket") and sample.labels["le"] == "1.0":
                single = sample.value
    return calls, single


async def send_all(url: str, bodies: list[Any]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=len(bodies))
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        return list(await asyncio.gather(*(client.post(PATH, json=body) for body in bodies)))


def assert_same_prediction(got: dict[str, Any], expected: dict[str, Any]) -> None:
    assert got["label"] == expected["label"]
    for cls, probability in expected["probabilities"].items():
        assert math.isclose(got["probabilities"][cls], probability, abs_tol=1e-12)


@pytest.fixture(scope="module")
def expected(loan_package_path: Path, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each record scored alone, in process: what every batched answer must equal."""
    scorer = mp.load(loan_package_path)
    return [scorer.score(scorer.validate([r])).prediction.to_records()[0] for r in records]


def test_concurrent_requests_share_batches_and_get_their_own_answers(
    server: LiveServer,
    client: httpx.Client,
    records: list[dict[str, Any]],
    expected: list[dict[str, Any]],
) -> None:
    calls_before, single_before = batch_counts(client)
    sent = 0
    for _ in range(20):  # until the server has been seen batching (normally the first round)
        bodies: list[Any] = [records[i % len(records)] for i in range(48)]
        bodies += [records[:3], records[3:8]]  # list bodies batch too
        responses = asyncio.run(send_all(server.url, bodies))
        sent += len(bodies)
        for i, response in enumerate(responses[:48]):
            assert response.status_code == 200, response.text
            assert_same_prediction(response.json()["prediction"], expected[i % len(records)])
        for response, first in zip(responses[48:], (0, 3), strict=True):
            predictions = response.json()["prediction"]
            for offset, prediction in enumerate(predictions):
                assert_same_prediction(prediction, expected[first + offset])
        calls, single = batch_counts(client)
        if calls - calls_before < sent:
            break
    assert calls - calls_before < sent, "no two concurrent requests were ever scored together"
    assert single - single_before < calls - calls_before


def test_a_bad_record_fails_only_its_own_request(
    server: LiveServer, records: list[dict[str, Any]], expected: list[dict[str, Any]]
) -> None:
    bad_type = {**records[1], "loan_amount": "lots"}
    bad_sign = {**records[2], "delinquencies": -1}  # never negative in the sample: refused
    bodies: list[Any] = []
    for i in range(40):
        if i % 10 == 3:
            bodies.append([records[0], bad_type])  # the second record is the bad one
        elif i % 10 == 7:
            bodies.append(bad_sign)
        else:
            bodies.append(records[i % len(records)])
    responses = asyncio.run(send_all(server.url, bodies))
    for i, response in enumerate(responses):
        if i % 10 == 3:
            body = refusal(response, 422, "invalid_input")
            assert [(e["record"], e["field"]) for e in body["errors"]] == [(1, "loan_amount")]
        elif i % 10 == 7:
            body = refusal(response, 422, "invalid_input")
            assert [(e["record"], e["field"]) for e in body["errors"]] == [(0, "delinquencies")]
        else:
            assert response.status_code == 200, response.text
            assert response.headers["x-model-version"] == f"{MODEL}:1"
            assert_same_prediction(response.json()["prediction"], expected[i % len(records)])
