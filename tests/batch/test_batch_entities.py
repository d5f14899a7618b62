"""Batch scoring by entity: a file of customer ids (and the application's own fields) is
looked up in a real SQLite or PostgreSQL customer table chunk by chunk, one query per
chunk, and scores exactly like the scikit-learn pipeline on the joined rows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from batch_inputs import read_output, read_rejects
from customer_model import (
    CUSTOMER_RAW,
    CUSTOMER_SPEC,
    load_table,
    lookups,
    sources_file,
    write_rows,
)
from sklearn.pipeline import Pipeline
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

import modelport as mp
from databases import PostgresServer
from modelport.batch import ArrowChunk, EntityLookup, RecordsChunk, score_chunk, score_file
from modelport.cli.main import app
from modelport.datasets import customer_loan_applications, customers
from modelport.errors import BatchError, FeatureSourceUnavailable
from modelport.orchestrate import FieldSource, OrchestrationSpec, SourceBinding
from modelport.package import load_scorer, open_package

APPLICATION = ["loan_amount", "purpose"]


@pytest.fixture(scope="module")
def applications(customer_table: pd.DataFrame) -> pd.DataFrame:
    """1,000 applications by the known customers: ``customer_id`` + the application."""
    return customer_loan_applications(customer_table, 1_000, seed=9)[["customer_id", *APPLICATION]]


@pytest.fixture
def crm(tmp_path: Path, customer_table: pd.DataFrame) -> str:
    """A SQLite database holding the ``customers`` table."""
    return load_table(f"sqlite:///{tmp_path / 'crm.db'}", customer_table)


@pytest.fixture
def package(customer_package: Path) -> mp.Package:
    return open_package(customer_package)


def _expected(pipeline: Pipeline, table: pd.DataFrame, rows: pd.DataFrame) -> np.ndarray:
    """The original pipeline's probability of approval on the joined rows."""
    joined = rows.merge(table, on="customer_id", how="left")
    return pipeline.predict_proba(joined[CUSTOMER_RAW])[:, 1]


@pytest.mark.parametrize("suffix", ["csv", "parquet", "jsonl"])
def test_a_file_of_customer_ids_scores_like_the_pipeline_on_the_joined_rows(
    tmp_path: Path,
    package: mp.Package,
    customer_pipeline: Pipeline,
    customer_table: pd.DataFrame,
    applications: pd.DataFrame,
    crm: str,
    suffix: str,
) -> None:
    source = write_rows(applications, tmp_path / f"applications.{suffix}")
    output = tmp_path / "scores.parquet"
    summary = score_file(
        package, source, output, chunk_rows=256, sources=sources_file(tmp_path / "s.yaml", crm)
    )
    assert (summary.rows_read, summary.rows_scored, summary.rows_rejected) == (1_000, 1_000, 0)
    assert summary.entity_keys == ["customer_id"]
    scored = read_output(output)
    assert list(scored.columns)[:4] == ["customer_id", "label", "proba_0", "proba_1"]
    assert "decision" in scored.columns  # the package's rules, see test_batch_decisions.py
    carried = [str(v) for v in scored["customer_id"]]  # CSV columns are read as text
    assert carried == [str(v) for v in applications["customer_id"]]
    expected = _expected(customer_pipeline, customer_table, applications)
    np.testing.assert_allclose(scored["proba_1"].to_numpy(), expected, atol=1e-6)


def test_scoring_by_entity_on_postgresql(
    tmp_path: Path,
    postgres: PostgresServer,
    package: mp.Package,
    customer_pipeline: Pipeline,
    customer_table: pd.DataFrame,
    applications: pd.DataFrame,
) -> None:
    url = load_table(postgres.create(), customer_table)
    try:
        source = write_rows(applications, tmp_path / "applications.csv")
        output = tmp_path / "scores.parquet"
        with lookups() as statements:
            summary = score_file(
                package,
                source,
                output,
                chunk_rows=400,
                sources=sources_file(tmp_path / "s", url),
                workers=1,  # the lookups counted are this process's
            )
    finally:
        postgres.drop(url)
    assert summary.rows_scored == 1_000 and len(statements) == 3  # chunks of 400, 400, 200
    scored = read_output(output)
    expected = _expected(customer_pipeline, customer_table, applications)
    np.testing.assert_allclose(scored["proba_1"].to_numpy(), expected, atol=1e-6)


def test_one_query_per_chunk_of_up_to_500_customers(
    tmp_path: Path, package: mp.Package, customer_pipeline: Pipeline
) -> None:
    table = customers(1_200, seed=8)
    url = load_table(f"sqlite:///{tmp_path / 'crm.db'}", table)
    rows = customer_loan_applications(table, 1_200, seed=8)[APPLICATION]
    rows.insert(0, "customer_id", np.arange(1, 1_201))  # every customer once
    source = write_rows(rows, tmp_path / "applications.parquet")
    sources = sources_file(tmp_path / "sources.yaml", url)
    # chunk rows -> distinct customers per chunk -> queries (at most 500 keys per query)
    for chunk_rows, queries in ((1_200, 3), (300, 4), (100, 12)):
        output = tmp_path / f"scores-{chunk_rows}.parquet"
        with lookups() as statements:
            summary = score_file(
                package,
                source,
                output,
                chunk_rows=chunk_rows,
                sources=sources,
                record_column="record",
                workers=1,  # the lookups counted are this process's
            )
        assert len(statements) == queries, chunk_rows
        # a few new customers are richer than any the model was built on: the contract
        # refuses them (after the lookup), by their looked-up balance
        assert set(summary.rejected_fields) <= {"account_balance", "loan_amount"}
        scored = read_output(output)
        expected = _expected(customer_pipeline, table, rows)[scored["record"].to_numpy()]
        np.testing.assert_allclose(scored["proba_1"].to_numpy(), expected, atol=1e-6)


def test_unknown_and_unusable_ids_are_rejects_with_reasons(
    tmp_path: Path,
    package: mp.Package,
    customer_pipeline: Pipeline,
    customer_table: pd.DataFrame,
    applications: pd.DataFrame,
    crm: str,
) -> None:
    rows = applications.head(600).astype({"customer_id": object})
    rows.loc[3, "customer_id"] = 999_999  # not a customer
    rows.loc[257, "customer_id"] = None  # no id at all (in the second chunk)
    rows.loc[300, "customer_id"] = "abc"  # not an id
    rows.loc[599, "customer_id"] = 0  # not a customer, in the last row
    source = write_rows(rows, tmp_path / "applications.csv")
    output = tmp_path / "scores.csv"
    summary = score_file(
        package, source, output, chunk_rows=256, sources=sources_file(tmp_path / "s.yaml", crm)
    )
    assert summary.rows_read == summary.rows_scored + summary.rows_rejected == 600
    assert summary.rows_rejected == 4 and summary.rejected_fields == {"customer_id": 4}
    rejects = read_rejects(Path(f"{output}.rejects.jsonl"))
    reasons = {r["record"]: [e["reason"] for e in r["errors"]] for r in rejects}
    assert reasons == {
        3: ["no entity customer_id=999999 in source 'customers'"],
        257: ["missing: an entity key of this model"],
        300: ["'abc' cannot be looked up in source 'customers', whose customer_id is an integer"],
        599: ["no entity customer_id=0 in source 'customers'"],
    }
    assert rejects[0]["row"]["customer_id"] == "999999"  # the row as read (CSV: text)
    scored = read_output(output)
    kept = rows.drop(index=list(reasons))
    assert scored["customer_id"].astype(str).tolist() == kept["customer_id"].astype(str).tolist()
    expected = _expected(customer_pipeline, customer_table, kept.astype({"customer_id": int}))
    np.testing.assert_allclose(scored["proba_1"].to_numpy(), expected, atol=1e-6)


def test_record_numbers_and_other_rejects_stay_right_around_missing_entities(
    tmp_path: Path, package: mp.Package, applications: pd.DataFrame, crm: str
) -> None:
    rows = applications.head(50).astype({"loan_amount": object})
    rows.loc[10, "customer_id"] = 5_000  # not a customer
    rows.loc[20, "loan_amount"] = "lots"  # the contract refuses it, after the lookup
    source = write_rows(rows, tmp_path / "applications.csv")
    output = tmp_path / "scores.parquet"
    summary = score_file(
        package,
        source,
        output,
        sources=sources_file(tmp_path / "s.yaml", crm),
        record_column="record",
    )
    assert (summary.rows_scored, summary.rows_rejected) == (48, 2)
    rejects = read_rejects(Path(f"{output}.rejects.jsonl"))
    assert [(r["record"], r["errors"][0]["field"]) for r in rejects] == [
        (10, "customer_id"),
        (20, "loan_amount"),
    ]
    assert read_output(output)["record"].tolist() == [i for i in range(50) if i not in (10, 20)]


def test_json_lines_records_are_refused_one_by_one(
    tmp_path: Path, package: mp.Package, applications: pd.DataFrame, crm: str
) -> None:
    rows = applications.head(5)
    lines = [
        f'{{"customer_id": {c}, "loan_amount": {a}, "purpose": "{p}"}}' for c, a, p in rows.values
    ]
    lines[1] = '{"customer_id": 4, "loan_amount": 900, "purpose": "car", "state": "NY"}'
    lines[2] = "[1, 2]"
    lines[3] = '{"loan_amount": 900, "purpose": "car"}'
    source = tmp_path / "applications.jsonl"
    source.write_text("\n".join(lines) + "\n")
    output = tmp_path / "scores.jsonl"
    summary = score_file(package, source, output, sources=sources_file(tmp_path / "s.yaml", crm))
    assert (summary.rows_scored, summary.rows_rejected) == (2, 3)
    rejects = read_rejects(Path(f"{output}.rejects.jsonl"))
    assert [(r["record"], r["line"], r["errors"][0]["field"]) for r in rejects] == [
        (1, 2, "state"),
        (2, 3, None),
        (3, 4, "customer_id"),
    ]
    assert rejects[0]["errors"][0]["reason"] == "comes from source 'customers'; do not send it"


def test_carried_columns_chosen_by_the_user_replace_the_entity_keys(
    tmp_path: Path, package: mp.Package, applications: pd.DataFrame, crm: str
) -> None:
    source = write_rows(applications.head(20), tmp_path / "applications.parquet")
    sources = sources_file(tmp_path / "s.yaml", crm)
    output = tmp_path / "scores.parquet"
    score_file(package, source, output, carry=["purpose"], sources=sources)
    assert list(read_output(output).columns)[:2] == ["purpose", "label"]
    score_file(package, source, output, carry=[], sources=sources)
    assert list(read_output(output).columns)[0] == "label"


def test_a_file_with_every_input_scores_without_sources(
    tmp_path: Path,
    package: mp.Package,
    customer_pipeline: Pipeline,
    customer_table: pd.DataFrame,
    applications: pd.DataFrame,
) -> None:
    joined = applications.head(30).merge(customer_table, on="customer_id", how="left")
    source = write_rows(joined[["customer_id", *CUSTOMER_RAW]], tmp_path / "joined.parquet")
    output = tmp_path / "scores.parquet"
    summary = score_file(package, source, output, carry=["customer_id"])
    assert summary.entity_keys == [] and summary.rows_scored == 30
    expected = customer_pipeline.predict_proba(joined[CUSTOMER_RAW])[:, 1]
    np.testing.assert_allclose(read_output(output)["proba_1"].to_numpy(), expected, atol=1e-6)


def test_a_sourced_column_next_to_the_keys_is_refused_up_front(
    tmp_path: Path, package: mp.Package, applications: pd.DataFrame, crm: str
) -> None:
    rows = applications.head(5).assign(state="NY")
    source = write_rows(rows, tmp_path / "applications.csv")
    with pytest.raises(BatchError, match="reads from its feature sources by customer_id: state"):
        score_file(package, source, tmp_path / "out.csv", sources=sources_file(tmp_path / "s", crm))
    assert not (tmp_path / "out.csv").exists()


def test_without_sources_the_error_says_how_to_bind_them(
    tmp_path: Path, package: mp.Package, applications: pd.DataFrame
) -> None:
    source = write_rows(applications.head(5), tmp_path / "applications.csv")
    with pytest.raises(BatchError, match="--sources FILE"):
        score_file(package, source, tmp_path / "out.csv")
    with pytest.raises(BatchError, match="'customers', which is not bound in the bindings given"):
        score_file(package, source, tmp_path / "out.csv", sources={})
    assert not (tmp_path / "out.csv").exists()


def test_a_source_that_is_down_fails_the_run_and_writes_nothing(
    tmp_path: Path, package: mp.Package, applications: pd.DataFrame, crm: str
) -> None:
    source = write_rows(applications, tmp_path / "applications.parquet")
    output = tmp_path / "scores.parquet"
    output.write_bytes(b"yesterday's scores")
    sources = sources_file(tmp_path / "s.yaml", crm)

    def drop_table_after_the_first_chunk(done: int, total: int | None) -> None:
        if done == 256:
            engine = create_engine(crm)
            with engine.begin() as connection:
                connection.execute(text("DROP TABLE customers"))
            engine.dispose()

    with pytest.raises(FeatureSourceUnavailable, match="'customers' is unavailable"):
        score_file(
            package,
            source,
            output,
            chunk_rows=256,
            sources=sources,
            progress=drop_table_after_the_first_chunk,
            workers=1,  # several workers would have every chunk in flight before the drop
        )
    assert output.read_bytes() == b"yesterday's scores"
    assert not Path(f"{output}.rejects.jsonl").exists()
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []
    # down from the start: refused before anything is read
    with pytest.raises(FeatureSourceUnavailable, match="has no table 'customers'"):
        score_file(package, source, output, sources=sources)


def test_the_lookup_of_a_chunk_with_composite_keys(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bank.db'}"
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE accounts (bank TEXT, number INTEGER, lim REAL)"))
        connection.execute(
            text("INSERT INTO accounts VALUES ('a', 1, 100), ('a', 2, 200), ('b', 1, 300)")
        )
    engine.dispose()
    spec = OrchestrationSpec(
        entity=["bank", "number"], inputs={"limit": FieldSource(source="accounts", column="lim")}
    )
    binding = SourceBinding(name="accounts", url=url, table="accounts", keys=["bank", "number"])
    values = [
        {"bank": "b", "number": "1"},  # text from a file: typed like the column
        {"bank": "a", "number": 3},
        "not an object",
        {"bank": "a", "number": 2},
    ]
    with EntityLookup.open(spec, {"accounts": binding}) as lookup:
        enriched = lookup(RecordsChunk(values, start=10), carry=["bank"])
    assert enriched.rows is not None and enriched.rows.tolist() == [0, 2, 3]
    assert enriched.chunk.values == [  # type: ignore[attr-defined]
        {"bank": "b", "limit": 300.0},
        "not an object",
        {"bank": "a", "limit": 200.0},
    ]
    [reject] = enriched.rejects
    assert reject.record == 11 and reject.errors[0].field is None
    assert reject.errors[0].reason == "no entity bank='a', number=3 in source 'accounts'"


def test_score_chunk_takes_a_lookup_too(
    tmp_path: Path, package: mp.Package, applications: pd.DataFrame, crm: str
) -> None:
    table = pa.Table.from_pandas(applications.head(8), preserve_index=False)
    scorer = load_scorer(package)
    with EntityLookup.open(CUSTOMER_SPEC, sources_file(tmp_path / "s", crm)) as lookup:
        chunk = ArrowChunk(table, start=100)
        result = score_chunk(scorer, chunk, carry=["customer_id"], lookup=lookup)
    assert result.table.num_rows == 8 and result.rejects == []
    assert (
        result.table.column("customer_id").to_pylist() == applications.head(8).customer_id.tolist()
    )


@pytest.fixture
def cli_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in ("MODELPORT_DATABASE_URL", "MODELPORT_BATCH_CHUNK_ROWS", "MODELPORT_SOURCES_FILE"):
        monkeypatch.delenv(name, raising=False)
    yield tmp_path / "home"


def _cli(home: Path, *args: str, **env: str):  # type: ignore[no-untyped-def]
    runner = CliRunner(env={"MODELPORT_HOME": str(home), "COLUMNS": "200", **env})
    return runner.invoke(app, ["batch", "score", *args])


def test_the_cli_scores_by_entity_with_a_sources_file(
    tmp_path: Path,
    cli_home: Path,
    customer_package: Path,
    applications: pd.DataFrame,
    crm: str,
) -> None:
    source = write_rows(applications.head(100), tmp_path / "applications.csv")
    sources = sources_file(tmp_path / "sources.yaml", crm)
    output = tmp_path / "scores.csv"
    args = [str(customer_package), "-i", str(source), "-o", str(output)]
    by_option = _cli(cli_home, *args, "--sources", str(sources))
    assert by_option.exit_code == 0, by_option.output
    assert "scored 100 of 100 rows by customer_id" in by_option.stdout
    by_setting = _cli(cli_home, *args, "--json", MODELPORT_SOURCES_FILE=str(sources))
    assert by_setting.exit_code == 0, by_setting.output
    assert '"entity_keys":["customer_id"]' in by_setting.stdout
    assert read_output(output).columns[0] == "customer_id"


def test_the_cli_says_which_option_binds_the_sources(
    tmp_path: Path, cli_home: Path, customer_package: Path, applications: pd.DataFrame
) -> None:
    source = write_rows(applications.head(10), tmp_path / "applications.csv")
    args = [str(customer_package), "-i", str(source), "-o", str(tmp_path / "scores.csv")]
    unbound = _cli(cli_home, *args)
    assert unbound.exit_code == 1
    assert "no sources are bound" in unbound.output and "--sources FILE" in unbound.output
    missing = _cli(cli_home, *args, "--sources", str(tmp_path / "nowhere.yaml"))
    assert missing.exit_code == 1
    assert "cannot read the sources file" in missing.output and "nowhere.yaml" in missing.output
    assert not (tmp_path / "scores.csv").exists()


def test_a_source_down_fails_the_workers_run_with_its_error(
    tmp_path: Path, package: mp.Package, applications: pd.DataFrame, crm: str
) -> None:
    source = write_rows(applications, tmp_path / "applications.parquet")
    output = tmp_path / "scores.parquet"
    engine = create_engine(crm)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE customers"))
    engine.dispose()
    with pytest.raises(FeatureSourceUnavailable, match="source 'customers'"):
        score_file(
            package,
            source,
            output,
            chunk_rows=256,
            sources=sources_file(tmp_path / "s.yaml", crm),
            workers=2,
        )
    assert not output.exists()
    assert not Path(f"{output}.rejects.jsonl").exists()
