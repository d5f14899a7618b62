"""Batch rows outside the contract's expected ranges are scored, and counted in the summary,
whichever engine scores them (in process, worker processes, a resumable job)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from modelport.batch import score_file
from modelport.package import open_package
from modelport.runtime import Scorer


def _beyond(scorer: Scorer, valid_rows: pd.DataFrame, field: str, rows: list[int]) -> pd.DataFrame:
    """``valid_rows`` (its ``id`` and ``note`` columns dropped) with ``field`` set past its
    expected maximum (twice it) in ``rows``: values no hard limit refuses."""
    spec = scorer.contract.field(field)
    assert spec.expected_maximum is not None and spec.maximum is None
    frame = valid_rows.drop(columns=["id", "note"]).head(3_000).copy()
    frame.loc[rows, field] = spec.expected_maximum * 2
    return frame


def _outside(scorer: Scorer, frame: pd.DataFrame) -> dict[str, set[int]]:
    """The rows each field holds outside its expected range or categories, found from the
    contract with pandas, not by the validator."""
    found: dict[str, set[int]] = {}
    for spec in scorer.contract.fields:
        column = frame[spec.name]
        if spec.expected_minimum is not None or spec.expected_maximum is not None:
            low = spec.expected_minimum if spec.expected_minimum is not None else -float("inf")
            high = spec.expected_maximum if spec.expected_maximum is not None else float("inf")
            mask = column.notna() & ((column < low) | (column > high))
        elif spec.expected_categories is not None:
            mask = column.notna() & ~column.isin(spec.expected_categories)
        else:
            continue
        if mask.any():
            found[spec.name] = set(frame.index[mask])
    return found


@pytest.mark.parametrize("how", ["in process", "two workers", "resumable job"])
def test_rows_outside_the_expected_range_are_scored_and_counted(
    scorer: Scorer, loan_package_path: Path, valid_rows: pd.DataFrame, tmp_path: Path, how: str
) -> None:
    beyond = [3, 700, 1_500, 2_999]
    frame = _beyond(scorer, valid_rows, "loan_amount", beyond)
    source = tmp_path / "in.parquet"
    frame.to_parquet(source, index=False)
    options: dict[str, object] = {"chunk_rows": 1_000}
    if how == "two workers":
        options["workers"] = 2
    if how == "resumable job":
        options["job"] = tmp_path / "job"
    package = open_package(loan_package_path)  # workers open it themselves
    summary = score_file(package, source, tmp_path / "out.parquet", **options)  # type: ignore[arg-type]
    assert (summary.rows_scored, summary.rows_rejected) == (3_000, 0)
    outside = _outside(scorer, frame)
    assert set(beyond) <= outside["loan_amount"]
    rows = set().union(*outside.values())
    assert summary.rows_outside_expected == len(rows)
    assert summary.outside_expected_fields == {k: len(v) for k, v in outside.items()}
    assert pq.read_metadata(tmp_path / "out.parquet").num_rows == 3_000
    assert summary.to_dict()["rows_outside_expected"] == len(rows)
