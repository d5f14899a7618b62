"""The server suite's fixtures and helpers: those of :mod:`live_server`, under the names its
tests import (``from conftest import MODEL, start_server, ...``)."""

from __future__ import annotations

from live_server import (
    MAX_BODY_BYTES,
    MAX_RECORDS,
    MODEL,
    SRC,
    Deployment,
    LiveServer,
    client,
    contract,
    free_port,
    record,
    records,
    reference_records,
    refusal,
    registry_factory,
    second_package_path,
    server,
    start_server,
    stop_server,
    wait_ready,
)

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_RECORDS",
    "MODEL",
    "SRC",
    "Deployment",
    "LiveServer",
    "client",
    "contract",
    "free_port",
    "record",
    "records",
    "reference_records",
    "refusal",
    "registry_factory",
    "second_package_path",
    "server",
    "start_server",
    "stop_server",
    "wait_ready",
]
