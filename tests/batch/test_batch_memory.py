"""Memory stays flat as files grow: peak for 160,000 rows close to the peak for 40,000.

The smaller file is already several of the CSV reader's 1 MB blocks long, so that both
sizes are in the steady state (a block, the chunks sliced from it, and the one being
scored), not the start-up of a file of two blocks.

Each size is measured in a fresh interpreter, so that Arrow's pool peak (``max_memory``,
which cannot be reset) belongs to the batch jobs alone; tracemalloc's peak (Python
objects and numpy arrays) is taken for each format on its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
from batch_inputs import json_lines

from modelport.datasets import LOAN_FEATURES, loan_applications

_MEASURE = """
import json, sys, tracemalloc
import pyarrow as pa
from modelport.batch import score_file
from modelport.package import load_scorer, open_package

scorer = load_scorer(open_package(sys.argv[1]))
peaks = {}
for source in sys.argv[2:]:
    tracemalloc.start()
    score_file(scorer, source, source + ".scores.parquet", chunk_rows=1_000)
    peaks[source.rsplit(".", 1)[-1]] = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
peaks["arrow"] = pa.default_memory_pool().max_memory()  # over all three runs
print(json.dumps(peaks))
"""


def _write_inputs(directory: Path, rows: int) -> list[Path]:
    """CSV, Parquet and JSON Lines of ``rows`` rows, written a slice at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    directory.mkdir()
    paths = [directory / "input.csv", directory / "input.parquet", directory / "input.jsonl"]
    writer = None
    with paths[0].open("wb") as csv, paths[2].open("wb") as jsonl:
        for offset in range(0, rows, 5_000):
            frame: pd.DataFrame = loan_applications(5_000, seed=offset)[LOAN_FEATURES]
            frame = frame.assign(age=frame["age"].clip(20, 80))  # keep rows valid
            csv.write(frame.to_csv(index=False, header=offset == 0).encode())
            jsonl.write(b"\n".join(json_lines(frame)) + b"\n")
            table = pa.Table.from_pandas(frame, preserve_index=False)
            writer = writer or pq.ParquetWriter(paths[1], table.schema)
            writer.write_table(table)
    if writer is not None:
        writer.close()
    return paths


def _peaks(package: Path, sources: list[Path]) -> dict[str, int]:
    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(package), *map(str, sources)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_peak_memory_does_not_grow_with_the_file(loan_package_path: Path, tmp_path: Path) -> None:
    small = _peaks(loan_package_path, _write_inputs(tmp_path / "small", 40_000))
    large = _peaks(loan_package_path, _write_inputs(tmp_path / "large", 160_000))
    # Four times the rows: the peaks may wobble, but not grow with the file.
    for kind in ("csv", "parquet", "jsonl", "arrow"):
        assert large[kind] < 1.3 * small[kind] + 1_000_000, (kind, small, large)
