"""The loan-by-customer model of the batch-by-entity tests: what its package declares, and
the files and databases those tests give it (real SQLite or PostgreSQL, real files)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
import pandas as pd
import yaml
from sqlalchemy import Engine, create_engine, event

from modelport.orchestrate import FieldSource, OrchestrationSpec

CUSTOMER_MODEL = "loan-by-customer"
CUSTOMER_RAW = ["date_of_birth", "account_balance", "state", "loan_amount", "purpose"]
CUSTOMER_RULES = "score>=0.7:accept, score>=0.4:refer, else:decline"
CUSTOMER_SOURCED = ["date_of_birth", "account_balance", "state"]
CUSTOMER_SPEC = OrchestrationSpec(
    entity=["customer_id"],
    inputs={name: FieldSource(source="customers") for name in CUSTOMER_SOURCED},
)


def load_table(url: str, table: pd.DataFrame, name: str = "customers") -> str:
    """``table`` written to the database at ``url`` as ``name``; the URL."""
    engine = create_engine(url)
    try:
        table.to_sql(name, engine, index=False)
    finally:
        engine.dispose()
    return url


def sources_file(path: Path, url: str, **options: object) -> Path:
    """A sources file binding ``customers`` to the table of that name at ``url``."""
    binding = {"url": url, "table": "customers", "keys": ["customer_id"], **options}
    path.write_text(yaml.safe_dump({"customers": binding}))
    return path


def write_rows(frame: pd.DataFrame, path: Path) -> Path:
    """``frame`` as CSV, Parquet or JSON Lines, by the suffix of ``path``."""
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    elif path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        records = frame.astype(object).where(frame.notna(), None).to_dict("records")
        path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    return path


@contextmanager
def lookups() -> Iterator[list[str]]:
    """Every statement that looks customers up by id, on any engine, while inside."""
    seen: list[str] = []

    def count(connection, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if "customer_id IN" in statement:
            seen.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", count)
