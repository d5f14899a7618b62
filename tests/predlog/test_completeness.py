"""Every appended record is in the sink after close(), exactly once and unchanged; and
records reach the sink within about a second without any close."""

from __future__ import annotations

import threading
import time

import numpy as np
from prediction_sinks import SinkTarget
from predlog_records import by_request, record

from modelport.predlog import PredictionLog, PredictionRecord, read_predictions

THREADS = 8
PER_THREAD = 1_250


def test_every_record_appended_from_several_threads_is_in_the_sink_after_close(
    target: SinkTarget,
) -> None:
    where, make_sink = target
    log = PredictionLog(make_sink(), batch_rows=500)
    start = threading.Barrier(THREADS)

    def serve(worker: int) -> None:
        start.wait()
        for i in range(PER_THREAD):
            number = worker * PER_THREAD + i
            log.append([record(number)])  # one request, one record: as the server does

    threads = [threading.Thread(target=serve, args=(w,)) for w in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log.close()

    expected = [record(n) for n in range(THREADS * PER_THREAD)]
    found = read_predictions(where)
    assert len(found) == len(expected)
    assert by_request(found) == by_request(expected)  # every field equal, none twice
    assert [r.at for r in found] == sorted(r.at for r in found)
    assert log.written == len(expected)
    assert log.dropped == log.refused == log.buffered == 0


def test_a_request_of_several_records_and_values_from_numpy_read_back_as_plain_values(
    target: SinkTarget,
) -> None:
    where, make_sink = target
    rows = [
        record(
            n,
            request_id="batch-request",
            inputs={"customer_id": n, "age": np.int64(40 + n), "income": np.float64(1.5)},
            outputs={"probability": np.float32(0.25), "scores": np.array([0.25, 0.75])},
            entity=None,
        )
        for n in range(3)
    ]
    with PredictionLog(make_sink()) as log:
        log.append(rows)
    found = read_predictions(where, request_id="batch-request")
    assert [r.inputs for r in found] == [
        {"customer_id": n, "age": 40 + n, "income": 1.5} for n in range(3)
    ]
    assert [r.outputs for r in found] == [{"probability": 0.25, "scores": [0.25, 0.75]}] * 3
    assert all(r.entity is None for r in found)
    assert read_predictions(where, model="another-model") == []


def test_records_reach_the_sink_within_about_a_second_without_close(target: SinkTarget) -> None:
    where, make_sink = target
    log = PredictionLog(make_sink(), flush_seconds=0.5, batch_rows=10_000)
    try:
        log.append([record(n) for n in range(20)])  # far fewer than a batch: time decides
        appended = time.monotonic()
        found: list[PredictionRecord] = []
        while time.monotonic() - appended < 2:  # the promise: about a second (flush + write)
            found = read_predictions(where)
            if len(found) == 20:
                break
            time.sleep(0.05)
        assert len(found) == 20, f"{len(found)} of 20 records written after 2 s"
        assert log.buffered == 0
    finally:
        log.close()


def test_a_full_batch_is_written_before_the_interval_is_up(target: SinkTarget) -> None:
    where, make_sink = target
    log = PredictionLog(make_sink(), flush_seconds=30, batch_rows=100)
    try:
        log.append([record(n) for n in range(100)])
        assert log.flush(timeout=10)  # written, although the interval is 30 s
        assert len(read_predictions(where)) == 100
    finally:
        log.close()


def test_close_is_idempotent_and_appends_after_it_are_counted_as_dropped(
    target: SinkTarget,
) -> None:
    where, make_sink = target
    log = PredictionLog(make_sink())
    log.append([record(1)])
    log.close()
    log.close()
    log.append([record(2), record(3)])  # a request still answering while the server stops
    assert log.dropped == 2
    assert [r.request_id for r in read_predictions(where)] == ["req-000001"]


def test_a_log_never_appended_to_closes_without_writing(target: SinkTarget) -> None:
    where, make_sink = target
    PredictionLog(make_sink()).close()
    assert read_predictions(where) == []
