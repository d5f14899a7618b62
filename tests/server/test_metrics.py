"""Prometheus metrics: exposed, per model and version, and counting what really happened."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from live_server import MODEL
from modelport.server.metrics import ServerMetrics, render_metrics

PATH = f"/v1/models/{MODEL}/predict"


def scrape(client: httpx.Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    values = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


def value(values: dict[Any, float], name: str, **labels: str) -> float:
    return values.get((name, tuple(sorted(labels.items()))), 0.0)


def test_requests_errors_latency_and_batches_are_counted(
    client: httpx.Client, record: dict[str, Any]
) -> None:
    before = scrape(client)
    for _ in range(7):
        assert client.post(PATH, json=record).status_code == 200
    assert client.post(PATH, json=[record, record, record]).status_code == 200
    assert client.post(PATH, json={**record, "age": "old"}).status_code == 422
    assert client.post(PATH, content=b"{").status_code == 400
    assert client.post("/v1/models/no-such-model/predict", json=record).status_code == 404
    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    v1 = {"endpoint": "predict", "model": MODEL, "version": "1"}
    batched = {"model": MODEL, "version": "1"}
    assert delta("modelport_requests_total", status="200", **v1) == 8
    assert delta("modelport_requests_total", status="422", **v1) == 1
    assert delta("modelport_requests_total", status="400", **v1) == 1
    assert delta("modelport_errors_total", code="invalid_input", **v1) == 1
    assert delta("modelport_errors_total", code="malformed_request", **v1) == 1
    # An unknown model is counted without its name: clients cannot invent series.
    assert (
        delta(
            "modelport_errors_total",
            code="model_not_found",
            endpoint="predict",
            model="",
            version="",
        )
        == 1
    )
    assert not any("no-such-model" in str(key) for key in after)
    assert delta("modelport_request_duration_seconds_count", **v1) == 10
    assert delta("modelport_request_duration_seconds_sum", **v1) > 0
    # Sequential requests: one runtime call each; the 3-record body is one call of 3 rows.
    # The malformed body never reached the batcher.
    assert delta("modelport_batch_rows_count", **batched) == 9
    assert delta("modelport_batch_rows_sum", **batched) == 7 + 3 + 1
    assert value(after, "modelport_model_loaded", **batched) == 1
    assert value(after, "modelport_model_memory_bytes", **batched) > 1_000_000
    assert value(after, "modelport_model_load_seconds", **batched) > 0


def test_operations_routes_are_not_counted_as_predictions(client: httpx.Client) -> None:
    before = scrape(client)
    client.get("/healthz")
    client.get("/v1/models")
    after = scrape(client)
    counted = [k for k in after if k[0] == "modelport_requests_total"]
    assert all(value(after, k[0], **dict(k[1])) == before.get(k, 0.0) for k in counted)


def test_memory_per_loaded_version_is_listed(client: httpx.Client) -> None:
    (model,) = client.get("/v1/models").json()["models"]
    versions = {v["version"]: v for v in model["versions"]}
    loaded = versions[model["serving"]["production"]]
    assert loaded["loaded"] is True
    assert loaded["memory_bytes"] > 1_000_000
    assert loaded["load_seconds"] > 0


def test_records_with_input_warnings_are_counted_per_version() -> None:
    """What the dataplane reports (records whose answer carries warnings) reaches the
    exposition, per model and version."""

    def count(name: str, version: str) -> float:
        labels = (("model", name), ("version", version))
        for family in text_string_to_metric_families(render_metrics().decode()):
            for sample in family.samples:
                if sample.name == "modelport_input_warnings_total" and labels == tuple(
                    sorted(sample.labels.items())
                ):
                    return float(sample.value)
        return 0.0

    metrics = ServerMetrics()
    warned, other = (
        SimpleNamespace(name="warned", version=3),
        SimpleNamespace(name="warned", version=4),
    )
    before = count("warned", "3"), count("warned", "4")
    metrics.input_warnings(warned, 2)  # type: ignore[arg-type]
    metrics.input_warnings(other, 1)  # type: ignore[arg-type]
    metrics.input_warnings(warned, 5)  # type: ignore[arg-type]
    assert count("warned", "3") == before[0], "folded in the background, not on the hot path"
    render_metrics(metrics)  # a scrape folds first
    assert (count("warned", "3") - before[0], count("warned", "4") - before[1]) == (7, 1)


def test_answers_with_warnings_are_counted_over_http(
    client: httpx.Client, record: dict[str, Any]
) -> None:
    """A value beyond the sample's range is scored with a warning, and counted."""
    before = scrape(client)
    unusual = {**record, "loan_amount": 1e12}
    assert client.post(PATH, json=record).status_code == 200
    answered = client.post(PATH, json=[unusual, record, unusual])
    assert answered.status_code == 200, answered.text
    warned = ["warnings" in answer for answer in answered.json()["prediction"]]
    assert warned == [True, False, True]
    after = scrape(client)
    labels = {"model": MODEL, "version": "1"}
    name = "modelport_input_warnings_total"
    assert value(after, name, **labels) - value(before, name, **labels) == 2
