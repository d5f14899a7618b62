"""``modelport batch score`` as a user types it: package paths, registry references, errors."""

from __future__ import annotations

from pathlib import Path

import orjson
import pandas as pd
import pyarrow.parquet as pq
import pytest
from batch_inputs import read_rejects, write_csv, write_parquet
from rich.console import Console
from typer.testing import CliRunner, Result

from modelport.cli.batch import _LogLines
from modelport.cli.main import app
from modelport.datasets import LOAN_FEATURES
from modelport.registry import Registry
from modelport.runtime import Scorer
from modelport.settings import Settings


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("MODELPORT_DATABASE_URL", raising=False)
    monkeypatch.delenv("MODELPORT_BATCH_CHUNK_ROWS", raising=False)
    return tmp_path / "home"


def _run(home: Path, *args: str, **env: str) -> Result:
    runner = CliRunner(env={"MODELPORT_HOME": str(home), "COLUMNS": "200", **env})
    return runner.invoke(app, ["batch", "score", *args])


@pytest.fixture
def applications(valid_rows: pd.DataFrame, tmp_path: Path) -> Path:
    frame = valid_rows.head(1_000).copy()
    frame.loc[10, "age"] = -9.0  # never negative in the sample: refused
    return write_parquet(frame, tmp_path / "applications.parquet")


def test_score_with_a_package_path(
    home: Path, applications: Path, loan_package_path: Path, scorer: Scorer, tmp_path: Path
) -> None:
    output = tmp_path / "scores.csv"
    result = _run(
        home, str(loan_package_path), "-i", str(applications), "-o", str(output),
        "--carry", "id,note", "--chunk-rows", "300", "--record-column", "record",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "scored 999 of 1,000 rows" in result.stdout
    assert f"rejected 1 row (age 1): see {output}.rejects.jsonl" in result.stdout
    scores = pd.read_csv(output)
    assert list(scores.columns) == ["record", "id", "note", "label", "proba_0", "proba_1"]
    assert scores["record"].tolist() == [i for i in range(1_000) if i != 10]
    frame = pq.read_table(applications).to_pandas().drop(index=10)
    assert scores["label"].tolist() == scorer.predict(frame[LOAN_FEATURES])["label"].tolist()
    [reject] = read_rejects(Path(f"{output}.rejects.jsonl"))
    assert reject["record"] == 10 and reject["errors"][0]["field"] == "age"
    assert not home.exists()  # a package path never touches the registry


def test_score_with_a_registry_reference(
    home: Path, applications: Path, loan_package_path: Path, tmp_path: Path
) -> None:
    with Registry.from_settings(Settings(home=home)) as registry:
        registry.register(loan_package_path, alias="staging")
    output = tmp_path / "scores.jsonl"
    for reference in ("loan-approval@staging", "loan-approval:1"):
        result = _run(
            home, reference, "--input", str(applications), "--output", str(output),
            "--carry", "id", "--carry", "note", "--rejects", str(tmp_path / "refused.jsonl"),
            "--json",
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        summary = orjson.loads(result.stdout)
        assert summary["rows_read"] == 1_000 and summary["rows_rejected"] == 1
        assert summary["rejects"] == str(tmp_path / "refused.jsonl")
        assert len(output.read_bytes().splitlines()) == 999

    result = _run(home, "loan-approval", "-i", str(applications), "-o", str(output))
    assert result.exit_code == 1
    assert "alias" in result.stderr and "production" in result.stderr


def test_formats_can_be_given(
    home: Path, valid_rows: pd.DataFrame, loan_package_path: Path, tmp_path: Path
) -> None:
    source = write_csv(valid_rows.head(50)[LOAN_FEATURES], tmp_path / "export.txt")
    output = tmp_path / "scores.out"
    result = _run(
        home, str(loan_package_path), "-i", str(source), "-o", str(output),
        "--input-format", "csv", "--output-format", "parquet", "--quiet",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert pq.read_table(output).num_rows == 50
    assert "rejected 0 rows" in result.stdout


def test_the_chunk_size_setting_is_the_default(
    home: Path, applications: Path, loan_package_path: Path, tmp_path: Path
) -> None:
    output = tmp_path / "scores.parquet"
    result = _run(
        home, str(loan_package_path), "-i", str(applications), "-o", str(output), "--ignore-extra",
        MODELPORT_BATCH_CHUNK_ROWS="250",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert pq.ParquetFile(output).metadata.num_row_groups == 4  # one per chunk


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-i", "missing.csv", "-o", "out.csv"], "input missing.csv does not exist"),
        (["-i", "{applications}", "-o", "out.csv"], "not fields of this model: id, note"),
        (["-i", "{applications}", "-o", "out.xlsx", "--ignore-extra"], "cannot tell the format"),
    ],
)
def test_errors_are_one_line_and_exit_1(
    home: Path,
    applications: Path,
    loan_package_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    args = [a.replace("{applications}", str(applications)) for a in args]
    result = _run(home, str(loan_package_path), *args)
    assert result.exit_code == 1
    assert "error (batch_error)" in result.stderr and message in result.stderr
    assert "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["applications.parquet"]


def test_a_missing_package_path_is_not_taken_for_a_reference(
    home: Path, applications: Path, tmp_path: Path
) -> None:
    result = _run(home, str(tmp_path / "nowhere" / "loan"), "-i", str(applications), "-o", "x.csv")
    assert result.exit_code == 1
    assert "no package at" in result.stderr
    assert not home.exists()


def test_log_lines_where_no_terminal_watches() -> None:
    console = Console(record=True, width=200, force_terminal=False)
    lines = _LogLines(console, every=0.0)
    lines(0, 400)
    lines(100, 400)
    lines(400, 400)
    lines(500, None)
    text = console.export_text()
    assert "scored 100 of 400 rows (25%," in text and "ETA" in text
    assert "scored 500 rows (" in text
    assert len(text.splitlines()) == 3
