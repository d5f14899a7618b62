"""A process that appends prediction records until it is killed (``test_crash.py``).

    python crashing_writer.py WHERE KIND MODE

KIND is ``sql`` or ``parquet``. MODE ``idle`` appends for a second, prints ``done N`` and
waits to be killed; ``busy`` appends (a record every 2 ms) until it is killed. Each record's
``at`` is the wall-clock time it was appended.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from predlog_records import record  # noqa: E402

from modelport.predlog import ParquetSink, PredictionLog, PredictionRecord, Sink, SqlSink  # noqa: E402


def main() -> None:
    where, kind, mode = sys.argv[1:]
    sink: Sink = SqlSink(where) if kind == "sql" else ParquetSink(where)
    log = PredictionLog(sink)  # the defaults: a flush every 0.5 s
    print("ready", flush=True)
    began = time.monotonic()
    number = 0
    while mode == "busy" or time.monotonic() - began < 1.0:
        log.append([record(number, at=PredictionRecord.now())])
        number += 1
        time.sleep(0.002)
    print(f"done {number}", flush=True)
    time.sleep(3600)


if __name__ == "__main__":
    main()
