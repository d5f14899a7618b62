"""The competitors of the batch benchmark, each run as its own process so that its peak
memory is its own (``python benchmarks/batch_parts/runners.py KIND ...``).

* ``limit``: onnxruntime alone over the Arrow record batches of the input, reading and
  writing Parquet and nothing else: no validation, no decisions; one intra-op thread per
  core, onnxruntime's own way to use the machine. The graph needs the age
  the package's pre-step derives from the date of birth, so the limit computes it too,
  with the same vectorised function.
* ``sklearn``: the naive loop: pandas chunks of the file into the original scikit-learn
  pipeline (loaded with joblib), ``predict_proba``, each chunk appended to Parquet.

Both print one JSON line: rows read and written, seconds.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def limit(package_dir: Path, source: Path, target: Path, chunk_rows: int) -> dict[str, float]:
    import onnxruntime as ort

    from modelport.features import age_years, today_utc
    from modelport.package import open_package

    package = open_package(package_dir)
    options = ort.SessionOptions()
    options.intra_op_num_threads = len(os.sched_getaffinity(0))
    session = ort.InferenceSession(str(package.model_path), options)
    inputs = [(i.name, i.type == "tensor(string)") for i in session.get_inputs()]
    today = today_utc()
    began = time.perf_counter()
    rows = 0
    schema = pa.schema(
        [("label", pa.int64()), ("proba_0", pa.float64()), ("proba_1", pa.float64())]
    )
    with pq.ParquetWriter(target, schema) as writer:
        for batch in pq.ParquetFile(source).iter_batches(batch_size=chunk_rows):
            n = batch.num_rows
            columns = {name: batch.column(name) for name in batch.schema.names}
            columns["age"] = pa.array(
                age_years(columns["date_of_birth"].to_numpy(zero_copy_only=False), today)
            )
            feeds = {}
            for name, is_text in inputs:
                values = columns[name].to_numpy(zero_copy_only=False)
                dtype = object if is_text else np.float64
                feeds[name] = np.asarray(values, dtype=dtype).reshape(n, 1)
            label, probabilities = session.run(["label", "probabilities"], feeds)
            probabilities = np.asarray(probabilities, dtype=np.float64)
            writer.write_table(
                pa.table(
                    {
                        "label": pa.array(np.asarray(label).reshape(n).astype(np.int64)),
                        "proba_0": probabilities[:, 0],
                        "proba_1": probabilities[:, 1],
                    },
                    schema=schema,
                )
            )
            rows += n
    return {"rows": rows, "seconds": time.perf_counter() - began}


def sklearn(model_file: Path, source: Path, target: Path, chunk_rows: int) -> dict[str, float]:
    import joblib

    model = joblib.load(model_file)
    began = time.perf_counter()
    rows = 0
    writer = None
    for batch in pq.ParquetFile(source).iter_batches(batch_size=chunk_rows):
        frame = batch.to_pandas()
        probabilities = model.predict_proba(frame)
        out = pa.table(
            {
                "label": model.classes_[probabilities.argmax(axis=1)].astype(np.int64),
                "proba_0": probabilities[:, 0],
                "proba_1": probabilities[:, 1],
            }
        )
        if writer is None:
            writer = pq.ParquetWriter(target, out.schema)
        writer.write_table(out)
        rows += len(frame)
    if writer is not None:
        writer.close()
    return {"rows": rows, "seconds": time.perf_counter() - began}


def main() -> None:
    kind, artifact, source, target, chunk_rows = sys.argv[1:6]
    run = limit if kind == "limit" else sklearn
    result = run(Path(artifact), Path(source), Path(target), int(chunk_rows))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
