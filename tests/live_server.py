"""A real modelport server on loopback (uvicorn in a subprocess) and records to send it.

A module of its own (not a ``conftest.py``), so that every suite imports it by one
unambiguous name: ``from live_server import start_server, registry_factory, ...`` (a
fixture imported into a test module or a conftest is a fixture there).

Every registry made here, and so every server, runs once on SQLite and once on PostgreSQL
(``registry_factory`` is parametrized over both): the tests that use them run twice.
"""

from __future__ import annotations

import math
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

import modelport as mp
from databases import BACKENDS, PostgresServer
from modelport.package import open_package
from modelport.registry import Registry
from modelport.settings import Settings

MODEL = "loan-approval"
MAX_BODY_BYTES = 64 * 1024
MAX_RECORDS = 50
SRC = Path(mp.__file__).resolve().parents[1]


@dataclass
class LiveServer:
    url: str
    home: Path
    process: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        return self.process.poll() is None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Deployment:
    """A registry ready to serve: its home (artifacts), its database, the open registry."""

    home: Path
    database_url: str | None  # None: SQLite under home
    registry: Registry


def start_server(
    deployment: Deployment, *, poll_seconds: float = 0.3, extra_env: dict[str, str] | None = None
) -> LiveServer:
    """uvicorn running ``modelport.server.app:factory`` with settings from the environment
    (plus ``extra_env``)."""
    home = deployment.home
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
        "MODELPORT_HOME": str(home),
        "MODELPORT_MAX_BODY_BYTES": str(MAX_BODY_BYTES),
        "MODELPORT_MAX_RECORDS": str(MAX_RECORDS),
        "MODELPORT_ALIAS_POLL_SECONDS": str(poll_seconds),
        **(extra_env or {}),
    }
    if deployment.database_url is None:
        env.pop("MODELPORT_DATABASE_URL", None)
    else:
        env["MODELPORT_DATABASE_URL"] = deployment.database_url
    log = home / "server.log"
    command = [sys.executable, "-m", "uvicorn", "modelport.server.app:factory", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = LiveServer(f"http://127.0.0.1:{port}", home, process, log)
    try:
        wait_ready(server)
    except BaseException:
        stop_server(server)
        raise
    return server


def wait_ready(server: LiveServer, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not server.alive():
            raise RuntimeError(f"the server exited:\n{server.log.read_text()}")
        try:
            if httpx.get(f"{server.url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"the server did not get ready:\n{server.log.read_text()}")


def stop_server(server: LiveServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


def refusal(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    fields = {"success", "code", "message", "errors"}
    if status >= 500:  # the server's trouble: the answer quotes the request id to report
        fields.add("request_id")
        assert body["request_id"] == response.headers["x-request-id"]
    assert set(body) == fields
    assert body["success"] is False
    assert body["code"] == code
    assert body["message"]
    for error in body["errors"]:
        assert set(error) == {"record", "field", "reason"}
    assert "x-request-id" in response.headers
    return dict(body)


def reference_records(package_path: Path, n: int) -> list[dict[str, Any]]:
    """The first ``n`` reference rows of a package as JSON records (missing: left out)."""
    package = open_package(package_path)
    rows = package.reference()[package.manifest.contract.names].head(n)
    records = []
    for row in rows.astype(object).to_dict("records"):
        missing = [k for k, v in row.items() if isinstance(v, float) and math.isnan(v)]
        records.append({str(k): v for k, v in row.items() if k not in missing})
    return records


@pytest.fixture(scope="session")
def second_package_path(build_loan_version: Callable[..., Path]) -> Path:
    """The loan pipeline refit with another random state: a second version of the model."""
    return build_loan_version(
        "refit, random_state=1", model__random_state=1, model__n_estimators=10
    )


@pytest.fixture(scope="session", params=BACKENDS)
def registry_factory(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    loan_package_path: Path,
    second_package_path: Path,
) -> Iterator[Callable[[], Deployment]]:
    """A fresh home and database (SQLite, or a new PostgreSQL database) whose registry holds
    the loan model: v1 (production) and v2 (no alias). Callers close the registry."""
    postgres: PostgresServer | None = None
    if request.param == "postgresql":
        postgres = request.getfixturevalue("postgres")
    made: list[str] = []

    def make() -> Deployment:
        home = tmp_path_factory.mktemp("home")
        database_url = None
        if postgres is not None:
            database_url = postgres.create()
            made.append(database_url)
        registry = Registry.from_settings(Settings(home=home, database_url=database_url))
        registry.register(loan_package_path, alias="production")
        registry.register(second_package_path)
        return Deployment(home, database_url, registry)

    yield make
    if postgres is not None:
        for url in made:
            postgres.drop(url)


@pytest.fixture(scope="session")
def server(registry_factory: Callable[[], Deployment]) -> Iterator[LiveServer]:
    """One server shared by the tests that do not move aliases."""
    deployment = registry_factory()
    deployment.registry.set_alias(MODEL, "staging", 2)
    deployment.registry.close()
    live = start_server(deployment)
    yield live
    stop_server(live)


@pytest.fixture(scope="session")
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        yield http


@pytest.fixture(scope="session")
def records(loan_package_path: Path) -> list[dict[str, Any]]:
    """Valid records (at least 20), from the package's own reference rows."""
    return reference_records(loan_package_path, 20)


@pytest.fixture(scope="session")
def contract(loan_package_path: Path) -> mp.Contract:
    return open_package(loan_package_path).manifest.contract


@pytest.fixture
def record(records: list[dict[str, Any]], contract: mp.Contract) -> dict[str, Any]:
    """One complete valid record (every field present), a fresh copy per test."""
    return dict(next(r for r in records if set(r) == set(contract.names)))
