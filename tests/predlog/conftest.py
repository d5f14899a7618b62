"""Sinks for prediction-log tests: a SQL table on SQLite and on PostgreSQL (a new database
per test, see ``tests/databases.py``), and a directory of Parquet files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prediction_sinks import SinkTarget

from databases import PostgresServer
from modelport.predlog import ParquetSink, SqlSink


@pytest.fixture
def sql_url(tmp_path: Path, database_url: str | None) -> str:
    """A database for the log: a SQLite file, or a new PostgreSQL database."""
    return database_url or f"sqlite:///{tmp_path / 'predictions.db'}"


@pytest.fixture(params=["sqlite", "postgresql", "parquet"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SinkTarget]:
    """``(where, make_sink)``: every sink kind, SQL on both databases; ``where`` is what
    ``read_predictions`` reads."""
    if request.param == "parquet":
        directory = tmp_path / "predictions"
        yield str(directory), lambda: ParquetSink(directory)
        return
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'predictions.db'}"
        yield url, lambda: SqlSink(url)
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    url = server.create()
    yield url, lambda: SqlSink(url)
    server.drop(url)
