"""The dataplane's domain calls, without HTTP: a real registry (SQLite), real packages, a
real SQLite feature source, driven on a real event loop."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from modelport.errors import Forbidden, InvalidInput, ModelNotFound, VersionNotFound
from modelport.orchestrate import Enricher, FieldSource, OrchestrationSpec, SourceBinding, SqlSource
from modelport.package import open_package
from modelport.registry import Registry
from modelport.security.principals import ANONYMOUS, Principal
from modelport.serving import (
    Dataplane,
    EntityScore,
    LoadedModel,
    PredictResult,
    RequestRef,
    ScoreRequest,
    ServingService,
)
from modelport.serving.batching import BatchStats
from modelport.settings import Settings

MODEL = "loan-approval"
SOURCED = ["age", "annual_income"]
SPEC = OrchestrationSpec(
    entity=["customer_id"], inputs={name: FieldSource(source="people") for name in SOURCED}
)
Records = list[dict[str, Any]]


def principal(*scopes: str) -> Principal:
    return Principal("client", frozenset(scopes), "apikey")


class Heard:
    """A dataplane listener that writes down what it hears."""

    def __init__(self) -> None:
        self.loads: list[tuple[str, int]] = []
        self.batches: list[BatchStats] = []
        self.warnings: list[tuple[str, int, int]] = []

    def loaded(self, model: LoadedModel) -> None:
        self.loads.append((model.name, model.version))

    def unloaded(self, name: str, version: int) -> None:
        pass

    def batch(self, stats: BatchStats) -> None:
        self.batches.append(stats)

    def input_warnings(self, model: LoadedModel, records: int) -> None:
        self.warnings.append((model.name, model.version, records))


@pytest.fixture(scope="module")
def records(loan_package_path: Path) -> Records:
    """Complete reference rows as JSON records."""
    package = open_package(loan_package_path)
    rows = package.reference()[package.manifest.contract.names].astype(object)
    complete = [
        {str(k): v for k, v in row.items()}
        for row in rows.to_dict("records")
        if not any(isinstance(v, float) and math.isnan(v) for v in row.values())
    ]
    return list(json.loads(json.dumps(complete[:5])))


@pytest.fixture(scope="module")
def second_package_path(build_loan_version: Any) -> Path:
    return build_loan_version("refit", model__random_state=1, model__n_estimators=5)


@pytest.fixture
def deployed(
    tmp_path: Path, loan_package_path: Path, second_package_path: Path
) -> Iterator[Registry]:
    """The loan model: version 1 (production) and version 2, another fit."""
    with Registry.from_settings(Settings(home=tmp_path / "home")) as opened:
        opened.register(loan_package_path, alias="production")
        opened.register(second_package_path)
        yield opened


@pytest.fixture
def people(tmp_path: Path, records: Records) -> Enricher:
    """A feature source holding the sourced inputs of the records, by customer id 1, 2, ...
    (customer 99's age breaks the contract)."""
    url = f"sqlite:///{tmp_path / 'people.db'}"
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text("CREATE TABLE people (customer_id INTEGER, age REAL, annual_income REAL)")
        )
        for number, record in enumerate(records, start=1):
            connection.execute(
                text("INSERT INTO people VALUES (:id, :age, :income)"),
                {"id": number, "age": record["age"], "income": record["annual_income"]},
            )
        connection.execute(text("INSERT INTO people VALUES (99, -5, 50000)"))
    engine.dispose()
    binding = SourceBinding(name="people", url=url, table="people", keys=["customer_id"])
    return Enricher({"people": SqlSource(binding)})


@pytest.fixture
def heard() -> Heard:
    return Heard()


@pytest.fixture
def dataplane(deployed: Registry, people: Enricher, heard: Heard) -> Iterator[Dataplane]:
    service = ServingService(deployed, poll_seconds=60)
    plane = Dataplane(service, enricher=people, listener=heard)
    service.sync()
    yield plane
    plane.stop()


def run(call: Any) -> Any:
    return asyncio.run(call)


def test_predict_names_the_version_that_answered(dataplane: Dataplane, records: Records) -> None:
    one = run(dataplane.predict(RequestRef(MODEL), records, ANONYMOUS))
    two = run(dataplane.predict(RequestRef(MODEL, version="2"), records, ANONYMOUS))
    assert isinstance(one, PredictResult)
    assert (one.name, one.version, two.version) == (MODEL, 1, 2)
    assert len(one.answers) == len(two.answers) == len(records)
    assert one.answers != two.answers, "two different models gave the same answers"
    assert one.warnings == {}
    again = run(dataplane.predict(RequestRef(MODEL, alias="production"), records, ANONYMOUS))
    assert again.answers == one.answers


def test_a_resolved_version_is_used_as_given(dataplane: Dataplane, records: Records) -> None:
    ref = RequestRef(MODEL, version=2)
    assert dataplane.cached(ref, ANONYMOUS) is None, "version 2 is loaded only when asked for"
    model = run(dataplane.resolve(ref, ANONYMOUS))
    assert dataplane.cached(ref, ANONYMOUS) is model
    result = run(dataplane.predict(ref, records, ANONYMOUS, resolved=model))
    assert result.model is model


def test_resolution_refuses_in_order(dataplane: Dataplane) -> None:
    with pytest.raises(ModelNotFound):
        run(dataplane.resolve(RequestRef("no-such-model"), ANONYMOUS))
    with pytest.raises(ModelNotFound):
        run(dataplane.resolve(RequestRef("Not A Name"), ANONYMOUS))
    with pytest.raises(VersionNotFound):
        run(dataplane.resolve(RequestRef(MODEL, version="1.5"), ANONYMOUS))


def test_credentials_are_checked_before_the_model_is_looked_up(
    dataplane: Dataplane, records: Records
) -> None:
    other = principal("predict:other-model")
    for name in (MODEL, "no-such-model"):  # the same refusal: nothing said about existence
        with pytest.raises(Forbidden, match=f"predict:{name}"):
            dataplane.cached(RequestRef(name), other)
        with pytest.raises(Forbidden):
            run(dataplane.predict(RequestRef(name), records, other))
        with pytest.raises(Forbidden):
            dataplane.model_metadata(name, other)
    with pytest.raises(Forbidden):
        dataplane.cached(RequestRef(MODEL), None)
    allowed = run(dataplane.predict(RequestRef(MODEL), records, principal(f"predict:{MODEL}")))
    assert allowed.version == 1


def test_listings_and_readiness_show_only_what_the_caller_may_use(dataplane: Dataplane) -> None:
    assert [m["name"] for m in dataplane.models(ANONYMOUS)] == [MODEL]
    assert dataplane.models(principal("predict:other-model")) == []
    assert dataplane.models(None) == []
    assert dataplane.model_metadata(MODEL, principal("predict:*"))["aliases"] == {"production": 1}
    ready = dataplane.readiness(principal("metrics"))
    assert ready.ready
    assert ready.serving == {MODEL: {"production": 1}}
    assert dataplane.readiness(principal("predict:other-model")).serving == {}
    assert dataplane.readiness(None).serving == {}


def test_a_contract_refusal_names_record_and_field(dataplane: Dataplane, records: Records) -> None:
    bad = [records[0], {**records[1], "age": "old"}]
    with pytest.raises(InvalidInput) as refused:
        run(dataplane.predict(RequestRef(MODEL), bad, ANONYMOUS))
    assert [(e.record, e.field) for e in refused.value.errors] == [(1, "age")]


def test_the_listener_hears_loads_and_batches(
    dataplane: Dataplane, heard: Heard, records: Records
) -> None:
    assert (MODEL, 1) in heard.loads
    run(dataplane.predict(RequestRef(MODEL), records, ANONYMOUS))
    assert [(b.model.version, b.requests, b.rows) for b in heard.batches] == [(1, 1, 5)]
    assert heard.warnings == []


class WarningBatcher:
    """Stands in for the micro-batcher: answers every record, with warnings on some."""

    def __init__(self, warned: set[int]) -> None:
        self.warned = warned

    def for_model(self, model: LoadedModel) -> WarningBatcher:
        return self

    async def predict(self, records: Sequence[Any]) -> Records:
        warning = [{"field": "annual_income", "reason": "above the expected maximum"}]
        return [
            {"score": 0.5, **({"warnings": warning} if i in self.warned else {})}
            for i in range(len(records))
        ]


def test_records_with_warnings_are_counted_per_version(
    dataplane: Dataplane,
    by_customer: LoadedModel,
    heard: Heard,
    records: Records,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(dataplane, "batchers", WarningBatcher({0, 3}))
    result = run(dataplane.predict(RequestRef(MODEL), records, ANONYMOUS))
    assert sorted(result.warnings) == [0, 3]
    assert result.warnings[3][0]["field"] == "annual_income"
    monkeypatch.setattr(dataplane, "batchers", WarningBatcher(set()))
    run(dataplane.predict(RequestRef(MODEL), records, ANONYMOUS))
    monkeypatch.setattr(dataplane, "batchers", WarningBatcher({0}))
    scored = run(
        dataplane.score_entity(
            ScoreRequest(MODEL, entity={"customer_id": 1}), ANONYMOUS, resolved=by_customer
        )
    )
    assert scored.warnings == [{"field": "annual_income", "reason": "above the expected maximum"}]
    assert heard.warnings == [(MODEL, 1, 2), (MODEL, 1, 1)]


@pytest.fixture
def by_customer(dataplane: Dataplane) -> LoadedModel:
    """Version 1, as if packaged with the spec: age and income from the people source."""
    loaded = dataplane.cached(RequestRef(MODEL), ANONYMOUS)
    assert loaded is not None
    return dataclasses.replace(loaded, orchestration=SPEC)


def test_score_by_entity_is_predict_on_the_joined_record(
    dataplane: Dataplane, by_customer: LoadedModel, records: Records
) -> None:
    record = records[2]
    inputs = {k: v for k, v in record.items() if k not in SOURCED}
    nested = ScoreRequest(MODEL, entity={"customer_id": 3}, inputs=inputs)
    flat = ScoreRequest(MODEL, inputs={"customer_id": 3, **inputs})
    for request in (nested, flat):
        scored = run(dataplane.score_entity(request, ANONYMOUS, resolved=by_customer))
        assert isinstance(scored, EntityScore)
        assert scored.entity == {"customer_id": 3}
        assert scored.record == record
        predicted = run(dataplane.predict(RequestRef(MODEL), [record], ANONYMOUS))
        assert scored.answer == predicted.answers[0]
        assert scored.score == scored.answer.get("score", scored.answer.get("value"))
        assert scored.version == 1


def test_score_by_entity_refusals(
    dataplane: Dataplane, by_customer: LoadedModel, records: Records
) -> None:
    inputs = {k: v for k, v in records[0].items() if k not in SOURCED}

    def score(entity: dict[str, Any], model: LoadedModel | None = by_customer) -> EntityScore:
        request = ScoreRequest(MODEL, entity=entity, inputs=inputs)
        return run(dataplane.score_entity(request, ANONYMOUS, resolved=model))  # type: ignore[no-any-return]

    with pytest.raises(InvalidInput) as refused:
        score({"customer_id": 99})
    (error,) = refused.value.errors
    assert error.field == "age"
    assert error.reason.endswith("(the value in source 'people' for this entity)")
    with pytest.raises(InvalidInput, match="identifies entities by customer_id"):
        score({"client": 1})
    with pytest.raises(InvalidInput, match="does not declare where its inputs come from"):
        score({"customer_id": 1}, dataplane.cached(RequestRef(MODEL), ANONYMOUS))
    with pytest.raises(Forbidden):
        run(
            dataplane.score_entity(
                ScoreRequest(MODEL, entity={"customer_id": 1}), principal("predict:other")
            )
        )
