"""A sink that fails never reaches the caller: bounded buffering, counted drops, recovery."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from predlog_records import record
from sqlalchemy import create_engine, text

from databases import PREFIX, PostgresServer
from modelport.predlog import ParquetSink, PredictionLog, Sink, SqlSink, read_predictions

# (where, make the sink, bring the sink back)
DownSink = tuple[str, Callable[[], Sink], Callable[[], None]]


@pytest.fixture(params=["postgresql", "parquet"])
def down(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DownSink]:
    """A sink that fails until ``bring_back()``: a PostgreSQL database that does not exist
    yet, or a directory that cannot be made (a file stands where its parent should be)."""
    if request.param == "parquet":
        blocker = tmp_path / "mount"
        blocker.write_text("not a directory")
        directory = blocker / "predictions"
        yield str(directory), lambda: ParquetSink(directory), blocker.unlink
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    name = f"{PREFIX}{os.getpid()}_{secrets.token_hex(6)}"
    url = server.url.set(database=name).render_as_string(hide_password=False)
    admin = create_engine(server.url, isolation_level="AUTOCOMMIT")

    def bring_back() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE template0'))

    try:
        yield url, lambda: SqlSink(url), bring_back
    finally:
        admin.dispose()
        server.drop(url)


def wait_for(condition: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_failing_sink_buffers_up_to_the_bound_then_counts_drops_then_recovers(
    down: DownSink,
) -> None:
    where, make_sink, bring_back = down
    log = PredictionLog(
        make_sink(),
        flush_seconds=0.05,
        batch_rows=50,
        max_buffered_rows=100,
        retry_max_seconds=0.2,
    )
    try:
        log.append([record(n) for n in range(100)])
        wait_for(lambda: log.failing)  # the writer took a batch of 50 and failed to write it
        for n in range(100, 300):
            log.append([record(n)])  # never raises, never waits
        # kept: the failed batch (50) + a full buffer (100); the rest counted
        assert log.buffered == 150
        assert log.dropped == 150
        assert log.written == 0
        assert not log.flush(timeout=0.3)  # still down

        bring_back()
        wait_for(lambda: log.buffered == 0)
        assert not log.failing
        assert log.flush(timeout=5)
    finally:
        log.close()
    found = read_predictions(where)
    assert [r.request_id for r in found] == [f"req-{n:06d}" for n in range(150)]
    assert log.written == 150 and log.dropped == 150


def test_close_with_the_sink_down_gives_up_in_bounded_time(down: DownSink) -> None:
    _, make_sink, _ = down
    log = PredictionLog(make_sink(), flush_seconds=0.05, close_timeout=0.5)
    log.append([record(n) for n in range(10)])
    began = time.monotonic()
    log.close()
    assert time.monotonic() - began < 10  # 0.5 s of retries, plus one last attempt
    assert log.dropped == 10 and log.written == 0 and log.buffered == 0


def test_rows_the_database_refuses_are_left_out_and_the_rest_written(
    postgres: PostgresServer,
) -> None:
    url = postgres.create()
    try:
        too_big = record(3, version=2**40)  # beyond PostgreSQL's integer: a DataError
        with PredictionLog(SqlSink(url)) as log:
            log.append([record(n) for n in range(3)] + [too_big] + [record(4)])
        found = read_predictions(url)
        assert [r.request_id for r in found] == [f"req-{n:06d}" for n in (0, 1, 2, 4)]
        assert log.refused == 1 and log.written == 4 and log.dropped == 0
    finally:
        postgres.drop(url)


def test_text_postgresql_cannot_hold_does_not_block_the_log(postgres: PostgresServer) -> None:
    url = postgres.create()
    try:
        odd = record(1, request_id="nul\x00id", inputs={"name": "a\x00b"}, decision="x\x00")
        with PredictionLog(SqlSink(url)) as log:
            log.append([record(0), odd, record(2)])
        found = read_predictions(url)
        assert len(found) == 3 and log.refused == 0
        assert found[1].request_id == "nul\ufffdid" and found[1].inputs == {"name": "a\ufffdb"}
    finally:
        postgres.drop(url)
