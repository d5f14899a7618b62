"""Moving an alias in the registry: picked up within seconds, with no failed request."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from live_server import MODEL, Deployment, LiveServer, start_server, stop_server
from modelport.package.manifest import MANIFEST_FILE, Manifest
from modelport.registry import Registry

PICKUP_SECONDS = 5.0


@pytest.fixture
def moving(
    registry_factory: Callable[[], Deployment],
) -> Iterator[tuple[LiveServer, Registry]]:
    """A server of its own (these tests move production), and its registry."""
    deployment = registry_factory()
    live = start_server(deployment, poll_seconds=0.25)
    yield live, deployment.registry
    stop_server(live)
    deployment.registry.close()


class Sender(threading.Thread):
    """Keeps predicting until stopped, recording (status, version) of every answer."""

    def __init__(self, url: str, path: str, record: dict[str, Any]) -> None:
        super().__init__(daemon=True)
        self.url, self.path, self.record = url, path, record
        self.answers: list[tuple[int, int | None]] = []
        self.failures: list[str] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=10) as client:
            while not self.stopping.is_set():
                try:
                    response = client.post(self.path, json=self.record)
                except httpx.HTTPError as exc:  # a refused connection is a failed request too
                    self.failures.append(repr(exc))
                    continue
                version = response.json().get("model", {}).get("version")
                self.answers.append((response.status_code, version))

    def versions(self) -> list[int | None]:
        return [version for _, version in self.answers]

    def wait_for(self, version: int, timeout: float) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if version in self.versions()[-3:]:
                return time.monotonic() - started
            time.sleep(0.02)
        raise AssertionError(f"version {version} never answered; saw {set(self.versions())}")

    def stop(self) -> None:
        self.stopping.set()
        self.join(10)


def test_moving_production_is_served_within_seconds_without_failures(
    moving: tuple[LiveServer, Registry], record: dict[str, Any]
) -> None:
    live, registry = moving
    senders = [Sender(live.url, f"/v1/models/{MODEL}/predict", record) for _ in range(2)]
    for sender in senders:
        sender.start()
    try:
        senders[0].wait_for(1, PICKUP_SECONDS)
        time.sleep(0.3)
        registry.set_alias(MODEL, "production", 2)
        took = senders[0].wait_for(2, PICKUP_SECONDS)
        time.sleep(0.3)
        registry.set_alias(MODEL, "production", 1)  # and back: a rollback
        senders[0].wait_for(1, PICKUP_SECONDS)
        time.sleep(0.3)
    finally:
        for sender in senders:
            sender.stop()
    for sender in senders:
        assert sender.failures == []
        assert {status for status, _ in sender.answers} == {200}
        versions = sender.versions()
        switches = [i for i in range(1, len(versions)) if versions[i] != versions[i - 1]]
        assert len(switches) == 2, "each move switches once, never back and forth"
        assert versions[0] == 1 and versions[switches[0]] == 2 and versions[-1] == 1
    assert took < PICKUP_SECONDS
    with httpx.Client(base_url=live.url) as client:
        (model,) = client.get("/v1/models").json()["models"]
        assert model["serving"]["production"] == 1
        assert model["loaded_versions"] == [1]  # the version nobody is aliased to was let go
        assert client.get("/readyz").status_code == 200


def test_an_alias_first_used_by_a_request_is_then_kept_current(
    moving: tuple[LiveServer, Registry], record: dict[str, Any]
) -> None:
    live, registry = moving
    registry.set_alias(MODEL, "canary", 1)
    path = f"/v1/models/{MODEL}/aliases/canary/predict"
    with httpx.Client(base_url=live.url) as client:
        assert client.post(path, json=record).json()["model"]["version"] == 1
        sender = Sender(live.url, path, record)
        sender.start()
        try:
            registry.set_alias(MODEL, "canary", 2)
            sender.wait_for(2, PICKUP_SECONDS)
        finally:
            sender.stop()
        assert sender.failures == [] and {s for s, _ in sender.answers} == {200}
        documented = eventually(lambda: path in client.get("/openapi.json").json()["paths"])
        assert documented, "the OpenAPI document follows the registry"


def test_a_model_registered_while_serving_is_served_and_documented(
    moving: tuple[LiveServer, Registry], record: dict[str, Any], loan_package_path: Path
) -> None:
    live, registry = moving
    target = live.home / "fraud-score"
    shutil.copytree(loan_package_path, target)
    manifest = Manifest.read(target).model_copy(update={"name": "fraud-score"}).sealed()
    (target / MANIFEST_FILE).write_text(manifest.to_yaml(), encoding="utf-8")
    with httpx.Client(base_url=live.url) as client:
        missing = client.post("/v1/models/fraud-score/predict", json=record)
        assert missing.json()["code"] == "model_not_found"
        registry.register(target, alias="production")
        response = client.post("/v1/models/fraud-score/predict", json=record)
        assert response.status_code == 200
        assert response.json()["model"] == {"name": "fraud-score", "version": 1}

        def documented() -> bool:
            return (
                "fraud-score.v1.Record"
                in client.get("/openapi.json").json()["components"]["schemas"]
            )

        assert eventually(documented)
        assert client.get("/readyz").status_code == 200


def eventually(check: Callable[[], bool], timeout: float = PICKUP_SECONDS) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False
