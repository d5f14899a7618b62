"""The file sink: one Parquet file per flush, for lakes and offline analysis.

Each flush writes ``<directory>/date=YYYY-MM-DD/predictions-<UTC time>-<pid>-<n>.parquet``:
the names sort by time (so a listing is the order of writing), the ``date=`` directories
keep any one directory small and read as a partition column by Spark, DuckDB and
``pyarrow.dataset``, and the process id keeps the files of server workers apart. A file is
written beside its final name and renamed when complete (``modelport.files``), so
readers never see half a file, and a crash leaves only a hidden ``.modelport-partial``.

``inputs``, ``outputs`` and ``entity`` are JSON text columns: their fields differ from
model to model and version to version, and one fixed schema keeps every file readable
together. Small files are the price of a short flush interval (two a second per worker at
the default 0.5 s); set a longer ``flush_seconds`` for this sink if losing that much at a
crash is acceptable, or compact the files of past days offline.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from modelport.files import atomic_file
from modelport.predlog.record import PredictionRecord

__all__ = ["PREDICTION_SCHEMA", "ParquetSink"]

PREDICTION_SCHEMA = pa.schema(
    [
        pa.field("model", pa.string(), nullable=False),
        pa.field("version", pa.int64(), nullable=False),
        pa.field("request_id", pa.string(), nullable=False),
        pa.field("at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("entity", pa.string()),  # JSON text
        pa.field("inputs", pa.string(), nullable=False),  # JSON text
        pa.field("outputs", pa.string(), nullable=False),  # JSON text
        pa.field("decision", pa.string()),
        pa.field("rule", pa.string()),
        pa.field("latency_ms", pa.float64(), nullable=False),
    ]
)
_JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
_DATA_ERRORS = (TypeError, ValueError, pa.ArrowException)


class ParquetSink:
    """Writes each batch as a new Parquet file under ``directory`` (created if missing)."""

    def __init__(self, directory: str | os.PathLike[str], compression: str = "zstd") -> None:
        self.directory = Path(directory)
        self.compression = compression
        self._numbers = itertools.count()

    def __repr__(self) -> str:
        return f"ParquetSink({str(self.directory)!r})"

    def write(self, records: Sequence[PredictionRecord]) -> int:
        """One new file holding every record; a record that cannot be encoded (a string
        that is not valid Unicode, a value JSON cannot hold) is left out and counted."""
        kept = list(records)
        try:
            table = pa.Table.from_pydict(_columns(kept), schema=PREDICTION_SCHEMA)
        except _DATA_ERRORS:
            kept = [record for record in records if _encodable(record)]
            table = pa.Table.from_pydict(_columns(kept), schema=PREDICTION_SCHEMA)
        refused = len(records) - len(kept)
        if not kept:
            return refused
        now = datetime.now(UTC)
        name = f"predictions-{now:%Y%m%dT%H%M%S%f}Z-{os.getpid()}-{next(self._numbers):06d}"
        target = self.directory / f"date={now:%Y-%m-%d}" / f"{name}.parquet"
        with atomic_file(target) as partial:
            pq.write_table(table, partial, compression=self.compression)
        return refused

    def close(self) -> None:
        pass


def _columns(records: Sequence[PredictionRecord]) -> dict[str, list[Any]]:
    return {
        "model": [r.model for r in records],
        "version": [r.version for r in records],
        "request_id": [r.request_id for r in records],
        "at": [r.at.astimezone(UTC) for r in records],
        "entity": [None if r.entity is None else _json(r.entity) for r in records],
        "inputs": [_json(r.inputs) for r in records],
        "outputs": [_json(r.outputs) for r in records],
        "decision": [r.decision for r in records],
        "rule": [r.rule for r in records],
        "latency_ms": [float(r.latency_ms) for r in records],
    }


def _encodable(record: PredictionRecord) -> bool:
    try:
        pa.Table.from_pydict(_columns([record]), schema=PREDICTION_SCHEMA)
    except _DATA_ERRORS:
        return False
    return True


def _json(value: Any) -> str:
    return orjson.dumps(value, default=str, option=_JSON_OPTIONS).decode()
