"""Fixtures for schedule tests: schedule files, a registry with the loan model in
production, the CLI pointed at it, and a real webhook receiver on loopback."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from schedule_helpers import Receiver, Run, WriteSchedule
from typer.testing import CliRunner, Result

from modelport.cli.main import app
from modelport.registry import Registry
from modelport.settings import Settings


@pytest.fixture
def write_schedule(tmp_path: Path) -> WriteSchedule:
    """``write(jobs, **top)``: a schedule file in ``tmp_path`` (relative paths start there)."""

    def write(jobs: dict[str, dict[str, Any]], **top: Any) -> Path:
        path = tmp_path / "schedules.yaml"
        path.write_text(yaml.safe_dump({**top, "jobs": jobs}, sort_keys=False))
        return path

    return write


@pytest.fixture
def production(registry_settings: Settings, loan_package_path: Path) -> Settings:
    """The test's registry (SQLite or PostgreSQL) with loan-approval:1 in production."""
    with Registry.from_settings(registry_settings) as registry:
        registry.register(loan_package_path, alias="production")
    return registry_settings


@pytest.fixture
def cli(production: Settings, monkeypatch: pytest.MonkeyPatch) -> Run:
    """``cli(*args)``: the modelport command, environment pointed at ``production``."""
    for name in ("MODELPORT_DATABASE_URL", "MODELPORT_BATCH_CHUNK_ROWS", "MODELPORT_SOURCES_FILE"):
        monkeypatch.delenv(name, raising=False)
    env = {"MODELPORT_HOME": str(production.home), "COLUMNS": "250"}
    if production.database_url:
        env["MODELPORT_DATABASE_URL"] = production.database_url

    def invoke(*args: str) -> Result:
        return CliRunner(env=env).invoke(app, list(args))

    return invoke


@pytest.fixture
def webhook() -> Iterator[Receiver]:
    """A real HTTP server on 127.0.0.1 collecting the JSON POSTed to it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    receiver = Receiver(f"http://127.0.0.1:{server.server_address[1]}/hooks/TOKEN-123")
    server.receiver = receiver  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()
    thread.join(5)


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        receiver: Receiver = self.server.receiver  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        receiver.reports.append(orjson.loads(body))
        receiver.headers.append(dict(self.headers))
        self.send_response(receiver.status)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return None
