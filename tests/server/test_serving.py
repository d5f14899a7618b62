"""The serving layer without HTTP: resolution, the pool, the poller, readiness, payloads."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from live_server import MODEL, Deployment
from modelport.errors import (
    AliasNotFound,
    IntegrityError,
    MalformedRequest,
    ModelNotFound,
    RegistryError,
    VersionNotFound,
)
from modelport.registry import Registry
from modelport.server import create_app
from modelport.serving import ServingService, parse_records, version_number
from modelport.settings import Settings


@pytest.fixture
def fresh(registry_factory: Callable[[], Deployment]) -> Iterator[tuple[Path, Registry]]:
    deployment = registry_factory()
    yield deployment.home, deployment.registry
    deployment.registry.close()


@pytest.fixture
def service(fresh: tuple[Path, Registry]) -> ServingService:
    service = ServingService(fresh[1], poll_seconds=60)
    service.sync()
    return service


def tamper(registry: Registry, version: int) -> None:
    """Change one byte of a stored package, as a disk fault or an intruder would."""
    model = registry.get_version(MODEL, version).path / "model.onnx"
    for path in (model.parent, model):
        os.chmod(path, os.stat(path).st_mode | stat.S_IWUSR)
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))


def test_the_first_poll_loads_and_warms_production(service: ServingService) -> None:
    assert service.wait_synced(0)
    assert service.serving() == {(MODEL, "production"): 1}
    model = service.cached(MODEL, None, None)
    assert model is not None and model.version == 1
    assert model.base_seconds > 0 and model.row_seconds >= 0
    assert service.readiness().ready


def test_resolution_errors_in_order_of_precedence(service: ServingService) -> None:
    with pytest.raises(ModelNotFound):
        service.find("nope", None, None)
    with pytest.raises(ModelNotFound):
        service.find("Not A Name", "production", None)
    with pytest.raises(ModelNotFound):
        service.find("nope", None, "x")
    with pytest.raises(AliasNotFound):
        service.find(MODEL, "canary", None)
    with pytest.raises(AliasNotFound):
        service.find(MODEL, "Bad Alias", None)
    with pytest.raises(VersionNotFound):
        service.find(MODEL, None, 3)
    with pytest.raises(VersionNotFound):
        service.find(MODEL, None, "1.5")


def test_version_numbers_from_urls() -> None:
    assert version_number("1") == 1 and version_number("2147483647") == 2147483647
    for text in ("0", "-1", "01", "1.0", "", " 1", "2147483648", "١", "1e3"):
        assert version_number(text) is None


def test_a_version_loads_once_under_concurrent_requests(
    service: ServingService, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[int] = []
    original = service.registry.open

    def counting(ref: Any) -> Any:
        opened.append(ref.version)
        return original(ref)

    monkeypatch.setattr(service.registry, "open", counting)
    threads = [threading.Thread(target=service.find, args=(MODEL, None, 2)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert opened == [2]


def test_a_tampered_version_is_refused_and_remembered(
    fresh: tuple[Path, Registry], service: ServingService, monkeypatch: pytest.MonkeyPatch
) -> None:
    tamper(fresh[1], 2)
    with pytest.raises(IntegrityError):
        service.find(MODEL, None, 2)
    opened: list[Any] = []
    monkeypatch.setattr(service.registry, "open", opened.append)
    with pytest.raises(IntegrityError):
        service.find(MODEL, None, 2)
    assert opened == [], "a failed load is not retried on every request"
    readiness = service.readiness()
    assert readiness.ready and "version 2" in readiness.failed[0]


def test_an_alias_moved_to_a_broken_version_keeps_serving_the_old_one(
    fresh: tuple[Path, Registry], service: ServingService
) -> None:
    tamper(fresh[1], 2)
    fresh[1].set_alias(MODEL, "production", 2)
    service.sync()
    model = service.cached(MODEL, None, None)
    assert model is not None and model.version == 1
    assert service.readiness().ready


def test_registry_down_means_not_ready_but_still_serving(
    fresh: tuple[Path, Registry], service: ServingService, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down() -> dict[tuple[str, str], int]:
        raise RegistryError("the database is gone")

    monkeypatch.setattr(fresh[1], "alias_state", down)
    service.sync()  # logs, keeps what it has
    readiness = service.readiness()
    assert not readiness.ready
    assert "registry" in readiness.reasons[0]
    assert service.cached(MODEL, None, None) is not None


def test_not_ready_before_the_first_poll(fresh: tuple[Path, Registry]) -> None:
    readiness = ServingService(fresh[1]).readiness()
    assert not readiness.ready and "loading" in readiness.reasons[0]


def asgi(app: Any, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """One request straight into the ASGI app (no lifespan: the test drives the poller)."""

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            return await client.request(method, path, **kwargs)

    return anyio.run(send)


def test_http_mapping_of_load_failures(fresh: tuple[Path, Registry]) -> None:
    home, registry = fresh
    tamper(registry, 2)
    app = create_app(Settings(home=home, alias_poll_seconds=60), registry)
    app.dataplane.service.sync()
    response = asgi(app, "POST", f"/v1/models/{MODEL}/versions/2/predict", json={})
    assert response.status_code == 503
    assert response.json()["code"] == "integrity_error"
    assert str(home) not in response.text, "no server paths in answers"
    ready = asgi(app, "GET", "/readyz")
    assert ready.status_code == 200
    assert ready.json()["failed"] == [f"{MODEL} version 2 cannot be loaded (integrity_error)"]


def test_http_readiness_503_with_reasons(fresh: tuple[Path, Registry]) -> None:
    home, registry = fresh
    app = create_app(Settings(home=home, alias_poll_seconds=60), registry)
    response = asgi(app, "GET", "/readyz")  # nothing polled or loaded yet
    assert response.status_code == 503
    body = response.json()
    assert body["success"] is False and body["code"] == "not_ready" and body["reasons"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"", "empty"),
        (b"[]", "empty"),
        (b"5", "a number"),
        (b'"x"', "a string"),
        (b"[1]", "not objects"),
        (b"[{}, {}, {}]", "too many"),
        (b"{", "not valid JSON"),
    ],
)
def test_payload_refusals(body: bytes, words: str) -> None:
    with pytest.raises(MalformedRequest, match=words):
        parse_records(body, max_records=2)


def test_payload_shapes() -> None:
    one = parse_records(b'{"a": 1}', max_records=2)
    assert one.single and one.items == [{"a": 1}]
    many = parse_records(b'[{"a": 1}]', max_records=2)
    assert not many.single and many.items == [{"a": 1}]
