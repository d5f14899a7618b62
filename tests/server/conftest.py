"""The server suite's fixtures: those of :mod:`live_server` (a server on loopback, its
registry on each backend, records to send). Its tests import the helpers themselves
(``MODEL``, ``start_server``, ``refusal``, ...) from :mod:`live_server`, never from here."""

from __future__ import annotations

from live_server import (
    client,
    contract,
    record,
    records,
    registry_factory,
    second_package_path,
    server,
)

__all__ = [
    "client",
    "contract",
    "record",
    "records",
    "registry_factory",
    "second_package_path",
    "server",
]
