"""Whole files through ``score_file``: every format in, every format out, rows accounted for."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from batch_inputs import CHUNK_ROWS, ROWS, Injected, read_output, read_rejects

from modelport.batch import Format, default_rejects_path, score_file
from modelport.datasets import LOAN_FEATURES
from modelport.errors import BatchError
from modelport.runtime import Scorer


@pytest.fixture(scope="session")
def expected(scorer: Scorer, valid_rows: pd.DataFrame) -> pd.DataFrame:
    """What ``scorer.predict`` says about every valid row, scored in one go."""
    return scorer.predict(valid_rows[LOAN_FEATURES])


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_rows_in_equal_rows_out_plus_rejects(
    scorer: Scorer, injected: Injected, expected: pd.DataFrame, tmp_path: Path, suffix: str
) -> None:
    output = tmp_path / f"scores{suffix}"
    summary = score_file(
        scorer,
        injected.path,
        output,
        carry=["id", "note"],
        chunk_rows=CHUNK_ROWS,
        record_column="record",
    )

    assert summary.rows_read == ROWS
    assert summary.rows_scored + summary.rows_rejected == ROWS
    assert summary.rows_rejected == len(injected.bad)
    assert summary.output == output and summary.rejects == default_rejects_path(output)

    scores = read_output(output)
    assert list(scores.columns) == ["record", "id", "note", "label", "proba_0", "proba_1"]
    assert len(scores) == summary.rows_scored
    # Input order, minus the refused records.
    good = injected.good
    assert scores["record"].astype(np.int64).tolist() == good.tolist()
    assert scores["id"].astype(np.int64).tolist() == injected.frame["id"].to_numpy()[good].tolist()
    assert scores["note"].tolist() == [f"note, {i}" for i in good]
    # The same answers as scoring the valid rows in one call.
    want = expected.iloc[good]
    assert scores["label"].to_numpy().tolist() == want["label"].to_numpy().tolist()
    for column in ("proba_0", "proba_1"):
        np.testing.assert_allclose(scores[column].to_numpy(), want[column].to_numpy(), rtol=1e-12)

    rejects = read_rejects(summary.rejects)
    assert [r["record"] for r in rejects] == sorted(injected.bad)
    for reject in rejects:
        assert {e["field"] for e in reject["errors"]} == injected.bad[reject["record"]]
        assert all(e["reason"] for e in reject["errors"])
    named = Counter(f or "(row)" for fields in injected.bad.values() for f in fields)
    assert summary.rejected_fields == dict(named)


def test_rejects_hold_the_rows_as_read(scorer: Scorer, injected: Injected, tmp_path: Path) -> None:
    output = tmp_path / "scores.parquet"
    summary = score_file(scorer, injected.path, output, carry=["id", "note"], chunk_rows=CHUNK_ROWS)
    rejects = {r["record"]: r for r in read_rejects(summary.rejects)}
    kind = injected.path.suffix

    below = rejects[5]
    assert below["errors"] == [{"field": "age", "reason": "-150 is below the minimum 0"}]
    assert below["row"]["age"] in (-150.0, "-150.0")  # CSV rows are text, as read
    assert below["row"]["id"] in (1_000_005, "1000005")
    assert set(below["row"]) >= {"id", *LOAN_FEATURES, "note"}

    count = rejects[4_003]["errors"][0]
    assert count == {"field": "delinquencies", "reason": "-1 is below the minimum 0"}
    assert rejects[9_999]["errors"][0]["reason"].startswith("is required")
    assert rejects[9_999]["row"]["home_ownership"] is None
    assert rejects[12_000]["errors"][0]["reason"] == "expected an integer, got 2.5"
    assert [e["field"] for e in rejects[ROWS - 1]["errors"]] == ["age", "region"]

    if kind == ".csv":
        assert rejects[7_777]["errors"][0]["reason"] == "expected a number, got string 'abc'"
        assert rejects[20_500]["row"]["has_cosigner"] == "maybe"
    elif kind == ".parquet":
        assert rejects[20_500]["errors"][0]["reason"] == "expected a boolean, got 2"
    else:
        assert rejects[7_777]["errors"][0]["reason"] == "expected a number, got string '52000'"
        broken = rejects[16_001]
        assert broken["errors"][0]["field"] is None
        assert broken["errors"][0]["reason"].startswith("not valid JSON")
        assert broken["row"] == '{"id": 1016001, "age": 41, "annual_inc'
        assert rejects[18_002]["row"] == [1, 2, 3]
        assert "expected a JSON object" in rejects[18_002]["errors"][0]["reason"]
        assert rejects[19_003]["errors"][0]["reason"] == "is not a field of this model"
        for record, reject in rejects.items():
            assert reject["line"] == injected.lines[record]
        assert rejects[16_001]["line"] == 16_001 + 3  # two blank lines before it


def test_parquet_output_keeps_types(scorer: Scorer, injected: Injected, tmp_path: Path) -> None:
    output = tmp_path / "scores.parquet"
    score_file(scorer, injected.path, output, carry=["id", "note"], chunk_rows=CHUNK_ROWS)
    schema = pq.read_schema(output)
    id_type = pa.string() if injected.path.suffix == ".csv" else pa.int64()
    assert schema.field("id").type == id_type
    assert schema.field("label").type == pa.int64()
    assert schema.field("proba_1").type == pa.float64()
    assert pq.ParquetFile(output).metadata.num_rows == ROWS - len(injected.bad)


def test_without_carry_only_predictions(scorer: Scorer, injected: Injected, tmp_path: Path) -> None:
    output = tmp_path / "scores.csv"
    summary = score_file(scorer, injected.path, output, chunk_rows=10_000, ignore_extra=True)
    assert list(read_output(output).columns) == ["label", "proba_0", "proba_1"]
    assert summary.rows_scored + summary.rows_rejected == ROWS


def test_extra_columns_are_refused_up_front_unless_carried_or_ignored(
    scorer: Scorer, injected: Injected, tmp_path: Path
) -> None:
    output = tmp_path / "scores.parquet"
    if injected.path.suffix == ".jsonl":
        # JSON Lines has no header: a key outside the contract refuses that record only.
        summary = score_file(scorer, injected.path, output, chunk_rows=CHUNK_ROWS)
        assert summary.rows_rejected == ROWS
        return
    with pytest.raises(BatchError, match="not fields of this model: id, note"):
        score_file(scorer, injected.path, output)
    assert not output.exists()
    assert not default_rejects_path(output).exists()


def test_formats_can_be_named_explicitly(
    scorer: Scorer, injected: Injected, tmp_path: Path
) -> None:
    source = tmp_path / "input.data"
    source.write_bytes(injected.path.read_bytes())
    output = tmp_path / "scores.out"
    rejects = tmp_path / "refused.jsonl"
    summary = score_file(
        scorer,
        source,
        output,
        input_format=injected.path.suffix.lstrip("."),
        output_format=Format.PARQUET,
        carry=["id", "note"],
        rejects=rejects,
        chunk_rows=CHUNK_ROWS,
    )
    assert summary.input_format.value == injected.path.suffix.lstrip(".")
    assert summary.output_format is Format.PARQUET
    assert pq.read_table(output).num_rows == summary.rows_scored
    assert len(read_rejects(rejects)) == summary.rows_rejected
    assert not default_rejects_path(output).exists()
