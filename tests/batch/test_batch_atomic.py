"""The output appears whole or not at all: failures and Ctrl-C leave nothing behind."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from batch_inputs import CHUNK_ROWS, Injected, write_csv, write_parquet

from modelport.batch import default_rejects_path, score_file
from modelport.errors import BatchError
from modelport.runtime import Scorer


class _StopAt:
    """A progress callback that presses Ctrl-C once ``chunks`` chunks are done."""

    def __init__(self, chunks: int) -> None:
        self.calls = 0
        self.chunks = chunks

    def __call__(self, done: int, total: int | None) -> None:
        self.calls += 1
        if self.calls > self.chunks:  # the first call (0 rows) comes before any chunk
            raise KeyboardInterrupt


def _listing(directory: Path) -> list[str]:
    """The names in ``directory`` (none if it was never created)."""
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def test_ctrl_c_mid_file_leaves_no_output(
    scorer: Scorer, injected: Injected, tmp_path: Path
) -> None:
    output = tmp_path / "out" / "scores.parquet"
    stop = _StopAt(3)
    with pytest.raises(KeyboardInterrupt):
        score_file(
            scorer,
            injected.path,
            output,
            carry=["id", "note"],
            chunk_rows=CHUNK_ROWS,
            progress=stop,
        )
    assert stop.calls == 4  # three chunks were scored and written before the interrupt
    assert _listing(output.parent) == []


def test_failure_keeps_the_previous_output(
    scorer: Scorer, injected: Injected, tmp_path: Path
) -> None:
    output = tmp_path / "scores.csv"
    output.write_text("yesterday's scores\n")
    rejects = default_rejects_path(output)
    rejects.write_text("yesterday's rejects\n")
    with pytest.raises(KeyboardInterrupt):
        score_file(
            scorer,
            injected.path,
            output,
            carry=["id", "note"],
            chunk_rows=CHUNK_ROWS,
            progress=_StopAt(2),
        )
    assert output.read_text() == "yesterday's scores\n"
    assert rejects.read_text() == "yesterday's rejects\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [output.name, rejects.name]


def test_a_corrupt_row_group_fails_the_file_mid_way(
    scorer: Scorer, valid_rows: pd.DataFrame, tmp_path: Path
) -> None:
    source = write_parquet(valid_rows, tmp_path / "input.parquet", row_group_size=CHUNK_ROWS)
    metadata = pq.ParquetFile(source).metadata
    assert metadata.num_row_groups > 4
    # Overwrite the start of the fourth row group's first column with garbage.
    offset = metadata.row_group(3).column(0).data_page_offset
    with source.open("r+b") as handle:
        handle.seek(offset)
        handle.write(b"\xff" * 64)
    output = tmp_path / "out" / "scores.jsonl"
    written: list[int] = []
    with pytest.raises(BatchError, match="cannot read"):
        score_file(
            scorer,
            source,
            output,
            carry=["id", "note"],
            chunk_rows=CHUNK_ROWS,
            progress=lambda done, total: written.append(done),
        )
    assert written == [0, CHUNK_ROWS, 2 * CHUNK_ROWS, 3 * CHUNK_ROWS]
    assert _listing(output.parent) == []


def test_a_csv_with_a_broken_row_fails_the_file(
    scorer: Scorer, valid_rows: pd.DataFrame, tmp_path: Path
) -> None:
    source = write_csv(valid_rows, tmp_path / "input.csv")
    with source.open("a") as handle:
        handle.write("1,2,3\n")  # a row with too few cells: the file is not what it claims
    output = tmp_path / "out" / "scores.parquet"
    with pytest.raises(BatchError, match=r"cannot read .*input.csv.*Expected 15 columns, got 3"):
        score_file(scorer, source, output, carry=["id", "note"], chunk_rows=CHUNK_ROWS)
    assert _listing(output.parent) == []


def test_a_truncated_parquet_file_is_refused_before_anything_is_written(
    scorer: Scorer, valid_rows: pd.DataFrame, tmp_path: Path
) -> None:
    source = write_parquet(valid_rows.head(100), tmp_path / "input.parquet")
    source.write_bytes(source.read_bytes()[:-100])
    output = tmp_path / "scores.parquet"
    with pytest.raises(BatchError, match="cannot read .* as Parquet"):
        score_file(scorer, source, output, carry=["id", "note"])
    assert _listing(tmp_path) == ["input.parquet"]


def test_success_replaces_the_previous_output(
    scorer: Scorer, valid_rows: pd.DataFrame, tmp_path: Path
) -> None:
    source = write_parquet(valid_rows.head(50), tmp_path / "input.parquet")
    output = tmp_path / "scores.parquet"
    output.write_text("old")
    default_rejects_path(output).write_text("old rejects\n")
    summary = score_file(scorer, source, output, carry=["id", "note"])
    assert summary.rows_scored == 50
    assert pq.read_table(output).num_rows == 50
    assert default_rejects_path(output).read_bytes() == b""  # no stale rejects survive
    assert _listing(tmp_path) == ["input.parquet", "scores.parquet", "scores.parquet.rejects.jsonl"]


def test_the_output_gets_the_usual_permissions(
    scorer: Scorer, valid_rows: pd.DataFrame, tmp_path: Path
) -> None:
    source = write_parquet(valid_rows.head(5), tmp_path / "input.parquet")
    output = tmp_path / "scores.parquet"
    summary = score_file(scorer, source, output, ignore_extra=True)
    umask = os.umask(0o022)
    os.umask(umask)
    for path in (output, summary.rejects):
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
