"""Several worker processes: the same output as one process, in input order; failures in a
worker fail the run and write nothing."""

from __future__ import annotations

import os
import signal
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pyarrow as pa
import pytest
from batch_inputs import CHUNK_ROWS, ROWS, Injected, read_output, read_rejects

import modelport as mp
from modelport.batch import score_file
from modelport.batch.chunks import Reject
from modelport.batch.score import ScoredChunk
from modelport.batch.spool import Spool
from modelport.batch.writers import dumps
from modelport.errors import BatchError, FieldError
from modelport.package import open_package
from modelport.runtime import Scorer


@pytest.fixture(scope="session")
def loan_package(loan_package_path: Path) -> mp.Package:
    return open_package(loan_package_path)


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_two_workers_write_what_one_process_writes(
    loan_package: mp.Package, injected: Injected, tmp_path: Path, suffix: str
) -> None:
    outputs = {}
    for workers in (1, 2):
        output = tmp_path / f"scores-{workers}{suffix}"
        summary = score_file(
            loan_package,
            injected.path,
            output,
            carry=["id", "note"],
            chunk_rows=CHUNK_ROWS,
            record_column="record",
            workers=workers,
        )
        assert summary.workers == workers
        assert summary.rows_read == ROWS
        assert summary.rows_rejected == len(injected.bad)
        outputs[workers] = (read_output(output), read_rejects(summary.rejects))
    one, two = outputs[1], outputs[2]
    pd.testing.assert_frame_equal(one[0], two[0])
    assert one[1] == two[1]
    # input order, every accepted record once
    assert two[0]["record"].tolist() == injected.good.tolist()


def test_an_input_of_one_chunk_is_scored_in_process(
    loan_package: mp.Package, injected: Injected, tmp_path: Path
) -> None:
    summary = score_file(
        loan_package,
        injected.path,
        tmp_path / "scores.parquet",
        carry=["id", "note"],
        chunk_rows=ROWS,
        workers=2,
    )
    assert summary.workers == 1 and summary.rows_read == ROWS


def test_workers_need_the_package_not_a_loaded_scorer(
    scorer: Scorer, injected: Injected, tmp_path: Path
) -> None:
    with pytest.raises(BatchError, match="need the package"):
        score_file(scorer, injected.path, tmp_path / "scores.parquet", workers=2)
    with pytest.raises(BatchError, match="need the package"):
        score_file(scorer, injected.path, tmp_path / "scores.parquet", job=tmp_path / "job")


def test_a_worker_that_dies_fails_the_run_and_writes_nothing(
    loan_package: mp.Package, injected: Injected, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spools = tmp_path / "tmp"
    spools.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spools))
    output = tmp_path / "scores.parquet"
    output.write_bytes(b"yesterday's scores")

    killed: list[int] = []

    def kill_a_worker(done: int, total: int | None) -> None:
        if done > 0 and not killed:  # once: chunks done before it still come in after
            killed.append(_a_worker())
            os.kill(killed[0], signal.SIGKILL)

    with pytest.raises(BatchError, match="worker process died"):
        score_file(
            loan_package,
            injected.path,
            output,
            carry=["id", "note"],
            chunk_rows=1_000,
            workers=2,
            progress=kill_a_worker,
        )
    assert output.read_bytes() == b"yesterday's scores"
    assert not Path(f"{output}.rejects.jsonl").exists()
    assert not list(tmp_path.glob(".*partial"))
    # the chunks in flight, spooled by the workers, went with the job
    assert not list(spools.iterdir())


def test_a_spool_takes_only_its_own_files(tmp_path: Path) -> None:
    spool, other = Spool(), Spool()
    try:
        rejects = [
            Reject(11, [FieldError(11, "age", "above the maximum 120")], {"age": 200.0}),
            Reject(12, [FieldError(12, None, "not an object")], [np.int64(3), np.nan], line=13),
        ]
        table = pa.table({"id": [10, 13], "label": [1, 0]}, metadata={"origin": "test"})
        chunk = ScoredChunk(table, rejects, 4, start=10)
        spooled = Spool.put(spool.directory, chunk)
        with pytest.raises(ValueError, match="not a file of this job's spool"):
            other.take(spooled)
        taken = spool.take(spooled)
        assert taken.table.equals(table, check_metadata=True)
        assert (taken.n_rows, taken.start) == (4, 10)
        # the rejects file gets the same lines from the rejects that came through the spool
        assert [dumps(r.to_dict()) for r in taken.rejects] == [dumps(r.to_dict()) for r in rejects]
        assert [len(r.errors) for r in taken.rejects] == [1, 1]
        assert not Path(spooled.path).exists()
        Spool.put(spool.directory, chunk)  # one never taken: a job that failed
    finally:
        spool.close()
        other.close()
    assert not spool.directory.exists() and not other.directory.exists()


def _a_worker() -> int:
    """The process id of a scoring worker (not the resource tracker, not a dead process)."""
    for child in psutil.Process(os.getpid()).children():
        try:
            if child.status() != psutil.STATUS_ZOMBIE and "spawn_main" in " ".join(child.cmdline()):
                return child.pid
        except psutil.Error:
            continue
    raise AssertionError("no scoring worker is running")
