"""Several logs (server workers, replicas) write into one table side by side."""

from __future__ import annotations

import threading

from predlog_records import record

from modelport.predlog import PredictionLog, SqlSink, read_predictions

LOGS = 3
PER_LOG = 2_000


def test_logs_sharing_a_table_create_it_once_and_lose_nothing(sql_url: str) -> None:
    logs = [PredictionLog(SqlSink(sql_url), batch_rows=200) for _ in range(LOGS)]
    start = threading.Barrier(LOGS)

    def serve(index: int, log: PredictionLog) -> None:
        start.wait()
        log.append([record(index * PER_LOG)])
        log.flush(timeout=30)  # first writes of every log at once: the table is new
        for n in range(index * PER_LOG + 1, (index + 1) * PER_LOG):
            log.append([record(n)])
        log.close()

    threads = [threading.Thread(target=serve, args=item) for item in enumerate(logs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    found = read_predictions(sql_url)
    assert sorted(r.request_id for r in found) == [f"req-{n:06d}" for n in range(LOGS * PER_LOG)]
    assert all(log.written == PER_LOG and log.dropped == 0 for log in logs)
