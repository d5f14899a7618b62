"""Input files for batch tests: loan applications with invalid rows at known records."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

ROWS = 25_000
CHUNK_ROWS = 4_000


@dataclass(frozen=True)
class Injected:
    """An input file and what the batch job must make of it."""

    path: Path
    frame: pd.DataFrame  # every record as written, as a frame (invalid values included)
    bad: dict[int, set[str | None]]  # record -> fields named in its reasons
    lines: dict[int, int]  # record -> 1-based line number (JSON Lines only)

    @property
    def good(self) -> np.ndarray:
        keep = np.ones(len(self.frame), dtype=bool)
        keep[list(self.bad)] = False
        return np.flatnonzero(keep)


# Records refused in every format (spread over several chunks of CHUNK_ROWS).
COMMON_BAD: dict[int, dict[str, Any]] = {
    5: {"age": -150.0},  # below the minimum the sample proves (0)
    4_003: {"delinquencies": -1},  # a negative count
    9_999: {"home_ownership": None},  # a required field is missing
    12_000: {"loan_term_months": 2.5},  # not an integer
    ROWS - 1: {"age": -5.0, "region": None},  # two reasons in one row
}


def _inject(frame: pd.DataFrame, changes: dict[int, dict[str, Any]]) -> pd.DataFrame:
    frame = frame.astype(object)
    for record, values in changes.items():
        for name, value in values.items():
            frame.at[record, name] = value
    return frame


def _fields(changes: dict[int, dict[str, Any]]) -> dict[int, set[str | None]]:
    return {record: set(values) for record, values in changes.items()}


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False)
    return path


def write_parquet(frame: pd.DataFrame, path: Path, *, row_group_size: int = 3_000) -> Path:
    pq.write_table(
        pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=row_group_size
    )
    return path


def json_lines(frame: pd.DataFrame) -> list[bytes]:
    records = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    return [orjson.dumps(r, option=orjson.OPT_SERIALIZE_NUMPY) for r in records]


def make_csv(valid: pd.DataFrame, directory: Path) -> Injected:
    changes = {
        **COMMON_BAD,
        7_777: {"annual_income": "abc"},  # not a number
        20_500: {"has_cosigner": "maybe"},  # not a boolean
    }
    frame = _inject(valid, changes)
    return Injected(write_csv(frame, directory / "applications.csv"), frame, _fields(changes), {})


def make_parquet(valid: pd.DataFrame, directory: Path) -> Injected:
    changes: dict[int, dict[str, Any]] = {**COMMON_BAD, 20_500: {"has_cosigner": 2}}
    frame = _inject(valid, changes)
    typed = frame.infer_objects().astype({"loan_term_months": "float64", "has_cosigner": "int8"})
    return Injected(
        write_parquet(typed, directory / "applications.parquet"), typed, _fields(changes), {}
    )


def make_jsonl(valid: pd.DataFrame, directory: Path) -> Injected:
    changes: dict[int, dict[str, Any]] = {
        **COMMON_BAD,
        7_777: {"annual_income": "52000"},  # JSON is typed: text is not a number
        15_000: {"open_accounts": True},  # nor is a boolean
    }
    frame = _inject(valid, changes)
    lines = json_lines(frame)
    lines[16_001] = b'{"id": 1016001, "age": 41, "annual_inc'  # cut short: not JSON
    lines[18_002] = b"[1, 2, 3]"  # JSON, but not an object
    lines[19_003] = orjson.dumps({**orjson.loads(lines[19_003]), "colour": "red"})  # unknown key
    bad = {**_fields(changes), 16_001: {None}, 18_002: {None}, 19_003: {"colour"}}
    # Blank lines are not records: after these, line numbers run ahead of record numbers.
    text, line_of, number = [], {}, 0
    for record, line in enumerate(lines):
        if record in (100, 10_000):
            text.append(b"   ")
            number += 1
        number += 1
        line_of[record] = number
        text.append(line)
    path = directory / "applications.jsonl"
    path.write_bytes(b"\n".join(text) + b"\n")
    return Injected(path, frame, bad, line_of)


MAKERS: dict[str, Callable[[pd.DataFrame, Path], Injected]] = {
    "csv": make_csv,
    "parquet": make_parquet,
    "jsonl": make_jsonl,
}


def read_output(path: Path) -> pd.DataFrame:
    """An output file of any format as a frame (CSV columns as text, so nothing is guessed)."""
    if path.suffix == ".parquet":
        return pq.read_table(path).to_pandas()
    if path.suffix == ".jsonl":
        return pd.DataFrame([orjson.loads(line) for line in path.read_bytes().splitlines()])
    return pd.read_csv(
        path,
        dtype={"id": str, "note": str, "label": np.int64, "record": np.int64},
        keep_default_na=False,
    )


def read_rejects(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]
