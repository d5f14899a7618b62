"""A crash (SIGKILL: no close, no atexit) loses at most about the last second of records."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prediction_sinks import SinkTarget

from modelport.predlog import read_predictions

WRITER = Path(__file__).with_name("crashing_writer.py")
SRC = Path(__file__).parents[2] / "src"


def start_writer(where: str, kind: str, mode: str) -> subprocess.Popen[str]:
    path = os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path}
    process = subprocess.Popen(
        [sys.executable, str(WRITER), where, kind, mode],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    return process


def kill(process: subprocess.Popen[str]) -> datetime:
    killed = datetime.now(UTC)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(10)
    return killed


def kind_of(where: str) -> str:
    return "sql" if "://" in where else "parquet"


def test_records_appended_well_before_a_kill_are_all_in_the_sink(target: SinkTarget) -> None:
    where, _ = target
    process = start_writer(where, kind_of(where), "idle")
    try:
        assert process.stdout is not None
        count = int(process.stdout.readline().split()[1])  # "done N": its last append
        time.sleep(1.5)
    finally:
        kill(process)
    found = read_predictions(where)
    assert sorted(r.request_id for r in found) == [f"req-{n:06d}" for n in range(count)]


def test_a_kill_in_full_flow_loses_at_most_the_last_second(target: SinkTarget) -> None:
    where, _ = target
    process = start_writer(where, kind_of(where), "busy")
    try:
        time.sleep(2.5)  # appending all along
    finally:
        killed = kill(process)
    found = read_predictions(where)
    numbers = [int(r.request_id.split("-")[1]) for r in found]
    # Written in the order appended, so what is there is records 0..k-1, and record k, the
    # first lost, was appended after record k-1 (2 ms later): k-1 must be from the last second.
    assert numbers == list(range(len(numbers)))
    assert found, "nothing written in 2.5 s"
    print(f"lost the last {(killed - found[-1].at).total_seconds():.3f} s")
    assert found[-1].at >= killed - timedelta(seconds=1.0) - timedelta(milliseconds=50)
