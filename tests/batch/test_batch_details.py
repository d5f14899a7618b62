"""Formats, readers and edge cases of batch scoring, on small real files."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from batch_inputs import json_lines, read_output, read_rejects, write_csv, write_parquet

from modelport.batch import (
    Format,
    default_rejects_path,
    detect_format,
    open_reader,
    resolve_format,
    score_chunk,
    score_file,
)
from modelport.batch.chunks import ArrowChunk
from modelport.batch.readers import CsvReader, rechunk
from modelport.datasets import LOAN_FEATURES
from modelport.errors import BatchError
from modelport.runtime import Scorer

HEADER = ",".join(LOAN_FEATURES)
GOOD = "41,52000,9000,36,12.5,120,4,0,salaried,rent,car,north,false"


def _csv(tmp_path: Path, *rows: str, name: str = "input.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return path


def _errors(path: Path) -> dict[int, list[tuple[Any, str]]]:
    return {
        r["record"]: [(e["field"], e["reason"]) for e in r["errors"]] for r in read_rejects(path)
    }


@pytest.mark.parametrize(
    ("name", "format"),
    [
        ("a.csv", Format.CSV),
        ("A.CSV", Format.CSV),
        ("a.csv.gz", Format.CSV),
        ("a.parquet", Format.PARQUET),
        ("a.pq", Format.PARQUET),
        ("a.jsonl", Format.JSONL),
        ("a.ndjson.zst", Format.JSONL),
    ],
)
def test_format_from_the_file_name(name: str, format: Format) -> None:
    assert detect_format(Path(name)) is format


def test_unknown_formats_are_named() -> None:
    with pytest.raises(BatchError, match="JSON Lines files end in .jsonl"):
        detect_format(Path("rows.json"))
    with pytest.raises(BatchError, match="cannot tell the format of rows.txt"):
        detect_format(Path("rows.txt"))
    with pytest.raises(BatchError, match="unknown file format 'xlsx'"):
        resolve_format(Path("rows.csv"), "xlsx")
    assert resolve_format(Path("rows.txt"), "NDJSON") is Format.JSONL


def test_rechunk_makes_chunks_of_exactly_the_asked_size() -> None:
    batches = [pa.record_batch({"x": list(range(n))}) for n in (3, 10, 1, 7)]
    sizes = [t.num_rows for t in rechunk(batches, 4)]
    assert sizes == [4, 4, 4, 4, 4, 1]
    flat = [v for t in rechunk(batches, 4) for v in t.column("x").to_pylist()]
    assert flat == [v for b in batches for v in b.column("x").to_pylist()]


def test_csv_numbers_and_booleans_are_read_leniently(scorer: Scorer, tmp_path: Path) -> None:
    source = _csv(
        tmp_path,
        GOOD,
        " 41 ,52000, 9000,36,12.5,120,4,0,salaried,rent,car,north,YES",  # spaces, yes
        ",,9000,36,,,4,0,,rent,,north,0",  # optional numbers and strings left empty
        "41,52000,9000,36,12.5,120,4,0,salaried,rent,car,north,",  # required boolean empty
        "nan,52000,9000,36,12.5,120,4,0,salaried,rent,car,north,true",  # NaN is not a number
        "41,52000,9000,36.0,12.5,120,4,0,salaried,rent,car,north,1",  # 36.0 is an integer
        '41,52000,9000,36,12.5,120,4,0,salaried,"",car,north,1',  # quoted empty: missing
        "41,52000,9000,36,12.5,120,-4,0,salaried,rent,car,north,true",  # never negative
        "41,5e4,9000,36,12.5,120,4,0,salaried,rent,car,north,n",  # exponent, n
    )
    output = tmp_path / "scores.jsonl"
    summary = score_file(scorer, source, output)
    assert (summary.rows_read, summary.rows_scored, summary.rows_rejected) == (9, 5, 4)
    errors = _errors(default_rejects_path(output))
    assert errors == {
        3: [("has_cosigner", "is required and must not be null")],
        4: [("age", "must be a finite number")],
        6: [("home_ownership", "is required and must not be null")],
        7: [("open_accounts", "-4 is below the minimum 0")],
    }
    assert read_rejects(default_rejects_path(output))[0]["row"]["has_cosigner"] is None


def test_one_bad_text_number_slows_only_its_chunk_not_the_answer(
    scorer: Scorer, valid_rows: pd.DataFrame, tmp_path: Path
) -> None:
    frame = valid_rows.head(300).astype(object)
    frame.at[150, "annual_income"] = "1,000"
    source = write_csv(frame, tmp_path / "input.csv")
    output = tmp_path / "scores.parquet"
    summary = score_file(scorer, source, output, carry=["id", "note"], chunk_rows=100)
    assert summary.rows_rejected == 1
    assert _errors(summary.rejects) == {
        150: [("annual_income", "expected a number, got string '1,000'")]
    }
    expected = scorer.predict(valid_rows.head(300).drop(index=150)[LOAN_FEATURES])
    assert pq.read_table(output).column("label").to_pylist() == expected["label"].tolist()


def test_json_lines_quirks(scorer: Scorer, valid_rows: pd.DataFrame, tmp_path: Path) -> None:
    lines = json_lines(valid_rows.head(4)[LOAN_FEATURES])
    source = tmp_path / "input.jsonl"
    # A byte-order mark, Windows line ends, blank lines, no newline at the end.
    source.write_bytes(
        b"\xef\xbb\xbf"
        + lines[0]
        + b"\r\n\r\n"
        + lines[1]
        + b"\r\n"
        + b'"text"\n'
        + lines[2]
        + b"\n\n\n"
        + lines[3]
    )
    output = tmp_path / "scores.csv"
    summary = score_file(scorer, source, output)
    assert (summary.rows_read, summary.rows_scored, summary.rows_rejected) == (5, 4, 1)
    [reject] = read_rejects(summary.rejects)
    assert reject["record"] == 2 and reject["line"] == 4 and reject["row"] == "text"
    expected = scorer.predict(valid_rows.head(4)[LOAN_FEATURES])
    assert read_output(output)["label"].tolist() == expected["label"].tolist()


def test_compressed_inputs(scorer: Scorer, valid_rows: pd.DataFrame, tmp_path: Path) -> None:
    rows = valid_rows.head(200)[LOAN_FEATURES]
    csv = tmp_path / "input.csv.gz"
    csv.write_bytes(gzip.compress(rows.to_csv(index=False).encode()))
    jsonl = tmp_path / "input.jsonl.gz"
    jsonl.write_bytes(gzip.compress(b"\n".join(json_lines(rows))))
    expected = scorer.predict(rows)["label"].tolist()
    for source in (csv, jsonl):
        output = tmp_path / f"{source.name}.parquet"
        summary = score_file(scorer, source, output, chunk_rows=64)
        assert summary.rows_scored == 200
        assert pq.read_table(output).column("label").to_pylist() == expected


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_empty_input_gives_an_empty_output_with_its_columns(
    scorer: Scorer, valid_rows: pd.DataFrame, tmp_path: Path, suffix: str
) -> None:
    empty = valid_rows.head(0)
    source = tmp_path / f"input{suffix}"
    if suffix == ".csv":
        write_csv(empty, source)
    elif suffix == ".parquet":
        write_parquet(empty, source)
    else:
        source.write_bytes(b"")
    output = tmp_path / "scores.parquet"
    carry = [] if suffix == ".jsonl" else ["id", "note"]
    summary = score_file(scorer, source, output, carry=carry, ignore_extra=True)
    assert (summary.rows_read, summary.rows_scored, summary.rows_rejected) == (0, 0, 0)
    table = pq.read_table(output)
    assert table.num_rows == 0
    assert table.column_names == [*carry, "label", "proba_0", "proba_1"]
    assert default_rejects_path(output).read_bytes() == b""


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_every_row_rejected_still_gives_a_valid_output(
    scorer: Scorer, valid_rows: pd.DataFrame, tmp_path: Path, suffix: str
) -> None:
    frame = valid_rows.head(30).copy()
    frame["age"] = -5.0  # never negative in the sample: every row refused
    output = tmp_path / f"scores{suffix}"
    source = write_parquet(frame, tmp_path / "input.parquet")
    summary = score_file(scorer, source, output, carry=["id", "note"], chunk_rows=7)
    assert (summary.rows_scored, summary.rows_rejected) == (0, 30)
    if suffix == ".parquet":
        assert pq.read_table(output).column_names == ["id", "note", "label", "proba_0", "proba_1"]
    elif suffix == ".csv":
        assert output.read_text() == '"id","note","label","proba_0","proba_1"\n'
    else:
        assert output.read_bytes() == b""
    assert [r["record"] for r in read_rejects(summary.rejects)] == list(range(30))


def test_json_lines_carry_types_come_from_the_first_values(
    scorer: Scorer, valid_rows: pd.DataFrame, tmp_path: Path
) -> None:
    records = [orjson.loads(line) for line in json_lines(valid_rows.head(6)[LOAN_FEATURES])]
    for i, record in enumerate(records):
        record["key"] = None if i < 3 else i  # the first chunk has no value at all
    source = tmp_path / "input.jsonl"
    source.write_bytes(b"\n".join(orjson.dumps(r) for r in records))
    output = tmp_path / "scores.parquet"
    score_file(scorer, source, output, carry=["key"], chunk_rows=3)
    table = pq.read_table(output)
    assert table.schema.field("key").type == pa.string()
    assert table.column("key").to_pylist() == [None, None, None, "3", "4", "5"]

    records[5]["key"] = {"nested": True}  # a carried value of another kind part-way through
    source.write_bytes(b"\n".join(orjson.dumps(r) for r in records))
    for chunk_rows, where in ((3, "within records 3 to 5"), (1, "changes type part-way")):
        again = tmp_path / "again.jsonl"
        with pytest.raises(BatchError, match=where):
            score_file(scorer, source, again, carry=["key"], chunk_rows=chunk_rows)
        assert not again.exists()


def test_score_chunk_is_the_seam_for_one_chunk(scorer: Scorer, valid_rows: pd.DataFrame) -> None:
    frame = valid_rows.head(10).copy()
    frame.loc[3, "delinquencies"] = -1
    table = pa.Table.from_pandas(frame, preserve_index=False)
    chunk = ArrowChunk(table, start=5_000)
    scored = score_chunk(scorer, chunk, carry=["id"], ignore_extra=True)
    assert scored.n_rows == 10 and scored.table.num_rows == 9
    assert scored.table.column_names == ["id", "label", "proba_0", "proba_1"]
    [reject] = scored.rejects
    assert reject.record == 5_003 and reject.errors[0].record == 5_003
    assert reject.row["delinquencies"] == -1
    # Without ignore_extra, columns that are not fields refuse every row, as over HTTP.
    refused = score_chunk(scorer, ArrowChunk(table), carry=["id"])
    assert refused.table.num_rows == 0 and len(refused.rejects) == 10
    assert {e.field for e in refused.rejects[0].errors} == {"note"}


def test_up_front_checks(scorer: Scorer, valid_rows: pd.DataFrame, tmp_path: Path) -> None:
    source = write_parquet(valid_rows.head(20), tmp_path / "input.parquet")
    output = tmp_path / "scores.parquet"
    cases: list[tuple[dict[str, Any], str]] = [
        ({"carry": ["id", "nope"]}, "has no column 'nope' to carry"),
        ({"carry": ["id", "id"], "ignore_extra": True}, "carried columns named twice: id"),
        ({"carry": ["label"]}, "cannot carry 'label'"),
        ({"rejects": source, "ignore_extra": True}, "rejects file would overwrite the input"),
        ({"chunk_rows": 0, "ignore_extra": True}, "chunk_rows must be at least 1"),
    ]
    for options, message in cases:
        with pytest.raises(BatchError, match=message):
            score_file(scorer, source, output, **options)
    with pytest.raises(BatchError, match="output file would overwrite the input"):
        score_file(scorer, source, source, ignore_extra=True)
    with pytest.raises(BatchError, match="does not exist"):
        score_file(scorer, tmp_path / "missing.csv", output)
    narrow = write_parquet(
        valid_rows.head(20).drop(columns=["region"]), tmp_path / "narrow.parquet"
    )
    with pytest.raises(BatchError, match="lacks the columns of required fields: region"):
        score_file(scorer, narrow, output, ignore_extra=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["input.parquet", "narrow.parquet"]


def test_ignore_extra_reads_only_what_it_needs(
    scorer: Scorer, valid_rows: pd.DataFrame, tmp_path: Path
) -> None:
    frame = valid_rows.head(40).copy()
    frame.loc[7, "age"] = -5.0
    source = write_parquet(frame, tmp_path / "input.parquet")
    with open_reader(source, Format.PARQUET) as reader:
        assert reader.total_rows == 40
    summary = score_file(
        scorer, source, tmp_path / "scores.parquet", carry=["id"], ignore_extra=True
    )
    [reject] = read_rejects(summary.rejects)
    assert set(reject["row"]) == {"id", *LOAN_FEATURES}  # "note" was never read


def test_csv_values_with_line_breaks_and_quotes_survive_block_edges(
    scorer: Scorer, valid_rows: pd.DataFrame, tmp_path: Path
) -> None:
    frame = valid_rows.head(60).copy()
    frame["note"] = [f'line one\nline "two", {i}\r\n' if i % 3 else f"plain {i}" for i in range(60)]
    source = write_csv(frame, tmp_path / "input.csv")
    with CsvReader(source, block_bytes=97) as reader:  # cuts through quoted values everywhere
        tables = [chunk.table for chunk in reader.chunks(7)]  # type: ignore[attr-defined]
    assert [t.num_rows for t in tables] == [7] * 8 + [4]
    notes = [n for t in tables for n in t.column("note").to_pylist()]
    assert notes == frame["note"].tolist()
    output = tmp_path / "scores.jsonl"
    score_file(scorer, source, output, carry=["id", "note"], chunk_rows=7)
    assert read_output(output)["note"].tolist() == frame["note"].tolist()


def test_a_stray_quote_in_an_unquoted_csv_value_does_not_break_the_file(
    valid_rows: pd.DataFrame, tmp_path: Path
) -> None:
    frame = valid_rows.head(60).copy()
    frame["note"] = [f'line one\nline "two", {i}' if i % 3 else f"plain {i}" for i in range(60)]
    source = write_csv(frame, tmp_path / "input.csv")
    # An unquoted value with a lone quote (not RFC 4180, but Arrow reads it): it flips the
    # splitter's quote count, so some cuts land inside later quoted values.
    text = source.read_text().replace("plain 3\n", 'plain 3 5" screen\n', 1)
    source.write_text(text)
    with CsvReader(source, block_bytes=97) as reader:
        notes = [n for c in reader.chunks(7) for n in c.table.column("note").to_pylist()]  # type: ignore[attr-defined]
    expected = frame["note"].tolist()
    expected[3] = 'plain 3 5" screen'
    assert notes == expected


def test_a_compressed_output_name_is_refused_before_anything_is_read(
    scorer: Scorer, valid_rows: pd.DataFrame, tmp_path: Path
) -> None:
    source = write_parquet(valid_rows.head(10), tmp_path / "input.parquet")
    with pytest.raises(BatchError, match="uncompressed"):
        score_file(scorer, source, tmp_path / "scores.csv.gz", carry=["id", "note"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["input.parquet"]
