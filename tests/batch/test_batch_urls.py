"""Inputs and outputs behind fsspec URLs: read where they are, written only complete.

``memory://`` is fsspec's in-process file system: a real fsspec implementation, like
``s3://`` or ``gs://`` without the network.
"""

from __future__ import annotations

import gzip
import importlib.util
from collections.abc import Iterator
from pathlib import Path

import fsspec
import pandas as pd
import pyarrow.parquet as pq
import pytest
from batch_inputs import CHUNK_ROWS, Injected, read_output, read_rejects
from typer.testing import CliRunner

import modelport as mp
from modelport.batch import score_file
from modelport.cli.main import app
from modelport.errors import BatchError
from modelport.package import open_package


@pytest.fixture(scope="module")
def loan_package(loan_package_path: Path) -> mp.Package:
    return open_package(loan_package_path)


@pytest.fixture
def memory() -> Iterator[fsspec.AbstractFileSystem]:
    fs = fsspec.filesystem("memory")
    yield fs
    fs.rm("/", recursive=True)


def _upload(fs: fsspec.AbstractFileSystem, local: Path, name: str, *, gzipped: bool) -> str:
    data = local.read_bytes()
    fs.pipe_file(f"/in/{name}", gzip.compress(data) if gzipped else data)
    return f"memory://in/{name}"


@pytest.mark.parametrize("workers", [1, 2])
def test_a_file_behind_a_url_scores_like_the_local_file(
    loan_package: mp.Package,
    injected: Injected,
    memory: fsspec.AbstractFileSystem,
    tmp_path: Path,
    workers: int,
) -> None:
    gzipped = injected.path.suffix != ".parquet"  # text inputs compressed, as they often are
    name = injected.path.name + (".gz" if gzipped else "")
    source = _upload(memory, injected.path, name, gzipped=gzipped)
    options = {"carry": ["id", "note"], "chunk_rows": CHUNK_ROWS, "record_column": "record"}
    local = score_file(loan_package, injected.path, tmp_path / "scores.parquet", **options)
    remote = score_file(
        loan_package, source, "memory://out/scores.parquet", workers=workers, **options
    )

    assert remote.output == "memory://out/scores.parquet"
    assert remote.rejects == "memory://out/scores.parquet.rejects.jsonl"
    assert (remote.rows_read, remote.rows_rejected) == (local.rows_read, local.rows_rejected)
    with memory.open("/out/scores.parquet", "rb") as handle:
        scores = pq.read_table(handle).to_pandas()
    pd.testing.assert_frame_equal(scores, read_output(tmp_path / "scores.parquet"))
    copied = tmp_path / "rejects.jsonl"
    copied.write_bytes(memory.cat_file("/out/scores.parquet.rejects.jsonl"))
    assert read_rejects(copied) == read_rejects(
        Path(f"{tmp_path / 'scores.parquet'}.rejects.jsonl")
    )
    assert sorted(memory.ls("/out", detail=False)) == [
        "/out/scores.parquet",
        "/out/scores.parquet.rejects.jsonl",
    ]


def test_an_output_behind_a_url_appears_only_complete(
    loan_package: mp.Package, injected: Injected, memory: fsspec.AbstractFileSystem
) -> None:
    def fail_half_way(done: int, total: int | None) -> None:
        if done >= 2 * CHUNK_ROWS:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        score_file(
            loan_package,
            injected.path,
            "memory://out/scores.parquet",
            carry=["id", "note"],
            chunk_rows=CHUNK_ROWS,
            progress=fail_half_way,
            workers=1,
        )
    assert not memory.exists("/out") or memory.ls("/out", detail=False) == []


def test_a_missing_url_input_is_a_clear_error(loan_package: mp.Package, tmp_path: Path) -> None:
    with pytest.raises(BatchError, match=r"input memory://in/nothing.parquet does not exist"):
        score_file(loan_package, "memory://in/nothing.parquet", tmp_path / "scores.parquet")


@pytest.mark.skipif(importlib.util.find_spec("s3fs") is not None, reason="s3fs is installed here")
def test_a_protocol_without_its_package_says_what_to_install(
    loan_package: mp.Package, tmp_path: Path
) -> None:
    with pytest.raises(BatchError, match="pip install s3fs"):
        score_file(loan_package, "s3://bucket/applications.parquet", tmp_path / "out.parquet")


def test_the_command_takes_file_urls(
    loan_package_path: Path, injected: Injected, tmp_path: Path
) -> None:
    output = tmp_path / "scores.parquet"
    result = CliRunner().invoke(
        app,
        [
            "batch",
            "score",
            str(loan_package_path),
            "-i",
            f"file://{injected.path}",
            "-o",
            f"file://{output}",
            "--carry",
            "id,note",
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    assert len(read_output(output)) == len(injected.good)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("s3://key:se@cret@bucket/x.parquet", "s3://key:***@bucket/x.parquet"),
        ("s3://key:se/cret@bucket/x.parquet", "s3://key:***@bucket/x.parquet"),
        ("https://host/x.csv?sig=SECRET", "https://host/x.csv?***"),
        ("ftp://bob:pw@host:9/in.csv", "ftp://bob:***@host:9/in.csv"),
        ("s3://bucket/dir/file@v2.parquet", "s3://bucket/dir/file@v2.parquet"),
        ("memory://out/scores.parquet", "memory://out/scores.parquet"),
    ],
)
def test_urls_are_shown_without_secrets(url: str, shown: str) -> None:
    from modelport.batch.locations import Location

    assert Location.safe(url) == shown
