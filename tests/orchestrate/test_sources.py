"""Feature sources and the enrichment cache on real SQLite and PostgreSQL databases."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from databases import PostgresServer
from modelport.errors import EntityNotFound, FeatureSourceUnavailable, InvalidInput
from modelport.orchestrate import Enricher, EnrichmentCache, SourceBinding, SqlSource

CUSTOMERS = [
    (i, f"2000-01-{i % 28 + 1:02d}", "CA" if i % 2 else "NY", i * 10.5) for i in range(1, 1201)
]


@pytest.fixture
def customers_url(tmp_path: Path, database_url: str | None) -> str:
    """A database holding ``customers`` (1,200 rows) and ``accounts`` (composite key)."""
    url = database_url or f"sqlite:///{tmp_path / 'customers.db'}"
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, date_of_birth TEXT, "
                "state TEXT, balance DOUBLE PRECISION)"
            )
        )
        connection.execute(
            text("INSERT INTO customers VALUES (:i, :d, :s, :b)"),
            [{"i": i, "d": d, "s": s, "b": b} for i, d, s, b in CUSTOMERS],
        )
        connection.execute(
            text(
                "CREATE TABLE accounts (bank TEXT, number INTEGER, limit_amount DOUBLE PRECISION,"
                " PRIMARY KEY (bank, number))"
            )
        )
        connection.execute(
            text("INSERT INTO accounts VALUES ('a', 1, 100.0), ('a', 2, 200.0), ('b', 1, 300.0)")
        )
    engine.dispose()
    return url


def _customers(url: str, **options: object) -> SqlSource:
    return SqlSource(
        SourceBinding(name="customers", url=url, table="customers", keys=["customer_id"], **options)  # type: ignore[arg-type]
    )


def test_a_table_source_fetches_many_entities_by_key(customers_url: str) -> None:
    source = _customers(customers_url, columns=["date_of_birth", "state"])
    try:
        wanted = [{"customer_id": i} for i in (17, 3, 1199, 5000, 17)]
        rows = source.fetch(wanted)
    finally:
        source.close()
    assert list(rows) == [(17,), (3,), (1199,)]  # 5000 is unknown; duplicates once
    assert rows[(17,)] == {"customer_id": 17, "date_of_birth": "2000-01-18", "state": "CA"}


def test_more_entities_than_one_statement_takes(customers_url: str) -> None:
    source = _customers(customers_url)
    try:
        rows = source.fetch([{"customer_id": i} for i in range(1, 1201)])
    finally:
        source.close()
    assert len(rows) == 1200
    assert rows[(1200,)]["balance"] == pytest.approx(12600.0)


def test_a_composite_key_and_a_query_source(customers_url: str) -> None:
    accounts = SqlSource(
        SourceBinding(name="accounts", url=customers_url, table="accounts", keys=["bank", "number"])
    )
    query = SqlSource(
        SourceBinding(
            name="rich",
            url=customers_url,
            keys=["customer_id"],
            query="SELECT balance * 2 AS double_balance FROM customers "
            "WHERE customer_id = :customer_id",
        )
    )
    try:
        found = accounts.fetch(
            [{"bank": "a", "number": 2}, {"bank": "b", "number": 1}, {"bank": "b", "number": 2}]
        )
        doubled = query.fetch([{"customer_id": 2}, {"customer_id": 99999}])
    finally:
        accounts.close()
        query.close()
    assert {k: r["limit_amount"] for k, r in found.items()} == {("a", 2): 200.0, ("b", 1): 300.0}
    assert doubled == {(2,): {"double_balance": pytest.approx(42.0)}}


def test_keys_are_typed_like_the_source_columns(customers_url: str) -> None:
    """A client's "17" finds customer 17 and "abc" never reaches the database (PostgreSQL
    would refuse to compare an integer column with text, which is no fault of the source)."""
    accounts = SqlSource(
        SourceBinding(name="accounts", url=customers_url, table="accounts", keys=["bank", "number"])
    )
    customers = _customers(customers_url, columns=["state"])
    try:
        assert customers.key_types() == {"customer_id": int}
        found = customers.fetch([{"customer_id": " 17 "}, {"customer_id": 18.0}])
        by_text = accounts.fetch([{"bank": "a", "number": "2"}])
        with pytest.raises(InvalidInput) as caught:
            customers.fetch([{"customer_id": "17x"}])
        with pytest.raises(InvalidInput, match="not a key value"):
            customers.fetch([{"customer_id": {"$ne": 1}}])
        # what no database could take for the whole shared statement is refused up front
        for unusable in (2**64, 1e20, float("nan"), True):
            with pytest.raises(InvalidInput):
                customers.fetch([{"customer_id": unusable}])
        with pytest.raises(InvalidInput, match="not a key value"):
            accounts.fetch([{"bank": "a\x00", "number": 1}])
    finally:
        accounts.close()
        customers.close()
    assert sorted(found) == [(17,), (18,)]
    assert list(by_text) == [("a", 2)]
    (error,) = caught.value.errors
    assert error.field == "customer_id" and "is not an integer" in error.reason


def test_a_binding_is_checked_when_declared() -> None:
    with pytest.raises(ValueError, match="exactly one of table or query"):
        SourceBinding(name="x", url="sqlite://", keys=["id"])
    with pytest.raises(ValueError, match="identifiers"):
        SourceBinding(name="x", url="sqlite://", keys=["id; DROP TABLE x"], table="t")
    with pytest.raises(ValueError, match=":id"):
        SourceBinding(name="x", url="sqlite://", keys=["id"], query="SELECT 1")


def test_the_enricher_uses_the_cache_and_names_missing_entities(customers_url: str) -> None:
    cache = EnrichmentCache(max_entries=100)
    enricher = Enricher({"customers": _customers(customers_url, ttl_seconds=60)}, cache)
    try:
        rows = enricher.rows("customers", [{"customer_id": 5}, {"customer_id": 6}])
        assert [r["state"] for r in rows] == ["CA", "NY"]
        assert cache.stats().misses == 2 and cache.stats().hits == 0
        enricher.rows("customers", [{"customer_id": 6}])
        assert cache.stats().hits == 1
        with pytest.raises(EntityNotFound, match="customer_id=424242"):
            enricher.rows("customers", [{"customer_id": 5}, {"customer_id": 424242}])
        with pytest.raises(EntityNotFound, match="customer_id=424242"):  # absent: cached too
            enricher.rows("customers", [{"customer_id": 424242}])
        assert cache.stats().hits == 3
        with pytest.raises(InvalidInput, match="customer_id"):
            enricher.rows("customers", [{"client": 5}])
        with pytest.raises(EntityNotFound, match="does not bind"):
            enricher.rows("branches", [{"customer_id": 5}])
    finally:
        enricher.close()


def test_cached_rows_expire_and_changes_show_after_the_ttl(customers_url: str) -> None:
    enricher = Enricher({"customers": _customers(customers_url, ttl_seconds=0.3)})
    try:
        assert enricher.rows("customers", [{"customer_id": 9}])[0]["state"] == "CA"
        engine = create_engine(customers_url)
        with engine.begin() as connection:
            connection.execute(text("UPDATE customers SET state = 'TX' WHERE customer_id = 9"))
        engine.dispose()
        assert enricher.rows("customers", [{"customer_id": 9}])[0]["state"] == "CA"  # cached
        time.sleep(0.4)
        assert enricher.rows("customers", [{"customer_id": 9}])[0]["state"] == "TX"
    finally:
        enricher.close()


def test_the_cache_is_bounded_and_can_be_invalidated() -> None:
    now = [0.0]
    cache = EnrichmentCache(max_entries=3, clock=lambda: now[0])
    cache.put_many("s", 10, {(i,): {"i": i} for i in range(5)})
    found, missing = cache.get_many("s", [(0,), (1,), (4,)])
    assert found == {(4,): {"i": 4}} and missing == [(0,), (1,)]
    assert cache.stats().evictions == 2
    assert cache.invalidate("s", (4,)) == 1
    assert cache.invalidate() == 2
    cache.put_many("s", 10, {(7,): {"i": 7}})
    now[0] = 11.0
    assert cache.get_many("s", [(7,)]) == ({}, [(7,)])


def test_a_source_that_is_down_is_named(postgres: PostgresServer) -> None:
    url = postgres.create()
    postgres.drop(url)  # the database is gone: every connection fails
    source = _customers(url, timeout_seconds=1)
    try:
        with pytest.raises(FeatureSourceUnavailable, match="'customers' is unavailable") as caught:
            source.fetch([{"customer_id": 1}])
    finally:
        source.close()
    assert caught.value.source == "customers"
    unreachable = _customers(
        "postgresql+psycopg://modelport:modelport@127.0.0.1:1/postgres", timeout_seconds=1
    )
    try:
        with pytest.raises(FeatureSourceUnavailable):
            unreachable.fetch([{"customer_id": 1}])
    finally:
        unreachable.close()


def test_a_slow_source_times_out(postgres: PostgresServer) -> None:
    url = postgres.create()
    slow = SqlSource(
        SourceBinding(
            name="slow",
            url=url,
            keys=["customer_id"],
            query="SELECT pg_sleep(3), CAST(:customer_id AS INTEGER) AS customer_id",
            timeout_seconds=0.5,
        )
    )
    began = time.monotonic()
    try:
        with pytest.raises(FeatureSourceUnavailable, match="slow"):
            slow.fetch([{"customer_id": 1}])
    finally:
        slow.close()
        postgres.drop(url)
    assert time.monotonic() - began < 2.5


def test_a_source_reconnects_after_the_database_dropped_its_connections(
    postgres: PostgresServer,
) -> None:
    """Pooled connections are not pinged before use; one the server closed (a restart, an
    idle timeout) costs a retry on a fresh connection, not a failed request."""
    url = postgres.create()
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE customers (customer_id INTEGER, state TEXT)"))
        connection.execute(text("INSERT INTO customers VALUES (1, 'CA')"))
    engine.dispose()
    source = _customers(url)
    try:
        assert source.fetch([{"customer_id": 1}]) == {(1,): {"customer_id": 1, "state": "CA"}}
        admin = create_engine(postgres.url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            ended = connection.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": url.rsplit("/", 1)[1]},
            )
        admin.dispose()
        assert ended >= 1
        assert source.fetch([{"customer_id": 1}]) == {(1,): {"customer_id": 1, "state": "CA"}}
    finally:
        source.close()
        postgres.drop(url)


def test_a_key_the_database_refuses_fails_only_its_own_entity(postgres: PostgresServer) -> None:
    """A query source's CAST of "abc" fails the statement; the other keys fetched with it
    are fetched again one by one, so only the entity with the bad key is refused."""
    url = postgres.create()
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE customers (customer_id INTEGER, state TEXT)"))
        connection.execute(text("INSERT INTO customers VALUES (1, 'CA'), (2, 'NY')"))
    engine.dispose()
    source = SqlSource(
        SourceBinding(
            name="crm",
            url=url,
            keys=["customer_id"],
            query="SELECT state FROM customers WHERE customer_id = CAST(:customer_id AS INTEGER)",
        )
    )
    enricher = Enricher({"crm": source})
    try:
        fetched = enricher.fetch(source, [("1",), ("abc",), ("2",)])
        with pytest.raises(InvalidInput, match="do not fit source 'crm'"):
            enricher.rows("crm", [{"customer_id": "abc"}])
        rows = enricher.rows("crm", [{"customer_id": "2"}, {"customer_id": "1"}])
    finally:
        enricher.close()
        postgres.drop(url)
    assert fetched[("1",)] == {"state": "CA"} and fetched[("2",)] == {"state": "NY"}
    assert isinstance(fetched[("abc",)], InvalidInput)
    assert rows == [{"state": "NY"}, {"state": "CA"}]
