"""``modelport batch``: score files (CSV, Parquet, JSON Lines) in chunks, with a progress bar."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import orjson
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from modelport.batch import BatchSummary, Format, score_file
from modelport.batch.parallel import Engine
from modelport.cli.output import console, err_console, fail_on_errors
from modelport.registry.opening import open_model
from modelport.settings import Settings

__all__ = ["app"]

app = typer.Typer(help="Score files in batch.", no_args_is_help=True)

LOG_EVERY_SECONDS = 10.0


@app.callback()
def _batch() -> None:
    """Score files in batch: CSV, Parquet or JSON Lines in, predictions and rejects out."""


@app.command()
def score(
    model: str = typer.Argument(
        ...,
        metavar="MODEL_REF",
        help="Registry reference (NAME, NAME@ALIAS, NAME:VERSION) or package directory / .mpk.",
    ),
    input: str = typer.Option(
        ..., "--input", "-i", help="File to score: a path or an fsspec URL (s3://...)."
    ),
    output: str = typer.Option(
        ..., "--output", "-o", help="File to write (replaced if present): a path or a URL."
    ),
    input_format: Format | None = typer.Option(
        None, "--input-format", help="Input format; by default from the file name."
    ),
    output_format: Format | None = typer.Option(
        None, "--output-format", help="Output format; by default from the file name."
    ),
    carry: list[str] | None = typer.Option(
        None,
        "--carry",
        "-c",
        help="Input columns to copy to the output, comma-separated (default: none, or the "
        "entity keys when scoring by entity; --carry '' for none).",
    ),
    rejects: str | None = typer.Option(
        None, "--rejects", help="Rejects file (JSON Lines); default <output>.rejects.jsonl."
    ),
    chunk_rows: int | None = typer.Option(
        None,
        "--chunk-rows",
        min=1,
        help="Rows per chunk; default MODELPORT_BATCH_CHUNK_ROWS (50,000).",
    ),
    ignore_extra: bool = typer.Option(
        False, "--ignore-extra", help="Skip input columns that are not model fields."
    ),
    record_column: str | None = typer.Option(
        None,
        "--record-column",
        metavar="NAME",
        help="Add each row's record number (0-based input row) as a first column NAME.",
    ),
    sources: Path | None = typer.Option(
        None,
        "--sources",
        metavar="FILE",
        help="Feature sources file (YAML) binding the model's sources to databases, to score "
        "a file of entity keys; default MODELPORT_SOURCES_FILE.",
    ),
    workers: int | None = typer.Option(
        None,
        "--workers",
        "-w",
        min=1,
        help="Processes scoring chunks in parallel; default: one per core.",
    ),
    threads: int = typer.Option(1, "--threads", min=1, help="onnxruntime threads per worker."),
    engine: Engine = typer.Option(
        Engine.LOCAL, "--engine", help="local: this machine's cores; dask: a Dask cluster."
    ),
    scheduler: str | None = typer.Option(
        None,
        "--scheduler",
        metavar="ADDRESS",
        help="Dask scheduler address (tcp://host:8786) for --engine dask; default: a local "
        "cluster of --workers processes.",
    ),
    job: Path | None = typer.Option(
        None,
        "--job",
        metavar="DIR",
        help="Job directory making the run resumable: run the same command again after a "
        "crash and only the chunks not done are scored.",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress display."),
    json_summary: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Score a file in chunks; rows that break the contract go to the rejects file.

    The output holds the carried columns, then label + proba_<class> (or value)
    and the decision fields the package declares, for the accepted rows in input
    order; it appears only once the whole file is scored.

    A file of entity keys (e.g. customer_id, with any request-time inputs) is
    scored by entity when the package says where its other inputs come from:
    each chunk is looked up in the feature sources (--sources).
    """
    settings = Settings()
    columns = None
    if carry is not None:
        columns = [name.strip() for item in carry for name in item.split(",") if name.strip()]
    with fail_on_errors(), _interruptible():
        package = open_model(model, settings).package
        with _progress(quiet) as progress:
            summary = score_file(
                package,
                input,
                output,
                input_format=input_format,
                output_format=output_format,
                carry=columns,
                rejects=rejects,
                chunk_rows=chunk_rows or settings.batch_chunk_rows,
                progress=progress,
                ignore_extra=ignore_extra,
                record_column=record_column,
                sources=sources or settings.sources_file,
                workers=workers,
                threads=threads,
                job=job,
                engine=engine,
                scheduler=scheduler,
            )
    if json_summary:
        console.out(orjson.dumps(summary.to_dict()).decode(), highlight=False)
    else:
        _print_summary(summary)


def _print_summary(summary: BatchSummary) -> None:
    if summary.finished_before:
        console.print(
            "[green]already done[/]: this job finished in an earlier run, nothing was "
            "scored now (delete its --job directory to score again); that run said:",
            highlight=False,
        )
    by = f" by {', '.join(summary.entity_keys)}" if summary.entity_keys else ""
    workers = f", {summary.workers} workers" if summary.workers > 1 else ""
    console.print(
        f"[green]scored[/] {summary.rows_scored:,} of {summary.rows_read:,} rows{by} "
        f"into {summary.output} in {summary.elapsed_seconds:.1f} s "
        f"({summary.rows_per_second:,.0f} rows/s{workers})",
        highlight=False,
    )
    if summary.rows_resumed:
        console.print(
            f"resumed: {summary.rows_resumed:,} rows were scored by an earlier run of the job",
            highlight=False,
        )
    if summary.rows_rejected:
        console.print(
            f"[yellow]rejected[/] {_rows(summary.rows_rejected)} "
            f"({_per_field(summary.rejected_fields)}): see {summary.rejects}",
            highlight=False,
        )
    else:
        console.print(f"rejected 0 rows ({summary.rejects} is empty)", highlight=False)
    if summary.rows_outside_expected:
        console.print(
            f"outside the expected ranges: {_rows(summary.rows_outside_expected)} "
            f"({_per_field(summary.outside_expected_fields)}), scored; declare real bounds "
            "in the contract to refuse them",
            highlight=False,
        )


def _per_field(counts: dict[str, int], shown: int = 5) -> str:
    """``loan_amount 12, age 3, ...``: the first ``shown`` fields and their row counts."""
    fields = list(counts.items())
    listed = ", ".join(f"{name} {count:,}" for name, count in fields[:shown])
    return listed + (", ..." if len(fields) > shown else "")


def _rows(count: int) -> str:
    return f"{count:,} row" if count == 1 else f"{count:,} rows"


@contextmanager
def _interruptible() -> Iterator[None]:
    """Ctrl-C and SIGTERM end the run cleanly: no output, exit status 130 / 143."""
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    except KeyboardInterrupt:
        err_console.print("[bold red]interrupted[/]: nothing was written", highlight=False)
        raise typer.Exit(130) from None
    except _Terminated:
        err_console.print("[bold red]terminated[/]: nothing was written", highlight=False)
        raise typer.Exit(143) from None
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


class _Terminated(BaseException):
    """SIGTERM, raised where the job is so that it cleans up like on Ctrl-C."""


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise _Terminated


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f} rows/s", style="progress.data.speed")


class _Bar:
    """A rich progress bar on a terminal; with a total (Parquet), percentage and ETA too."""

    def __init__(self, stream: Console) -> None:
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._console = stream

    def __call__(self, done: int, total: int | None) -> None:
        if self._progress is None:
            columns: list[ProgressColumn | str] = [TextColumn("scoring"), BarColumn()]
            if total is not None:
                columns += [MofNCompleteColumn(), TaskProgressColumn(), TimeRemainingColumn()]
            else:
                columns += [TextColumn("{task.completed:,.0f} rows")]
            columns += [_RateColumn(), TimeElapsedColumn()]
            self._progress = Progress(*columns, console=self._console)
            self._progress.start()
            self._task = self._progress.add_task("scoring", total=total)
        if self._task is not None:
            self._progress.update(self._task, completed=done)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()


class _LogLines:
    """Where no one watches a bar (logs, CI): a plain line at most every ``every`` seconds."""

    def __init__(self, stream: Console, every: float = LOG_EVERY_SECONDS) -> None:
        self._console = stream
        self._every = every
        self._started = time.monotonic()
        self._last = self._started

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        if done == 0 or now - self._last < self._every:
            return
        self._last = now
        rate = done / max(now - self._started, 1e-9)
        line = f"scored {done:,} rows ({rate:,.0f} rows/s)"
        if total:
            eta = (total - done) / rate if rate > 0 else 0.0
            line = (
                f"scored {done:,} of {total:,} rows ({done / total:.0%}, "
                f"{rate:,.0f} rows/s, ETA {eta:.0f} s)"
            )
        self._console.print(line, highlight=False, markup=False)

    def stop(self) -> None:
        return None


@contextmanager
def _progress(quiet: bool) -> Iterator[_Bar | _LogLines | None]:
    """Progress on standard error, so that standard output holds only the summary."""
    if quiet:
        yield None
        return
    display = _Bar(err_console) if err_console.is_terminal else _LogLines(err_console)
    try:
        yield display
    finally:
        display.stop()
