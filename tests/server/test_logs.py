"""Structured logs: one JSON line per request, carrying the request id the client was given."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from live_server import MODEL, LiveServer


def access_lines(server: LiveServer) -> list[dict[str, Any]]:
    lines = []
    for line in server.log.read_text().splitlines():
        if line.startswith("{"):
            entry = json.loads(line)  # every line the server writes is JSON
            if entry["logger"] == "modelport.access":
                lines.append(entry)
    return lines


def find(server: LiveServer, request_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 5  # lines are written by a background thread
    while time.monotonic() < deadline:
        for entry in access_lines(server):
            if entry.get("request_id") == request_id:
                return entry
        time.sleep(0.05)
    raise AssertionError(f"no access line for request {request_id}")


def test_every_request_gets_an_access_line_with_its_id(
    server: LiveServer, client: httpx.Client, record: dict[str, Any]
) -> None:
    ok = client.post(f"/v1/models/{MODEL}/predict", json=record)
    entry = find(server, ok.headers["x-request-id"])
    assert entry["level"] == "info"
    assert entry["method"] == "POST" and entry["status"] == 200
    assert entry["path"] == f"/v1/models/{MODEL}/predict"
    assert entry["model"] == MODEL and entry["version"] == 1
    assert entry["duration_ms"] > 0 and "code" not in entry
    assert entry["time"].endswith("+00:00")

    refused = client.post(
        f"/v1/models/{MODEL}/predict",
        json={**record, "age": -5},
        headers={"x-request-id": "client-chosen-7"},
    )
    assert refused.headers["x-request-id"] == "client-chosen-7"
    entry = find(server, "client-chosen-7")
    assert entry["status"] == 422 and entry["code"] == "invalid_input"

    missing = client.get("/v1/models/nobody")
    entry = find(server, missing.headers["x-request-id"])
    assert entry["status"] == 404 and entry["code"] == "model_not_found"


def test_the_log_is_json_throughout(server: LiveServer) -> None:
    lines = [line for line in server.log.read_text().splitlines() if line.strip()]
    assert lines
    for line in lines:
        entry = json.loads(line)
        assert {"time", "level", "logger", "message", "pid"} <= set(entry)
    assert not any('"uvicorn.access"' in line for line in lines), "one access line, not two"
