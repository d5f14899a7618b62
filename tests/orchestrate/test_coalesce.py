"""Enrichment on the event loop: concurrent cache misses fetched together, on real databases."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, text

from databases import PostgresServer
from modelport.errors import EntityNotFound, FeatureSourceUnavailable
from modelport.orchestrate import (
    CoalescingEnricher,
    Enricher,
    EnrichmentCache,
    EntityKey,
    SourceBinding,
    SqlSource,
)


@pytest.fixture
def customers_url(tmp_path: Path, database_url: str | None) -> str:
    url = database_url or f"sqlite:///{tmp_path / 'customers.db'}"
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text("CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, state TEXT)")
        )
        connection.execute(
            text("INSERT INTO customers VALUES (:i, :s)"),
            [{"i": i, "s": "CA" if i % 2 else "NY"} for i in range(1, 101)],
        )
    engine.dispose()
    return url


def _source(url: str, **options: Any) -> SqlSource:
    binding = SourceBinding(
        name="customers", url=url, table="customers", keys=["customer_id"], **options
    )
    return SqlSource(binding)


@pytest.fixture
def selects() -> Iterator[list[str]]:
    """Every SELECT any engine runs while the test does."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    yield seen
    event.remove(Engine, "before_cursor_execute", record)


def _entities(*ids: int) -> list[dict[str, int]]:
    return [{"customer_id": i} for i in ids]


def test_concurrent_misses_are_fetched_in_one_query(customers_url: str, selects: list[str]) -> None:
    enricher = Enricher({"customers": _source(customers_url)})
    coalescing = CoalescingEnricher(enricher)

    async def many() -> list[list[dict[str, Any]]]:
        return await asyncio.gather(
            *(coalescing.rows("customers", _entities(i)) for i in range(1, 21))
        )

    try:
        enricher.sources["customers"].key_types()  # read once per source, on first use
        selects.clear()
        answers = asyncio.run(many())
        concurrent_selects = len(selects)
        expected = [enricher.rows("customers", _entities(i)) for i in range(1, 21)]  # cached now
    finally:
        enricher.close()
    assert concurrent_selects == 1  # twenty requests, one query
    assert answers == expected
    assert [row["state"] for (row,) in answers] == ["CA" if i % 2 else "NY" for i in range(1, 21)]
    stats = enricher.cache.stats()
    assert (stats.misses, stats.hits) == (20, 20)


class _GatedEnricher(Enricher):
    """Fetches only once the test opens the gate, and keeps the keys of every fetch."""

    def __init__(self, sources: Mapping[str, SqlSource]) -> None:
        super().__init__(sources, EnrichmentCache())
        for source in sources.values():
            source.key_types()  # read on a source's first use; here, before the scenario
        self.gate = threading.Event()
        self.fetched: list[list[EntityKey]] = []

    def fetch(self, source: SqlSource, keys: Sequence[EntityKey]) -> Any:
        self.fetched.append(list(keys))
        if not self.gate.wait(10):
            raise TimeoutError("the test never opened the gate")
        return super().fetch(source, keys)


def test_keys_asked_during_a_fetch_wait_for_the_next_one_and_nothing_is_fetched_twice(
    customers_url: str,
) -> None:
    enricher = _GatedEnricher({"customers": _source(customers_url)})
    coalescing = CoalescingEnricher(enricher)

    async def scenario() -> list[Any]:
        first = asyncio.ensure_future(coalescing.rows("customers", _entities(1, 2)))
        while not enricher.fetched:  # the first query is under way
            await asyncio.sleep(0.001)
        later = [
            asyncio.ensure_future(coalescing.rows("customers", _entities(2))),  # in flight
            asyncio.ensure_future(coalescing.rows("customers", _entities(2, 3))),
            asyncio.ensure_future(coalescing.rows("customers", _entities(4, 3))),
        ]
        await asyncio.sleep(0.01)
        enricher.gate.set()
        return await asyncio.gather(first, *later)

    try:
        answers = asyncio.run(scenario())
    finally:
        enricher.close()
    assert enricher.fetched == [[(1,), (2,)], [(3,), (4,)]]
    assert [[row["customer_id"] for row in rows] for rows in answers] == [
        [1, 2],
        [2],
        [2, 3],
        [4, 3],
    ]


def test_a_client_that_goes_away_does_not_cancel_its_neighbours_query(customers_url: str) -> None:
    enricher = _GatedEnricher({"customers": _source(customers_url)})
    coalescing = CoalescingEnricher(enricher)

    async def scenario() -> list[dict[str, Any]]:
        leaving = asyncio.ensure_future(coalescing.rows("customers", _entities(5)))
        staying = asyncio.ensure_future(coalescing.rows("customers", _entities(5, 6)))
        while not enricher.fetched:
            await asyncio.sleep(0.001)
        leaving.cancel()
        await asyncio.sleep(0.01)
        enricher.gate.set()
        return await staying

    try:
        rows = asyncio.run(scenario())
    finally:
        enricher.close()
    assert [row["customer_id"] for row in rows] == [5, 6]
    assert enricher.fetched == [[(5,), (6,)]]


def test_unknown_entities_fail_only_their_own_requests(customers_url: str) -> None:
    enricher = Enricher({"customers": _source(customers_url)})
    coalescing = CoalescingEnricher(enricher)

    async def both() -> list[Any]:
        return await asyncio.gather(
            coalescing.rows("customers", _entities(7)),
            coalescing.rows("customers", _entities(5000)),
            return_exceptions=True,
        )

    try:
        found, missing = asyncio.run(both())
    finally:
        enricher.close()
    assert found == [{"customer_id": 7, "state": "CA"}]
    assert isinstance(missing, EntityNotFound)
    assert "customer_id=5000" in str(missing)


def test_every_request_waiting_on_a_source_that_is_down_hears_it(
    postgres: PostgresServer,
) -> None:
    url = postgres.create()
    postgres.drop(url)
    enricher = Enricher({"customers": _source(url, timeout_seconds=1)})
    coalescing = CoalescingEnricher(enricher)

    async def many() -> list[Any]:
        return await asyncio.gather(
            *(coalescing.rows("customers", _entities(i)) for i in range(1, 6)),
            return_exceptions=True,
        )

    try:
        answers = asyncio.run(many())
    finally:
        enricher.close()
    assert all(isinstance(a, FeatureSourceUnavailable) for a in answers), answers
    assert all(a.source == "customers" for a in answers)
