"""``modelport serve --workers 2`` as a real process tree: every worker loads and answers,
from a registry on SQLite or on PostgreSQL."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import typer
from typer.testing import CliRunner

import modelport as mp
from modelport.cli import serve as serve_command
from modelport.registry import Registry
from modelport.settings import Settings

SRC = Path(mp.__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serving(
    tmp_path: Path,
    database_url: str | None,
    package: Path,
    arguments: str,
    env: dict[str, str] | None = None,
) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    """``modelport serve`` (``serve(host=..., port=..., <arguments>)``) as a process over a
    registry with ``package`` in production: its URL, process and log; stopped with
    Ctrl-C (SIGINT) at the end, killed if it does not stop."""
    settings = Settings(home=tmp_path, database_url=database_url)
    with Registry.from_settings(settings) as registry:
        registry.register(package, alias="production")
    port = free_port()
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
        "MODELPORT_HOME": str(tmp_path),
        **(env or {}),
    }
    environment.pop("MODELPORT_DATABASE_URL", None)
    if database_url is not None:
        environment["MODELPORT_DATABASE_URL"] = database_url
    code = f"from modelport.cli.serve import serve; serve(host='127.0.0.1', port={port}{arguments})"
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", code], env=environment, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        yield f"http://127.0.0.1:{port}", process, log
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_serve_options() -> None:
    app = typer.Typer()
    app.command("serve")(serve_command.serve)
    app.command("other")(lambda: None)
    result = CliRunner().invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--workers", "--reload-seconds", "--insecure"):
        assert option in result.output


def test_serve_with_two_workers(
    tmp_path: Path, database_url: str | None, loan_package_path: Path
) -> None:
    arguments = ", workers=2, reload_seconds=0.5"
    with serving(tmp_path, database_url, loan_package_path, arguments) as (url, process, log):
        deadline = time.monotonic() + 40
        ready = 0
        while ready < 10 and time.monotonic() < deadline:  # readiness from both workers
            assert process.poll() is None, log.read_text()
            with contextlib.suppress(httpx.TransportError):
                ready = ready + 1 if httpx.get(f"{url}/readyz").status_code == 200 else 0
            time.sleep(0.05)
        assert ready >= 10, log.read_text()
        record: dict[str, object] = {"loan_amount": 12000, "loan_term_months": 36}
        record |= {"open_accounts": 4}
        record |= {"delinquencies": 0, "home_ownership": "rent", "region": "north"}
        record |= {"has_cosigner": False}

        def predict(_: int) -> int:
            with httpx.Client(base_url=url) as client:
                response = client.post("/v1/models/loan-approval/predict", json=record)
                assert response.json()["model"] == {"name": "loan-approval", "version": 1}
                return response.status_code

        with ThreadPoolExecutor(8) as pool:
            assert set(pool.map(predict, range(64))) == {200}
        assert log.read_text().count("Started server process") == 2
        # Metrics are shared between the workers: any scrape counts every request (a
        # worker folds its numbers in five times a second).
        counted = (
            'modelport_requests_total{endpoint="predict",model="loan-approval",status="200",'
            'version="1"} 64.0'
        )
        scrape = ""
        deadline = time.monotonic() + 5
        while counted not in scrape and time.monotonic() < deadline:
            time.sleep(0.2)
            scrape = httpx.get(f"{url}/metrics").text
        assert counted in scrape, scrape
        assert scrape.count('modelport_model_loaded{model="loan-approval",version="1"} 1.0') == 1
        pids = {int(json.loads(line)["pid"]) for line in _access_lines(log)}
        assert len(pids) == 2, "both workers answered and logged"
    assert process.returncode == 0, log.read_text()


def _access_lines(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if '"modelport.access"' in line]


def _serve_app() -> typer.Typer:
    app = typer.Typer()
    app.command("serve")(serve_command.serve)
    app.command("other")(lambda: None)
    return app


def test_serving_beyond_loopback_without_authentication_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELPORT_HOME", str(tmp_path))
    monkeypatch.setenv("MODELPORT_AUTH", "none")
    for host in ("0.0.0.0", "::", "192.0.2.10", "example.com"):
        result = CliRunner().invoke(_serve_app(), ["serve", "--host", host])
        assert result.exit_code == 2, result.output
        assert "without authentication" in result.output and "--insecure" in result.output
    monkeypatch.setenv("MODELPORT_AUTH", "jwt")  # on, but with no key: refused before serving
    result = CliRunner().invoke(_serve_app(), ["serve", "--host", "0.0.0.0"])
    assert result.exit_code == 1 and "MODELPORT_JWT_SECRET" in result.output


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("10.0.0.1", False),
        ("example.com", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert serve_command.is_loopback(host) is loopback


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("trusted", ["", "127.0.0.1"])
def test_a_client_cannot_claim_another_address_unless_a_proxy_is_trusted(
    tmp_path: Path, database_url: str | None, loan_package_path: Path, trusted: str
) -> None:
    # Authentication off, so the rate limit is per client address.
    env = {
        "MODELPORT_RATE_LIMIT_PER_SECOND": "0.2",
        "MODELPORT_RATE_LIMIT_BURST": "2",
        "MODELPORT_FORWARDED_ALLOW_IPS": trusted,
    }
    with serving(tmp_path, database_url, loan_package_path, "", env) as (url, process, log):
        deadline = time.monotonic() + 40
        while True:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            time.sleep(0.05)
        statuses = [
            httpx.get(f"{url}/v1/models", headers={"x-forwarded-for": f"203.0.113.{n}"}).status_code
            for n in range(6)
        ]
    if trusted:  # behind a trusted proxy, each forwarded address is a client of its own
        assert statuses == [200] * 6
    else:  # the header is not believed: one client, over its burst
        assert statuses[:2] == [200, 200] and set(statuses[2:]) == {429}
