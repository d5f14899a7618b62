"""The Dask engine on a real LocalCluster of worker processes: the same output as the local
run, the package shipped once to each worker and verified there, failures that reach the
caller and write nothing."""

from __future__ import annotations

import io
import shutil
import socket
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from batch_inputs import (
    CHUNK_ROWS,
    ROWS,
    Injected,
    read_output,
    read_rejects,
    write_csv,
    write_parquet,
)
from distributed import Client, LocalCluster
from typer.testing import CliRunner

import modelport as mp
from modelport.batch import ArrowChunk, score_file
from modelport.batch import distributed as engine_module
from modelport.batch.distributed import DaskEngine
from modelport.batch.parallel import ChunkScoring
from modelport.batch.partitions import plan_partitions
from modelport.cli.main import app
from modelport.errors import BatchError, IntegrityError
from modelport.package import open_package


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """An existing cluster (two worker processes) the engine connects to by address."""
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        yield cluster.scheduler_address


@pytest.fixture(scope="module")
def loan_package(loan_package_path: Path) -> mp.Package:
    return open_package(loan_package_path)


def _run(package: mp.Package, source: Path, output: Path, **options: Any) -> tuple[Any, ...]:
    options = {"carry": ["id", "note"], "chunk_rows": CHUNK_ROWS, **options}
    summary = score_file(package, source, output, record_column="record", **options)
    counts = (summary.rows_read, summary.rows_scored, summary.rows_rejected)
    return read_output(output), read_rejects(summary.rejects), counts, summary


def test_a_dask_run_writes_what_the_local_run_writes(
    loan_package: mp.Package, injected: Injected, tmp_path: Path, scheduler: str
) -> None:
    suffix = injected.path.suffix
    local = _run(loan_package, injected.path, tmp_path / f"local{suffix}", workers=1)
    dask = _run(
        loan_package, injected.path, tmp_path / f"dask{suffix}", engine="dask", scheduler=scheduler
    )
    pd.testing.assert_frame_equal(local[0], dask[0])
    assert local[1] == dask[1]
    assert local[2] == dask[2] == (ROWS, ROWS - len(injected.bad), len(injected.bad))
    assert dask[3].workers == 2
    assert dask[0]["record"].tolist() == injected.good.tolist()
    assert [r["record"] for r in dask[1]] == sorted(injected.bad)


def test_without_a_scheduler_the_engine_starts_its_own_cluster(
    loan_package: mp.Package, valid_rows: pd.DataFrame, tmp_path: Path
) -> None:
    source = write_parquet(valid_rows.iloc[:3_000], tmp_path / "small.parquet", row_group_size=500)
    local = _run(loan_package, source, tmp_path / "local.parquet", workers=1, chunk_rows=1_000)
    dask = _run(
        loan_package, source, tmp_path / "dask.parquet", engine="dask", workers=2, chunk_rows=1_000
    )
    pd.testing.assert_frame_equal(local[0], dask[0])
    assert local[2] == dask[2] == (3_000, 3_000, 0)
    assert dask[3].workers == 2


def test_the_package_is_opened_once_per_worker_in_its_own_directory(
    loan_package: mp.Package, valid_rows: pd.DataFrame, scheduler: str
) -> None:
    table = pa.Table.from_pandas(valid_rows.iloc[:2_000], preserve_index=False)
    chunks = [ArrowChunk(table.slice(i, 200), start=i) for i in range(0, 2_000, 200)]
    chunks.append(ArrowChunk(table.slice(0, 200), start=2_000))  # same rows: not deduplicated
    scoring = ChunkScoring(loan_package.path, loan_package.digest, carry=("id", "note"))

    def state(name: str, dask_worker: Any) -> tuple[int, str, str]:
        plugin = dask_worker.plugins[name]
        return plugin.opened, str(plugin.directory), dask_worker.local_directory

    with DaskEngine.connect(scoring, scheduler=scheduler, workers=None) as engine:
        results = list(engine.scored(iter(chunks), columns=None))
        seen = engine.client.run(state, engine.plugin)
        name = engine.plugin
    assert [r.start for r in results] == [c.start for c in chunks]
    assert all(r.n_rows == 200 and r.table.num_rows == 200 for r in results)
    assert results[-1].table.equals(results[0].table)
    assert len(seen) == 2
    for opened, directory, local in seen.values():
        assert opened == 1
        assert Path(directory).parent == Path(local)
    copies = [directory for _, directory, _ in seen.values()]
    with Client(scheduler, set_as_default=False) as client:  # the job's copies are gone
        gone = client.run(lambda dask_worker: name not in dask_worker.plugins)
        assert all(gone.values())
        left = client.run(lambda: [c for c in copies if Path(c).exists()])
        assert not any(left.values())


def test_parquet_partitions_are_read_by_the_workers(
    loan_package: mp.Package, valid_rows: pd.DataFrame, tmp_path: Path, scheduler: str
) -> None:
    source = write_parquet(valid_rows.iloc[:5_000], tmp_path / "in.parquet", row_group_size=700)
    scoring = ChunkScoring(loan_package.path, loan_package.digest, carry=("id", "note"))
    with DaskEngine.connect(scoring, scheduler=scheduler, workers=None) as engine:
        # no chunks from the client: the workers read whole row groups, about 1,500 rows
        parts = plan_partitions(source, 1_500)
        results = list(engine.scored(parts, columns=None, chunk_rows=1_500))
    assert [(r.start, r.n_rows) for r in results] == [
        (0, 1_400), (1_400, 1_400), (2_800, 1_400), (4_200, 800)
    ]  # fmt: skip
    ids = pd.concat([r.table.column("id").to_pandas() for r in results], ignore_index=True)
    assert ids.tolist() == valid_rows["id"].iloc[:5_000].tolist()


def _tampered_archive(package: Path, target: Path) -> Path:
    """The package as an ``.mpk`` whose model changed after packaging (manifest untouched)."""
    with tarfile.open(target, "w:gz") as tar:
        for path in sorted(package.iterdir()):
            data = path.read_bytes()
            if path.name == "model.onnx":
                changed = bytearray(data)
                changed[len(changed) // 2] ^= 0x01
                data = bytes(changed)
            member = tarfile.TarInfo(path.name)
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    return target


def test_a_package_changed_on_the_way_is_refused_by_the_workers(
    loan_package: mp.Package, tmp_path: Path, scheduler: str
) -> None:
    # the client only reads the archive's bytes: the digests are checked on the workers
    archive = _tampered_archive(loan_package.path, tmp_path / "tampered.mpk")
    scoring = ChunkScoring(archive, loan_package.digest)
    with (
        pytest.raises(IntegrityError, match="model.onnx"),
        DaskEngine.connect(scoring, scheduler=scheduler, workers=None),
    ):
        pass
    other = ChunkScoring(loan_package.path, "0" * 64)  # a sound package, not the job's
    with (
        pytest.raises(BatchError, match="not the 000000000000"),
        DaskEngine.connect(other, scheduler=scheduler, workers=None),
    ):
        pass


def test_a_package_changed_during_the_job_fails_it_and_writes_nothing(
    loan_package_path: Path, valid_rows: pd.DataFrame, tmp_path: Path, scheduler: str
) -> None:
    source = write_parquet(valid_rows.iloc[:1_000], tmp_path / "small.parquet")
    copy = tmp_path / "package"
    shutil.copytree(loan_package_path, copy)
    package = open_package(copy)
    (copy / "reference.parquet").write_bytes(b"changed")
    output = tmp_path / "scores.parquet"
    with pytest.raises(IntegrityError, match="reference.parquet"):
        score_file(
            package, source, output, carry=["id", "note"], engine="dask", scheduler=scheduler
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["package", "small.parquet"]


def test_an_error_in_a_task_reaches_the_caller_and_nothing_is_written(
    loan_package: mp.Package, valid_rows: pd.DataFrame, tmp_path: Path, scheduler: str
) -> None:
    records = valid_rows.iloc[:1_000].astype(object).to_dict(orient="records")
    records[700]["id"] = "seven hundred"  # a carried column must keep one type
    source = tmp_path / "mixed.jsonl"
    source.write_bytes(b"\n".join(orjson.dumps(r) for r in records))
    output = tmp_path / "scores.parquet"
    with pytest.raises(BatchError, match="mixes JSON types"):
        score_file(
            loan_package, source, output, carry=["id", "note"], chunk_rows=250,
            engine="dask", scheduler=scheduler,
        )  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mixed.jsonl"]


def test_an_unreachable_scheduler_is_a_batch_error_not_a_hang(
    loan_package: mp.Package, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "CONNECT_TIMEOUT_SECONDS", 2.0)
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    scoring = ChunkScoring(loan_package.path, loan_package.digest)
    started = time.monotonic()
    with (
        pytest.raises(
            BatchError, match=f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}"
        ),
        DaskEngine.connect(scoring, scheduler=f"tcp://127.0.0.1:{port}", workers=None),
    ):
        pass
    assert time.monotonic() - started < 30  # bounded by the connect timeout, not a hang


def test_the_cli_scores_on_an_existing_cluster(
    loan_package_path: Path, valid_rows: pd.DataFrame, tmp_path: Path, scheduler: str
) -> None:
    source = write_csv(valid_rows.iloc[:2_000], tmp_path / "in.csv")
    output = tmp_path / "scores.parquet"
    runner = CliRunner(env={"MODELPORT_HOME": str(tmp_path / "home"), "COLUMNS": "200"})
    args = [str(loan_package_path), "-i", str(source), "-o", str(output), "--carry", "id,note"]
    options = ["--engine", "dask", "--scheduler", scheduler, "--chunk-rows", "500", "--json"]
    result = runner.invoke(app, ["batch", "score", *args, *options])
    assert result.exit_code == 0, result.output
    summary = orjson.loads(result.stdout)
    assert (summary["rows_read"], summary["rows_scored"], summary["workers"]) == (2_000, 2_000, 2)
    ids = pq.read_table(output).column("id").to_pylist()  # CSV columns are carried as text
    assert ids == [str(i) for i in valid_rows["id"][:2_000]]
