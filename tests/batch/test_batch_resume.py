"""Resumable jobs: ``kill -9`` part-way, run again with the same job directory, and the
output holds every row exactly once; a job directory is never mixed with another job's."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest
from batch_inputs import read_output, read_rejects, write_csv, write_parquet

import modelport as mp
from modelport.batch import score_file
from modelport.batch.jobdir import JobDirectory
from modelport.errors import BatchError
from modelport.package import open_package

ROOT = Path(__file__).resolve().parents[2]


def _big_frame(valid_rows: pd.DataFrame) -> pd.DataFrame:
    """200,000 rows, a few of them invalid."""
    frame = pd.concat([valid_rows] * 8, ignore_index=True)
    frame["id"] = range(len(frame))
    frame = frame.astype({"age": object})
    for record in (7, 99_999, 150_001):
        frame.at[record, "age"] = -200.0  # ages are never negative: refused
    return frame


@pytest.fixture(scope="module")
def big_input(valid_rows: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The rows as CSV: read by the main process, chunks sent to the workers."""
    return write_csv(_big_frame(valid_rows), tmp_path_factory.mktemp("resume") / "in.csv")


@pytest.fixture(scope="module")
def big_parquet(valid_rows: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The rows as Parquet: partitions of row groups read by the workers themselves."""
    frame = _big_frame(valid_rows).astype({"age": float})
    path = tmp_path_factory.mktemp("resume") / "in.parquet"
    return write_parquet(frame, path, row_group_size=2_000)


def _command(package: Path, source: Path, output: Path, job: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "modelport.cli.main",
        "batch",
        "score",
        str(package),
        "--input",
        str(source),
        "--output",
        str(output),
        "--carry",
        "id,note",
        "--record-column",
        "record",
        "--chunk-rows",
        "2000",
        "--workers",
        "2",
        "--job",
        str(job),
        "--json",
        "--quiet",
    ]


def _environment() -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
    }


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_a_job_killed_with_sigkill_resumes_with_every_row_exactly_once(
    loan_package_path: Path, request: pytest.FixtureRequest, tmp_path: Path, kind: str
) -> None:
    big_input: Path = request.getfixturevalue("big_input" if kind == "csv" else "big_parquet")
    output, job = tmp_path / "scores.parquet", tmp_path / "job"
    command = _command(loan_package_path, big_input, output, job)
    running = subprocess.Popen(command, env=_environment(), stdout=subprocess.PIPE)
    workers: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 120
        while len(list((job / "parts").glob("*.json"))) < 5:
            assert running.poll() is None, "the job ended before it could be killed"
            assert time.monotonic() < deadline, "no chunk done in two minutes"
            workers = workers or psutil.Process(running.pid).children()
            time.sleep(0.01)
        os.kill(running.pid, signal.SIGKILL)
    finally:
        running.wait(timeout=30)
        assert running.stdout is not None
        running.stdout.close()
    assert running.returncode == -signal.SIGKILL
    assert not output.exists(), "the job finished before it was killed"
    # the workers of a killed job do not outlive it
    gone, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive

    resumed = subprocess.run(
        command, env=_environment(), capture_output=True, text=True, check=False, timeout=300
    )
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    assert summary["rows_resumed"] >= 5 * 2_000
    assert summary["rows_read"] == 200_000 and summary["rows_rejected"] == 3

    reference = tmp_path / "reference.parquet"
    score_file(
        open_package(loan_package_path),
        big_input,
        reference,
        carry=["id", "note"],
        record_column="record",
        workers=1,
    )
    scores = read_output(output)
    assert scores["record"].is_unique and len(scores) == 200_000 - 3
    pd.testing.assert_frame_equal(scores, read_output(reference))
    assert read_rejects(Path(f"{output}.rejects.jsonl")) == read_rejects(
        Path(f"{reference}.rejects.jsonl")
    )
    assert [r["record"] for r in read_rejects(Path(f"{output}.rejects.jsonl"))] == [
        7,
        99_999,
        150_001,
    ]
    # done: the parts are gone, the summary stays; nothing temporary is left beside the output
    assert not (job / "parts").exists() and (job / "complete.json").is_file()
    assert not list(tmp_path.glob(".*partial"))


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_sigterm_to_the_whole_group_is_reported_as_termination(
    loan_package_path: Path, request: pytest.FixtureRequest, tmp_path: Path, kind: str
) -> None:
    # As a service manager or a shell stops a job: the signal reaches the workers too.
    big_input: Path = request.getfixturevalue("big_input" if kind == "csv" else "big_parquet")
    output, job = tmp_path / "scores.parquet", tmp_path / "job"
    command = _command(loan_package_path, big_input, output, job)
    running = subprocess.Popen(
        command, env=_environment(), stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 120
        while len(list((job / "parts").glob("*.json"))) < 3:
            assert running.poll() is None, "the job ended before it could be stopped"
            assert time.monotonic() < deadline, "no chunk done in two minutes"
            time.sleep(0.01)
        workers = psutil.Process(running.pid).children()
        os.killpg(running.pid, signal.SIGTERM)
        _, stderr = running.communicate(timeout=60)
    finally:
        if running.poll() is None:
            os.killpg(running.pid, signal.SIGKILL)
            running.wait()
    assert running.returncode == 143, stderr
    assert "terminated" in stderr and "worker process died" not in stderr, stderr
    assert not output.exists()
    assert not psutil.wait_procs(workers, timeout=10)[1]
    # what was committed before the signal is kept for the next run
    assert list((job / "parts").glob("*.json"))


def test_a_finished_job_run_again_reports_it_without_scoring(
    loan_package_path: Path, big_input: Path, tmp_path: Path
) -> None:
    package = open_package(loan_package_path)
    output, job = tmp_path / "scores.parquet", tmp_path / "job"
    first = score_file(
        package, big_input, output, carry=["id"], ignore_extra=True, job=job, chunk_rows=50_000
    )
    written = output.stat().st_mtime_ns
    again = score_file(
        package, big_input, output, carry=["id"], ignore_extra=True, job=job, chunk_rows=50_000
    )
    assert again.rows_read == first.rows_read == 200_000
    assert again.finished_before and not first.finished_before
    assert output.stat().st_mtime_ns == written


def test_a_job_directory_is_not_resumed_by_another_job(
    loan_package_path: Path, big_input: Path, tmp_path: Path
) -> None:
    package = open_package(loan_package_path)
    job = tmp_path / "job"
    options = {"carry": ["id"], "ignore_extra": True, "job": job}
    score_file(package, big_input, tmp_path / "a.parquet", chunk_rows=100_000, **options)
    with pytest.raises(BatchError, match="belongs to another job .*chunk_rows, output, rejects"):
        score_file(package, big_input, tmp_path / "b.parquet", chunk_rows=50_000, **options)


def test_a_job_running_elsewhere_is_not_run_twice(
    loan_package: mp.Package, big_input: Path, tmp_path: Path
) -> None:
    job = tmp_path / "job"
    with (
        JobDirectory.open(job, {}),  # as another process would hold it
        pytest.raises(BatchError, match="being run by another process"),
    ):
        score_file(
            loan_package, big_input, tmp_path / "scores.parquet", carry=["id", "note"], job=job
        )


@pytest.fixture(scope="module")
def loan_package(loan_package_path: Path) -> mp.Package:
    return open_package(loan_package_path)
