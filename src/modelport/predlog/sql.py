"""The default sink: one SQL table, one bulk insert in one transaction per flush.

The table is portable between SQLite and PostgreSQL: text for names and ids, a
timezone-aware timestamp (UTC), JSON for ``entity``, ``inputs`` and ``outputs`` (JSONB on
PostgreSQL, so they can be queried and indexed there). It is created on the first write
if missing, not when the sink is made, so a database that is down when the server starts
delays the log instead of stopping the server. Several processes (server workers, replicas)
write into one table side by side: each insert is its own transaction, rows get their id
from the database, and creating the table is serialized (``BEGIN IMMEDIATE`` on SQLite, a
transaction-scoped advisory lock on PostgreSQL), so two first writes never race.

Values are stored as JSON written by orjson: NumPy scalars and arrays become numbers and
lists, anything else unknown becomes its ``str``. Text PostgreSQL cannot hold (NUL
characters) is replaced, so a client cannot poison the log with one odd string. A batch
the database still refuses as data is written row by row, leaving out and counting only
the rows it refuses.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from datetime import UTC
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    text,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql import JSONB

from modelport.predlog.record import PredictionRecord
from modelport.sql_engine import create_sql_engine, writer

__all__ = ["DEFAULT_TABLE", "SqlSink", "create_log_engine", "prediction_table"]

DEFAULT_TABLE = "modelport_predictions"
_JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def prediction_table(name: str = DEFAULT_TABLE, metadata: MetaData | None = None) -> Table:
    """The table definition (for the sink, the reader, and users' own queries)."""
    json_type = JSON().with_variant(JSONB(), "postgresql")
    return Table(
        name,
        metadata or MetaData(),
        Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
        Column("model", String(), nullable=False),
        Column("version", Integer(), nullable=False),
        Column("request_id", String(), nullable=False),
        Column("at", DateTime(timezone=True), nullable=False),
        Column("entity", json_type, nullable=True),
        Column("inputs", json_type, nullable=False),
        Column("outputs", json_type, nullable=False),
        Column("decision", String(), nullable=True),
        Column("rule", String(), nullable=True),
        Column("latency_ms", Float(), nullable=False),
        Index(f"ix_{name}_model_at", "model", "at"),
        Index(f"ix_{name}_request_id", "request_id"),
    )


def create_log_engine(url: str) -> Engine:
    """An engine for ``url`` fit for several writing processes, set up as the registry's
    (:func:`modelport.sql_engine.create_sql_engine`; a SQLite file's directory is created
    if missing). Raises :class:`ValueError` for a URL that cannot be used."""
    engine = create_sql_engine(
        url,
        subject="prediction log database",
        postgresql={"connect_args": {"connect_timeout": 5}},  # a database down fails fast
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
    )
    # Every transaction of the sink writes: on SQLite, take the write lock first (waiting
    # for it) rather than fail on a lock upgrade when another process wrote in between.
    return writer(engine)


class SqlSink:
    """Appends batches of records to ``table`` of the database at ``url``."""

    def __init__(self, url: str, table: str = DEFAULT_TABLE) -> None:
        self.url = url
        self.engine = create_log_engine(url)
        self.table = prediction_table(table)
        self._postgresql = self.engine.dialect.name == "postgresql"
        self._ready = False

    def __repr__(self) -> str:
        shown = self.engine.url.render_as_string(hide_password=True)
        return f"SqlSink({shown!r}, table={self.table.name!r})"

    def write(self, records: Sequence[PredictionRecord]) -> int:
        """One transaction inserting every row; data the database refuses is left out."""
        if not self._ready:
            self._create_table()
        rows = [self._row(record) for record in records]
        try:
            with self.engine.begin() as connection:
                connection.execute(self.table.insert(), rows)
            return 0
        except sa_exc.StatementError as exc:
            if not _refused_as_data(exc):
                raise
            if len(rows) == 1:
                return 1
        refused = 0  # one row spoiled the batch: find it, keep the others
        for row in rows:
            try:
                with self.engine.begin() as connection:
                    connection.execute(self.table.insert(), [row])
            except sa_exc.StatementError as exc:
                if not _refused_as_data(exc):
                    raise
                refused += 1
        return refused

    def close(self) -> None:
        self.engine.dispose()

    def _create_table(self) -> None:
        with self.engine.begin() as connection:
            if self._postgresql:  # two first writers queue here instead of both creating
                key = zlib.crc32(f"modelport-predictions:{self.table.name}".encode())
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
            self.table.metadata.create_all(connection, checkfirst=True)
        self._ready = True

    def _row(self, record: PredictionRecord) -> dict[str, Any]:
        text_of = _clean if self._postgresql else _same
        return {
            "model": text_of(record.model),
            "version": record.version,
            "request_id": text_of(record.request_id),
            "at": record.at.astimezone(UTC),
            "entity": record.entity,
            "inputs": record.inputs,
            "outputs": record.outputs,
            "decision": None if record.decision is None else text_of(record.decision),
            "rule": None if record.rule is None else text_of(record.rule),
            "latency_ms": float(record.latency_ms),
        }


def _refused_as_data(exc: sa_exc.StatementError) -> bool:
    """The rows themselves are refused (a value, a constraint), not the connection: another
    try would fail the same way. A value the JSON writer cannot take counts too."""
    if isinstance(exc, sa_exc.DBAPIError):
        return isinstance(exc, sa_exc.DataError | sa_exc.IntegrityError)
    return True


def _json_dumps(value: Any) -> str:
    written = orjson.dumps(value, default=str, option=_JSON_OPTIONS).decode()
    if "\\u0000" in written:  # valid JSON, refused by PostgreSQL's JSONB
        written = written.replace("\\u0000", "\\ufffd")
    return written


def _clean(value: str) -> str:
    return value.replace("\x00", "\ufffd") if "\x00" in value else value


def _same(value: str) -> str:
    return value
