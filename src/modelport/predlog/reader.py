"""Reading the prediction log back, from either sink, as :class:`PredictionRecord`.

For tests, audits ("what did we answer for request X?") and small analyses; large ones
should query the table or the Parquet files directly (the formats are documented in
``docs/prediction-log.md``). Records come back in the order they were answered, times in
UTC, JSON fields as dicts (NumPy values were written as plain numbers and lists).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select

from modelport.predlog.record import PredictionRecord
from modelport.predlog.sql import DEFAULT_TABLE, create_log_engine, prediction_table

__all__ = ["read_predictions"]


def read_predictions(
    where: str | os.PathLike[str],
    *,
    table: str = DEFAULT_TABLE,
    model: str | None = None,
    request_id: str | None = None,
    since: datetime | None = None,
) -> list[PredictionRecord]:
    """Records of the SQL database at URL ``where`` (its ``table``), or of the Parquet files
    under the directory ``where``; only those of ``model``, ``request_id``, and answered at
    or after ``since``, when given. A table or directory not yet written reads as empty."""
    if isinstance(where, str) and "://" in where:
        if not where.startswith("file://"):
            return _from_sql(where, table, model, request_id, since)
        where = where[len("file://") :]
    return _from_parquet(Path(where), model, request_id, since)


def _from_sql(
    url: str, name: str, model: str | None, request_id: str | None, since: datetime | None
) -> list[PredictionRecord]:
    engine = create_log_engine(url)
    try:
        with engine.connect() as connection:
            if not engine.dialect.has_table(connection, name):
                return []
            table = prediction_table(name)
            query = select(table).order_by(table.c.at, table.c.id)
            if model is not None:
                query = query.where(table.c.model == model)
            if request_id is not None:
                query = query.where(table.c.request_id == request_id)
            if since is not None:
                query = query.where(table.c.at >= since.astimezone(UTC))
            rows = connection.execute(query).mappings().all()
    finally:
        engine.dispose()
    return [
        PredictionRecord(
            model=row["model"],
            version=row["version"],
            request_id=row["request_id"],
            at=_utc(row["at"]),
            entity=row["entity"],
            inputs=row["inputs"],
            outputs=row["outputs"],
            decision=row["decision"],
            rule=row["rule"],
            latency_ms=row["latency_ms"],
        )
        for row in rows
    ]


def _from_parquet(
    directory: Path, model: str | None, request_id: str | None, since: datetime | None
) -> list[PredictionRecord]:
    files = sorted(directory.rglob("predictions-*.parquet"), key=lambda path: path.name)
    if not files:
        return []
    rows: list[dict[str, Any]] = pa.concat_tables(
        [pq.read_table(file) for file in files]
    ).to_pylist()
    found = [
        PredictionRecord(
            model=row["model"],
            version=row["version"],
            request_id=row["request_id"],
            at=_utc(row["at"]),
            entity=None if row["entity"] is None else orjson.loads(row["entity"]),
            inputs=orjson.loads(row["inputs"]),
            outputs=orjson.loads(row["outputs"]),
            decision=row["decision"],
            rule=row["rule"],
            latency_ms=row["latency_ms"],
        )
        for row in rows
        if (model is None or row["model"] == model)
        and (request_id is None or row["request_id"] == request_id)
    ]
    if since is not None:
        found = [record for record in found if record.at >= since]
    found.sort(key=lambda record: record.at)  # stable: the order of writing among equals
    return found


def _utc(value: datetime) -> datetime:
    """SQLite gives back naive times (written as UTC); PostgreSQL, the session's zone."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
