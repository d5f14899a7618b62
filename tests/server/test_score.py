"""POST /v1/score over real HTTP: inputs looked up in a real SQLite or PostgreSQL customer
table, age derived from the date of birth, a decision, and the failures callers must be
able to tell apart (unknown entity, source down, source slow)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.pipeline import Pipeline
from sqlalchemy import create_engine
from typer.testing import CliRunner

import modelport as mp
from customer_training import train_customer_pipeline
from databases import PostgresServer
from live_server import Deployment, LiveServer, refusal, start_server, stop_server
from modelport.cli.main import app as cli
from modelport.datasets import customer_loan_applications, customers
from modelport.orchestrate import FieldSource, OrchestrationSpec
from modelport.predlog import read_predictions
from modelport.registry import Registry
from modelport.settings import Settings

MODEL = "loan-by-customer"
RAW = ["date_of_birth", "account_balance", "state", "loan_amount", "purpose"]
RULES = "score>=0.7:accept, score>=0.4:refer, else:decline"
SPEC = OrchestrationSpec(
    entity=["customer_id"],
    inputs={
        name: FieldSource(source="customers")
        for name in ("date_of_birth", "account_balance", "state")
    },
)


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return customers(300, seed=4)


@pytest.fixture(scope="module")
def pipeline(table: pd.DataFrame) -> Pipeline:
    frame = customer_loan_applications(table, 2_000, seed=4).merge(table, on="customer_id")
    return train_customer_pipeline(frame)


@pytest.fixture(scope="module")
def package_path(
    tmp_path_factory: pytest.TempPathFactory, pipeline: Pipeline, table: pd.DataFrame
) -> Path:
    sample = customer_loan_applications(table, 500, seed=5).merge(table, on="customer_id")
    path = tmp_path_factory.mktemp("score") / MODEL
    mp.package(pipeline, sample[RAW], name=MODEL, path=path, decisions=RULES, orchestration=SPEC)
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def crm_url(request: pytest.FixtureRequest, tmp_path: Path, table: pd.DataFrame) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'crm.db'}"
        server = None
    else:
        server = request.getfixturevalue("postgres")
        url = server.create()
    engine = create_engine(url)
    table.to_sql("customers", engine, index=False)
    engine.dispose()
    yield url
    if server is not None:
        server.drop(url)


def _serve(
    tmp_path: Path,
    package_path: Path,
    sources: dict[str, object],
    extra_env: dict[str, str] | None = None,
) -> LiveServer:
    home = tmp_path / "home"
    registry = Registry.from_settings(Settings(home=home))
    registry.register(package_path, alias="production")
    registry.close()
    sources_file = tmp_path / "sources.yaml"
    sources_file.write_text(yaml.safe_dump(sources))
    env = {"MODELPORT_SOURCES_FILE": str(sources_file), **(extra_env or {})}
    return start_server(Deployment(home, None, registry), extra_env=env)


def _customers(url: str, **extra: object) -> dict[str, object]:
    return {"customers": {"url": url, "table": "customers", "keys": ["customer_id"], **extra}}


def test_score_by_customer_id_equals_the_pipeline_on_the_joined_row(
    tmp_path: Path, package_path: Path, pipeline: Pipeline, table: pd.DataFrame, crm_url: str
) -> None:
    log_url = f"sqlite:///{tmp_path / 'predictions.db'}"
    logging = {"MODELPORT_PREDICTION_LOG_ENABLED": "true", "MODELPORT_PREDICTION_LOG_URL": log_url}
    live = _serve(tmp_path, package_path, _customers(crm_url), logging)
    try:
        canonical = httpx.post(
            f"{live.url}/v1/score",
            json={
                "model": MODEL,
                "entity": {"customer_id": 17},
                "inputs": {"loan_amount": 9000, "purpose": "car"},
            },
            timeout=10,
        )
        hyphenated = httpx.post(
            f"{live.url}/v1/score",
            json={"model-id": MODEL, "customer-id": 17, "loan-amount": 9000, "purpose": "car"},
            timeout=10,
        )
        as_text = httpx.post(  # an id as text finds the same customer, on either database
            f"{live.url}/v1/score",
            json={"model-id": MODEL, "customer-id": "17", "loan-amount": 9000, "purpose": "car"},
            timeout=10,
        )
        unknown = httpx.post(
            f"{live.url}/v1/score",
            json={
                "model": MODEL,
                "entity": {"customer_id": 999999},
                "inputs": {"loan_amount": 1, "purpose": "car"},
            },
            timeout=10,
        )
        overriding = httpx.post(
            f"{live.url}/v1/score",
            json={
                "model": MODEL,
                "entity": {"customer_id": 17},
                "inputs": {"loan_amount": 1, "purpose": "car", "state": "NY"},
            },
            timeout=10,
        )
    finally:
        stop_server(live)
    assert canonical.status_code == 200, canonical.text
    body = canonical.json()
    row = table[table.customer_id == 17].assign(loan_amount=9000.0, purpose="car")[RAW]
    expected = float(pipeline.predict_proba(row)[0, 1])
    assert body["score"] == pytest.approx(expected, abs=1e-6)
    assert body["decision"] == (
        "accept" if expected >= 0.7 else "refer" if expected >= 0.4 else "decline"
    )
    assert body["rule"]["text"] and body["confidence"]["probability"] >= 0.5
    assert body["model"] == {"name": MODEL, "version": 1}
    assert body["entity"] == {"customer_id": 17}
    assert hyphenated.status_code == 200 and hyphenated.json()["score"] == body["score"]
    assert as_text.status_code == 200 and as_text.json()["score"] == body["score"]
    assert unknown.status_code == 404 and unknown.json()["code"] == "entity_not_found"
    assert "999999" in unknown.json()["message"]
    assert overriding.status_code == 422 and overriding.json()["errors"][0]["field"] == "state"
    logged = read_predictions(log_url)
    assert len(logged) == 3  # the three answered requests; refusals are not predictions
    record = next(r for r in logged if r.request_id == canonical.headers["x-request-id"])
    assert record.entity == {"customer_id": 17} and record.decision == body["decision"]
    assert record.inputs["date_of_birth"] == table[table.customer_id == 17].date_of_birth.item()


def test_a_source_that_goes_down_is_a_503_naming_it(
    tmp_path: Path, package_path: Path, postgres: PostgresServer, table: pd.DataFrame
) -> None:
    url = postgres.create()
    engine = create_engine(url)
    table.to_sql("customers", engine, index=False)
    engine.dispose()
    live = _serve(tmp_path, package_path, _customers(url, timeout_seconds=1, ttl_seconds=0))
    request = {
        "model": MODEL,
        "entity": {"customer_id": 3},
        "inputs": {"loan_amount": 900, "purpose": "car"},
    }
    try:
        assert httpx.post(f"{live.url}/v1/score", json=request, timeout=10).status_code == 200
        postgres.drop(url)  # the database disappears under the running server
        down = httpx.post(f"{live.url}/v1/score", json=request, timeout=10)
    finally:
        stop_server(live)
    assert down.status_code == 503, down.text
    assert down.json()["code"] == "feature_source_unavailable"
    assert "customers" in down.json()["message"]


def test_a_slow_source_times_out_with_a_503(
    tmp_path: Path, package_path: Path, postgres: PostgresServer
) -> None:
    """The source's query sleeps 30 s, longer than the client waits (10 s): only the
    source's own timeout (0.5 s, PostgreSQL's statement timeout) can answer in time."""
    url = postgres.create()
    slow = {
        "customers": {
            "url": url,
            "keys": ["customer_id"],
            "query": "SELECT pg_sleep(30), '1980-01-01' AS date_of_birth, 10.0 AS account_balance,"
            " 'NY' AS state WHERE CAST(:customer_id AS INTEGER) > 0",
            "timeout_seconds": 0.5,
        }
    }
    live = _serve(tmp_path, package_path, slow)
    request = {
        "model": MODEL,
        "entity": {"customer_id": 3},
        "inputs": {"loan_amount": 900, "purpose": "car"},
    }
    try:
        answer = httpx.post(f"{live.url}/v1/score", json=request, timeout=10)
    finally:
        stop_server(live)
        postgres.drop(url)
    assert answer.status_code == 503 and answer.json()["code"] == "feature_source_unavailable"
    assert "'customers' is unavailable or too slow" in answer.json()["message"]
    assert "statement timeout" in live.log.read_text()  # the log says why: the source's limit


def test_a_request_past_the_servers_time_limit_is_a_503_and_the_server_goes_on(
    tmp_path: Path, package_path: Path, postgres: PostgresServer
) -> None:
    """The source would answer within its own timeout (60 s), but only after 30 s, longer
    than the client waits (10 s): the request's limit (MODELPORT_REQUEST_TIMEOUT_SECONDS=1)
    must answer first."""
    url = postgres.create()
    slow = {
        "customers": {
            "url": url,
            "keys": ["customer_id"],
            "query": "SELECT pg_sleep(30), '1980-01-01' AS date_of_birth, 10.0 AS account_balance,"
            " 'NY' AS state WHERE CAST(:customer_id AS INTEGER) > 0",
            "timeout_seconds": 60,
        }
    }
    live = _serve(tmp_path, package_path, slow, {"MODELPORT_REQUEST_TIMEOUT_SECONDS": "1"})
    request = {
        "model": MODEL,
        "entity": {"customer_id": 3},
        "inputs": {"loan_amount": 900, "purpose": "car"},
    }
    try:
        answer = httpx.post(f"{live.url}/v1/score", json=request, timeout=10)
        alive = httpx.get(f"{live.url}/healthz", timeout=5).status_code
    finally:
        postgres.drop(url)  # first: ends the sleeping query, so the server stops at once
        stop_server(live)
    body = refusal(answer, 503, "request_timeout")
    assert "try again" in body["message"]
    assert alive == 200


def test_a_sourced_value_outside_the_contract_is_refused_naming_its_source(
    tmp_path: Path, package_path: Path, crm_url: str
) -> None:
    engine = create_engine(crm_url)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "UPDATE customers SET account_balance = -250 WHERE customer_id = 9"
        )
    engine.dispose()
    live = _serve(tmp_path, package_path, _customers(crm_url))
    body = {
        "model": MODEL,
        "entity": {"customer_id": 9},
        "inputs": {"loan_amount": 900, "purpose": "car"},
    }
    try:
        refused = httpx.post(f"{live.url}/v1/score", json=body, timeout=10)
    finally:
        stop_server(live)
    assert refused.status_code == 422, refused.text
    assert refused.json()["message"] == "the entity's data does not match the model's contract"
    (error,) = refused.json()["errors"]
    assert error["field"] == "account_balance"
    assert error["reason"].startswith("-250 is below the minimum 0")
    assert error["reason"].endswith("(the value in source 'customers' for this entity)")


def test_score_requests_are_checked(tmp_path: Path, package_path: Path, crm_url: str) -> None:
    live = _serve(tmp_path, package_path, _customers(crm_url))
    try:
        post = lambda body: httpx.post(f"{live.url}/v1/score", content=body, timeout=10)  # noqa: E731
        cases = {
            b"not json": 400,
            b"[1, 2]": 400,
            b'{"model": "loan-by-customer"}': 400,
            b'{"model": "loan-by-customer", "entity": {"client": 1}}': 422,
            b'{"model": "nope", "entity": {"customer_id": 1}}': 404,
            b'{"model": "loan-by-customer", "entity": {"customer_id": 1}, "extra": 1}': 400,
            # keys typed like the table's integer column: never sent to the database as text
            b'{"model": "loan-by-customer", "entity": {"customer_id": "abc"}}': 422,
            b'{"model": "loan-by-customer", "entity": {"customer_id": [1]}}': 422,
            b'{"model": "loan-by-customer", "entity": {"customer_id": true}}': 422,
            b'{"model": "loan-by-customer", "entity": {"customer_id": 1.5}}': 422,
        }
        answers = {body: post(body) for body in cases}
    finally:
        stop_server(live)
    for body, status in cases.items():
        assert answers[body].status_code == status, (body, answers[body].text)
        if status == 422 and b'"customer_id": 1' not in body:
            assert answers[body].json()["errors"][0]["field"] == "customer_id"
    assert np.all([a.json()["success"] is False for a in answers.values()])


def test_cached_rows_expire_over_http(tmp_path: Path, package_path: Path, crm_url: str) -> None:
    """A changed row is not seen while cached, and is seen once its TTL has passed; the
    prediction log shows which balance each answer used."""
    log_url = f"sqlite:///{tmp_path / 'predictions.db'}"
    logging = {"MODELPORT_PREDICTION_LOG_ENABLED": "true", "MODELPORT_PREDICTION_LOG_URL": log_url}
    live = _serve(tmp_path, package_path, _customers(crm_url, ttl_seconds=1.0), logging)
    request = {
        "model": MODEL,
        "entity": {"customer_id": 8},
        "inputs": {"loan_amount": 900, "purpose": "car"},
    }
    ids = []
    try:
        ids.append(
            httpx.post(f"{live.url}/v1/score", json=request, timeout=10).headers["x-request-id"]
        )
        engine = create_engine(crm_url)
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "UPDATE customers SET account_balance = 123.0 WHERE customer_id = 8"
            )
        engine.dispose()
        ids.append(
            httpx.post(f"{live.url}/v1/score", json=request, timeout=10).headers["x-request-id"]
        )
        time.sleep(1.2)
        ids.append(
            httpx.post(f"{live.url}/v1/score", json=request, timeout=10).headers["x-request-id"]
        )
        metrics = httpx.get(f"{live.url}/metrics", timeout=10).text
    finally:
        stop_server(live)
    balance = {r.request_id: r.inputs["account_balance"] for r in read_predictions(log_url)}
    assert balance[ids[0]] == balance[ids[1]] != 123.0  # the second answer came from the cache
    assert balance[ids[2]] == 123.0  # after the TTL the change is seen
    assert 'modelport_enrichment_cache_lookups_total{result="hit"} 1.0' in metrics
    assert 'modelport_enrichment_cache_lookups_total{result="miss"} 2.0' in metrics


def test_concurrent_scores_are_right_counted_and_documented(
    tmp_path: Path, package_path: Path, pipeline: Pipeline, table: pd.DataFrame, crm_url: str
) -> None:
    """Thirty-two clients at once, every customer a cache miss: each answer is still its own
    customer's (misses are fetched together, records scored in shared batches)."""
    live = _serve(tmp_path, package_path, _customers(crm_url))
    ids = list(range(40, 72))
    amounts = {i: 500.0 + 137 * i for i in ids}

    def score(customer: int) -> httpx.Response:
        body = {
            "model": MODEL,
            "entity": {"customer_id": customer},
            "inputs": {"loan_amount": amounts[customer], "purpose": "car"},
        }
        return httpx.post(f"{live.url}/v1/score", json=body, timeout=10)

    try:
        with ThreadPoolExecutor(16) as pool:
            answers = dict(zip(ids, pool.map(score, ids), strict=True))
        metrics = httpx.get(f"{live.url}/metrics", timeout=10).text
        document = httpx.get(f"{live.url}/openapi.json", timeout=10).json()
    finally:
        stop_server(live)
    assert {a.status_code for a in answers.values()} == {200}
    rows = table.set_index("customer_id").loc[ids].reset_index()
    rows = rows.assign(loan_amount=[amounts[i] for i in ids], purpose="car")
    expected = pipeline.predict_proba(rows[RAW])[:, 1]
    got = [answers[i].json()["score"] for i in ids]
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert [answers[i].json()["entity"] for i in ids] == [{"customer_id": i} for i in ids]
    counted = (
        f'modelport_requests_total{{endpoint="score",model="{MODEL}",status="200",version="1"}}'
        " 32.0"
    )
    assert counted in metrics
    assert 'modelport_enrichment_cache_lookups_total{result="miss"} 32.0' in metrics
    score_doc = document["paths"]["/v1/score"]["post"]
    assert score_doc["requestBody"]["content"]["application/json"]["schema"]["required"] == [
        "model",
        "entity",
    ]
    assert {"404", "422", "503"} <= set(score_doc["responses"])
    # the model's record as callers send it: the date of birth its pre-step reads, not age
    record = document["components"]["schemas"][f"{MODEL}.v1.Record"]
    assert record["properties"]["date_of_birth"]["format"] == "date"
    assert "age" not in record["properties"]
    assert "date_of_birth" in record["required"]


def test_an_invalidation_reaches_every_server_within_its_poll(
    tmp_path: Path, package_path: Path, crm_url: str
) -> None:
    """Two servers sharing one registry cache customer 8 for an hour; the balance changes;
    `modelport cache invalidate` (and the admin API) make both see it within seconds."""
    home = tmp_path / "home"
    registry = Registry.from_settings(Settings(home=home))
    registry.register(package_path, alias="production")
    sources_file = tmp_path / "sources.yaml"
    sources_file.write_text(yaml.safe_dump(_customers(crm_url, ttl_seconds=3600)))
    deployment = Deployment(home, None, registry)
    logs = [f"sqlite:///{tmp_path / f'predictions-{i}.db'}" for i in range(2)]
    servers = [
        start_server(
            deployment,
            poll_seconds=1.0,
            extra_env={
                "MODELPORT_SOURCES_FILE": str(sources_file),
                "MODELPORT_PREDICTION_LOG_ENABLED": "true",
                "MODELPORT_PREDICTION_LOG_URL": log,
                "MODELPORT_ADMIN_API": "true" if i == 0 else "false",
            },
        )
        for i, log in enumerate(logs)
    ]
    body = {
        "model": MODEL,
        "entity": {"customer_id": 8},
        "inputs": {"loan_amount": 900, "purpose": "car"},
    }

    def balances() -> list[float]:
        """The balance each server scored customer 8 with just now (from its prediction log)."""
        ids = []
        for live in servers:
            answer = httpx.post(f"{live.url}/v1/score", json=body, timeout=10)
            assert answer.status_code == 200, answer.text
            ids.append(answer.headers["x-request-id"])
        found = []
        for log, request_id in zip(logs, ids, strict=True):
            deadline = time.monotonic() + 5
            while True:  # the log writes in the background, within a second
                logged = {r.request_id: r for r in read_predictions(log)}
                if request_id in logged or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            found.append(logged[request_id].inputs["account_balance"])
        return found

    def change_balance(value: float) -> None:
        engine = create_engine(crm_url)
        with engine.begin() as connection:
            connection.exec_driver_sql(
                f"UPDATE customers SET account_balance = {value} WHERE customer_id = 8"
            )
        engine.dispose()

    def seen_within(value: float, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if balances() == [value, value]:
                return True
            time.sleep(0.2)
        return False

    try:
        before = balances()
        change_balance(123.0)
        assert balances() == before  # cached for an hour
        env = {"MODELPORT_HOME": str(home)}
        done = CliRunner(env=env).invoke(cli, ["cache", "invalidate", "--entity", "customer_id=8"])
        assert done.exit_code == 0, done.output
        assert seen_within(123.0, 5)
        change_balance(456.0)
        admin = httpx.post(
            f"{servers[0].url}/v1/admin/cache/invalidate", json={"source": "customers"}, timeout=10
        )
        assert admin.status_code == 202, admin.text
        assert seen_within(456.0, 5)
        closed = httpx.post(f"{servers[1].url}/v1/admin/cache/invalidate", json={}, timeout=10)
        assert closed.status_code == 404  # the admin API is off unless turned on
    finally:
        for live in servers:
            stop_server(live)
        registry.close()
    assert before[0] == before[1] != 123.0
