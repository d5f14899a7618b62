"""Enrichment-cache invalidations recorded in the registry (SQLite and PostgreSQL), the
``modelport cache invalidate`` command, and what an enricher drops for each kind."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from modelport.cli.main import app
from modelport.errors import InvalidInput
from modelport.orchestrate import Enricher, SourceBinding, SqlSource
from modelport.registry import Registry


def test_invalidations_are_read_in_order_after_the_last_seen(registry: Registry) -> None:
    latest, found = registry.invalidations.since(None)
    assert (latest, found) == (0, [])  # a starting server only learns where to start
    first = registry.invalidations.add(actor="ops")
    second = registry.invalidations.add("customers", {"customer_id": 17}, actor="ops")
    latest, found = registry.invalidations.since(0)
    assert latest == second.id > first.id
    assert [(i.source, i.entity, i.actor) for i in found] == [
        (None, None, "ops"),
        ("customers", {"customer_id": 17}, "ops"),
    ]
    assert registry.invalidations.since(latest) == (latest, [])
    assert registry.invalidations.since(None) == (latest, [])


@pytest.mark.parametrize(
    ("source", "entity", "message"),
    [
        ("Customers; DROP", None, "not a source name"),
        ("customers", {"id); --": 1}, "not an entity key column name"),
        ("customers", {"customer_id": [1, 2]}, "give a string or a number"),
    ],
)
def test_a_malformed_invalidation_is_refused(
    registry: Registry, source: str, entity: dict[str, object] | None, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        registry.invalidations.add(source, entity)
    assert registry.invalidations.since(0) == (0, [])


def test_the_cli_records_an_invalidation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, registry_settings: object
) -> None:
    home = tmp_path / "modelport-home"
    monkeypatch.setenv("MODELPORT_HOME", str(home))
    database_url = getattr(registry_settings, "database_url", None)
    if database_url:
        monkeypatch.setenv("MODELPORT_DATABASE_URL", database_url)
    else:
        monkeypatch.delenv("MODELPORT_DATABASE_URL", raising=False)
    runner = CliRunner()
    done = runner.invoke(
        app, ["cache", "invalidate", "--source", "customers", "-e", "customer_id=17"]
    )
    assert done.exit_code == 0, done.output
    assert "invalidated source customers, entity customer_id=17" in done.output
    assert runner.invoke(app, ["cache", "invalidate", "--entity", "code=ab"]).exit_code == 0
    assert runner.invoke(app, ["cache", "invalidate"]).exit_code == 0
    bad = runner.invoke(app, ["cache", "invalidate", "--entity", "customer_id"])
    assert bad.exit_code == 2 and "KEY=VALUE" in bad.output
    with Registry.from_settings(registry_settings) as registry:  # type: ignore[arg-type]
        _, found = registry.invalidations.since(0)
    assert [(i.source, i.entity) for i in found] == [
        ("customers", {"customer_id": 17}),  # a number, as a JSON request sends it
        (None, {"code": "ab"}),
        (None, None),
    ]


def test_an_enricher_drops_what_an_invalidation_names(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE customers (customer_id INTEGER, state TEXT)"))
        connection.execute(text("CREATE TABLE branches (branch_id INTEGER, city TEXT)"))
        connection.execute(text("INSERT INTO customers VALUES (1, 'CA'), (2, 'NY')"))
        connection.execute(text("INSERT INTO branches VALUES (1, 'Austin')"))
    engine.dispose()

    def source(name: str, key: str) -> SqlSource:
        return SqlSource(SourceBinding(name=name, url=url, table=name, keys=[key]))

    enricher = Enricher(
        {
            "customers": source("customers", "customer_id"),
            "branches": source("branches", "branch_id"),
        }
    )

    def fill() -> None:
        enricher.rows("customers", [{"customer_id": 1}, {"customer_id": 2}])
        enricher.rows("branches", [{"branch_id": 1}])

    try:
        fill()
        assert enricher.invalidate("customers", {"customer_id": 1}) == 1
        assert enricher.invalidate(None, {"customer_id": 2}) == 1  # every source keyed by it
        assert enricher.invalidate(None, {"customer_id": 2}) == 0
        assert enricher.cache.stats().entries == 1  # the branch
        fill()
        assert enricher.invalidate("branches") == 1
        assert enricher.invalidate() == 2
        assert enricher.cache.stats().entries == 0
    finally:
        enricher.close()


def test_a_server_applies_each_new_invalidation_once(registry: Registry) -> None:
    """What was recorded before the server started does not apply (it has nothing cached);
    every later invalidation reaches every listener once, even past a failing listener."""
    from modelport.serving import ServingService

    registry.invalidations.add("customers", actor="before")
    service = ServingService(registry)
    heard: list[tuple[str | None, dict[str, object] | None]] = []

    def broken(done: object) -> None:
        raise RuntimeError("a listener that fails")

    service.invalidation_listeners += [broken, lambda d: heard.append((d.source, d.entity))]
    service.sync()
    assert heard == []
    registry.invalidations.add("customers", {"customer_id": 17})
    registry.invalidations.add()
    service.sync()
    service.sync()  # read again a little way back, applied once
    assert heard == [("customers", {"customer_id": 17}), (None, None)]
