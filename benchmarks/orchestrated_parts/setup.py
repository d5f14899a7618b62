"""What the orchestrated benchmark serves: the customer model, the customer table, sources.

The model is the one of ``tests/server/test_score.py``, full size: ``AgeFromDate`` turns
the looked-up date of birth into an age, a ``ColumnTransformer`` one-hot encodes state and
purpose, a RandomForest scores; decisions ``accept`` / ``refer`` / ``decline``; the
package's orchestration spec sources ``date_of_birth``, ``account_balance`` and ``state``
from the source ``customers`` by ``customer_id``. The caller sends ``loan_amount`` and
``purpose``.

The customer table is created with ``customer_id`` as its primary key (as a CRM table
has it) in a SQLite file and in a PostgreSQL database made for the run and dropped after.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder
from sqlalchemy import (
    Column,
    Engine,
    Float,
    Integer,
    MetaData,
    Table,
    Text,
    create_engine,
    text,
)
from sqlalchemy.engine import make_url

import modelport as mp
from modelport.datasets import customer_loan_applications
from modelport.features import AgeFromDate
from modelport.orchestrate import FieldSource, OrchestrationSpec
from modelport.registry import Registry
from modelport.settings import Settings

__all__ = [
    "MODEL",
    "RAW",
    "Database",
    "postgres_database",
    "sqlite_database",
    "train_package_register",
    "write_sources",
]

MODEL = "loan-by-customer"
SOURCED = ["date_of_birth", "account_balance", "state"]
REQUEST = ["loan_amount", "purpose"]
RAW = [*SOURCED, *REQUEST]
RULES = "score>=0.7:accept, score>=0.4:refer, else:decline"
SPEC = OrchestrationSpec(
    entity=["customer_id"],
    inputs={name: FieldSource(source="customers") for name in SOURCED},
)
PG_DATABASE = "modelport_bench_orchestrated"


@dataclass(frozen=True)
class Database:
    title: str  # "SQLite" or "PostgreSQL"
    url: str  # what the sources file binds ``customers`` to
    version: str
    # PostgreSQL only: sessions opened on the database so far (``pg_stat_database``)
    sessions: Callable[[], int] | None = None


def train_package_register(
    work: Path, table: pd.DataFrame, applications: int, trees: int, depth: int
) -> tuple[Pipeline, Path, Path]:
    """The fitted pipeline, its package, and the MODELPORT_HOME where that package is
    version 1 with the alias production."""
    started = time.perf_counter()
    frame = customer_loan_applications(table, applications, seed=4).merge(table, on="customer_id")
    prepare = ColumnTransformer(
        [
            ("num", "passthrough", ["age", "account_balance", "loan_amount"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["state", "purpose"]),
        ]
    )
    forest = RandomForestClassifier(n_estimators=trees, max_depth=depth, random_state=0)
    pipeline = Pipeline(
        [
            ("age", AgeFromDate(column="date_of_birth", output="age")),
            ("prepare", prepare),
            ("model", forest),
        ]
    )
    pipeline.fit(frame[RAW], frame["approved"])
    trained = time.perf_counter() - started
    built = mp.package(
        pipeline,
        frame[RAW],  # the contract's ranges come from the training rows
        name=MODEL,
        path=work / "packages" / MODEL,
        decisions=RULES,
        orchestration=SPEC,
    )
    home = work / "modelport-home"
    registry = Registry.from_settings(Settings(home=home))
    try:
        registry.register(built.path, alias="production")
    finally:
        registry.close()
    print(
        f"  trained in {trained:.1f} s, packaged and registered in "
        f"{time.perf_counter() - started - trained:.1f} s",
        flush=True,
    )
    return pipeline, built.path, home


def _fill(engine: Engine, table: pd.DataFrame) -> None:
    """``customers`` with ``customer_id`` as primary key, the rows of ``table``, analysed."""
    metadata = MetaData()
    customers = Table(
        "customers",
        metadata,
        Column("customer_id", Integer, primary_key=True, autoincrement=False),
        Column("date_of_birth", Text),
        Column("state", Text),
        Column("account_balance", Float),
        Column("home_lat", Float),
        Column("home_lon", Float),
    )
    metadata.create_all(engine)
    names = [c.name for c in customers.columns]
    columns = [table[name].tolist() for name in names]  # plain Python values
    rows = [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]
    with engine.begin() as connection:
        connection.execute(customers.insert(), rows)
        connection.execute(text("ANALYZE customers"))


def sqlite_database(path: Path, table: pd.DataFrame) -> Database:
    path.unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    engine = create_engine(url)
    try:
        _fill(engine, table)
    finally:
        engine.dispose()
    return Database("SQLite", url, f"SQLite {sqlite3.sqlite_version}")


@contextlib.contextmanager
def postgres_database(admin_url: str, table: pd.DataFrame) -> Iterator[Database]:
    """A fresh database holding the table, dropped (``WITH (FORCE)``) when done."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    url = make_url(admin_url).set(database=PG_DATABASE).render_as_string(hide_password=False)
    try:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)"))
            connection.execute(text(f"CREATE DATABASE {PG_DATABASE} TEMPLATE template0"))
            version = connection.scalar(text("SHOW server_version"))
        engine = create_engine(url)
        try:
            _fill(engine, table)
        finally:
            engine.dispose()

        def sessions() -> int:
            with admin.connect() as connection:
                statement = text("SELECT sessions FROM pg_stat_database WHERE datname = :name")
                return int(connection.scalar(statement, {"name": PG_DATABASE}) or 0)

        yield Database("PostgreSQL", url, f"PostgreSQL {str(version).split()[0]}", sessions)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)"))
        admin.dispose()


def write_sources(path: Path, database: Database, ttl_seconds: float) -> Path:
    """The sources file binding ``customers`` to ``database`` with that cache TTL."""
    path.parent.mkdir(parents=True, exist_ok=True)
    binding = {
        "url": database.url,
        "table": "customers",
        "keys": ["customer_id"],
        "timeout_seconds": 2.0,
        "ttl_seconds": ttl_seconds,
    }
    path.write_text(yaml.safe_dump({"customers": binding}, sort_keys=False))
    return path
