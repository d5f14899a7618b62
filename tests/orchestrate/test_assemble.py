"""Records assembled from a real SQLite source and request inputs."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from modelport.errors import EntityNotFound, InvalidInput
from modelport.orchestrate import Enricher, SourceBinding, SqlSource
from modelport.orchestrate.assemble import assemble
from modelport.orchestrate.spec import FieldSource, OrchestrationSpec

SPEC = OrchestrationSpec(
    entity=["customer_id"],
    inputs={
        "date_of_birth": FieldSource(source="customers"),
        "home_lat": FieldSource(source="customers", column="latitude"),
        "segment": FieldSource(source="segments"),
    },
)


@pytest.fixture
def enricher(tmp_path: Path) -> Enricher:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text("CREATE TABLE customers (customer_id INTEGER, date_of_birth TEXT, latitude REAL)")
        )
        connection.execute(text("CREATE TABLE segments (customer_id INTEGER, segment TEXT)"))
        connection.execute(
            text("INSERT INTO customers VALUES (1, '1980-02-29', 40.7), (2, '1999-12-31', 34.1)")
        )
        connection.execute(text("INSERT INTO segments VALUES (1, 'gold'), (2, 'silver')"))
    engine.dispose()
    sources = {
        name: SqlSource(SourceBinding(name=name, url=url, table=name, keys=["customer_id"]))
        for name in ("customers", "segments")
    }
    return Enricher(sources)


def test_sourced_inputs_join_the_request_inputs(enricher: Enricher) -> None:
    records = assemble(
        SPEC,
        enricher,
        [{"customer_id": 2}, {"customer_id": 1}],
        [{"loan_amount": 5000}, {"loan_amount": 900}],
    )
    assert records == [
        {"loan_amount": 5000, "date_of_birth": "1999-12-31", "home_lat": 34.1, "segment": "silver"},
        {"loan_amount": 900, "date_of_birth": "1980-02-29", "home_lat": 40.7, "segment": "gold"},
    ]
    assert enricher.cache.stats().misses == 4  # two sources x two entities, one fetch each


def test_a_sourced_field_sent_by_the_caller_is_refused(enricher: Enricher) -> None:
    with pytest.raises(InvalidInput) as caught:
        assemble(SPEC, enricher, [{"customer_id": 1}], [{"segment": "platinum"}])
    assert [(e.field, e.record) for e in caught.value.errors] == [("segment", 0)]


def test_an_unknown_entity_is_named(enricher: Enricher) -> None:
    with pytest.raises(EntityNotFound, match="customer_id=3"):
        assemble(SPEC, enricher, [{"customer_id": 1}, {"customer_id": 3}])


def test_a_spec_cannot_source_an_entity_key() -> None:
    with pytest.raises(ValueError, match="entity keys"):
        OrchestrationSpec(entity=["customer_id"], inputs={"customer_id": FieldSource(source="x")})
