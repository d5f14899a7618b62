"""Score a whole file, chunk by chunk, into an output that appears only when complete.

    reader ──chunks──► workers: score_chunk ──tables, in input order──► writer (temporary)
                                            └─rejects───────────────► rejects writer
    at the end: rows in == rows out + rows rejected, then both files are renamed into place

On any failure, or Ctrl-C, both temporary files are removed and nothing appears.

* Cores: with a package, chunks are scored by a pool of worker processes, one per core by
  default (:mod:`modelport.batch.parallel`); a file of one chunk is scored in-process. A
  local Parquet file is not read here: each worker reads its partitions of row groups
  (:mod:`modelport.batch.partitions`), and only the results come back.
* Resumable: with a job directory, each scored chunk is kept there as it is done, and the
  output is assembled from them at the end (:mod:`modelport.batch.jobdir`); a run killed
  at any point, resumed with the same directory, scores only what was not done.
* Scoring by entity (the package declares where its inputs come from and the input has
  the entity keys instead): each chunk is looked up in the feature sources first, see
  :mod:`modelport.batch.entities`.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from modelport.batch.entities import EntityLookup, SourcesArgument, by_entity, resolve_bindings
from modelport.batch.formats import COMPRESSIONS, Format, resolve_format
from modelport.batch.jobdir import JobDirectory, remove_stale_partials
from modelport.batch.locations import Location, atomic_output
from modelport.batch.parallel import (
    DEFAULT_CHUNK_ROWS,
    ChunkScorer,
    ChunkScoring,
    Engine,
    ScoringPool,
    default_workers,
)
from modelport.batch.partitions import Partition, Work, plan_partitions, score_work
from modelport.batch.plan import (
    check_carry,
    check_paths,
    check_record_column,
    peek_names,
    plan_columns,
)
from modelport.batch.readers import Reader, open_reader
from modelport.batch.score import ScoredChunk, prediction_schema
from modelport.batch.summary import BatchSummary, default_rejects_path
from modelport.batch.writers import OutputSchema, RejectsWriter, open_writer
from modelport.errors import BatchError
from modelport.extras import require
from modelport.orchestrate.spec import OrchestrationSpec
from modelport.package import Package, load_scorer
from modelport.runtime import Scorer

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "BatchSummary",
    "ProgressCallback",
    "default_rejects_path",
    "score_file",
]

ProgressCallback = Callable[[int, int | None], None]
"""Called with (rows read so far, total rows or ``None``) at the start and after each chunk."""


def score_file(
    scorer_or_package: Scorer | Package,
    input: str | Path,
    output: str | Path,
    *,
    input_format: Format | str | None = None,
    output_format: Format | str | None = None,
    carry: Sequence[str] | None = None,
    rejects: str | Path | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: ProgressCallback | None = None,
    ignore_extra: bool = False,
    record_column: str | None = None,
    orchestration: OrchestrationSpec | None = None,
    sources: SourcesArgument = None,
    workers: int | None = None,
    threads: int = 1,
    job: str | Path | None = None,
    engine: Engine | str = Engine.LOCAL,
    scheduler: str | None = None,
) -> BatchSummary:
    """Score ``input`` into ``output``, ``chunk_rows`` rows at a time; refused rows to ``rejects``.

    Formats come from the file names unless given (``csv``, ``parquet``, ``jsonl``). The
    output holds the ``carry`` columns of the input, then the prediction columns, for the
    accepted rows in input order. ``rejects`` (default ``<output>.rejects.jsonl``) gets one
    JSON line per refused row. Both files appear only once the whole input is scored.

    Input columns that are not fields of the model are refused up front unless carried,
    ``ignore_extra`` is set, or the model's contract ignores extra fields.
    ``record_column`` names an output column, first, holding each row's record number
    (its 0-based row index in the input), to join the output back to the input.

    ``orchestration`` (default: the package's, when a package is given) says where the
    model's inputs come from: an input with the entity keys but not the sourced inputs is
    scored by entity, each chunk looked up in the feature sources ``sources`` binds (a
    sources file or bindings by name), one query per source per 500 distinct keys.
    Entities a source does not have are rejects; a source that is down fails the run.
    ``carry`` then defaults to the entity keys (``None``; ``()`` carries nothing).

    Given a package, chunks are scored by ``workers`` processes (default: one per core;
    an input of one chunk is scored in this process), each with ``threads`` onnxruntime
    threads. ``job`` names a job directory that makes the run resumable: run again with
    the same directory after a crash or ``kill -9``, it scores only the chunks not done,
    and the output holds every row exactly once. Both need a package, not a scorer.

    ``engine="dask"`` scores on the Dask cluster whose scheduler is at ``scheduler``
    (default: a local cluster of ``workers`` processes); the package is sent once to
    each worker and its digests checked there. See ``docs/batch.md``.
    """
    started = time.perf_counter()
    package = scorer_or_package if isinstance(scorer_or_package, Package) else None
    if package is not None:
        # the session only if this process scores (workers may do it all), without arena
        scorer = load_scorer(package, threads=threads, lazy=True, arena=False)
        if orchestration is None:
            orchestration = package.manifest.orchestration
    else:
        scorer = scorer_or_package  # type: ignore[assignment]
        if (workers or 1) > 1 or job is not None:
            raise BatchError(
                "several workers and job directories need the package (they open it in "
                "each process), not a loaded scorer"
            )
    engine = _engine(engine)
    if engine is Engine.DASK and package is None:
        raise BatchError("scoring on Dask needs the package (its workers open it), not a scorer")
    if workers is not None and workers < 1:
        raise BatchError(f"workers must be at least 1, got {workers}")
    source, target = Location(input), Location(output)
    rejects_path = Location(rejects if rejects is not None else default_rejects_path(output))
    in_format = resolve_format(source.name, input_format)
    out_format = resolve_format(target.name, output_format)
    if target.name.suffix.lower() in COMPRESSIONS:
        raise BatchError(
            f"output {target} names a compression ({target.name.suffix}); outputs are "
            "written uncompressed (Parquet compresses inside the file): drop the suffix"
        )
    check_paths(source, target, rejects_path)
    if carry is not None:
        carry = check_carry(list(carry), scorer)
    predictions = prediction_schema(scorer)

    with open_reader(source, in_format) as reader, ExitStack() as stack:
        chunks, names = peek_names(reader, chunk_rows, orchestration)
        spec = orchestration if by_entity(orchestration, names) else None
        bindings = resolve_bindings(sources, spec) if spec is not None else {}
        if carry is None:
            carry = check_carry(list(spec.entity) if spec is not None else [], scorer)
        leading = check_record_column(record_column, carry, scorer)
        columns = plan_columns(reader, scorer, carry, ignore_extra, spec, orchestration)
        # a local Parquet file is read by whoever scores it, a partition of row groups at a
        # time; other inputs are read here, chunk by chunk
        work: Iterable[Work]
        parts = _partitions(reader, chunk_rows)
        if parts is not None:
            work = parts
        else:
            work = chunks if chunks is not None else reader.chunks(chunk_rows, columns=columns)
        output_schema = OutputSchema(reader.schema, carry, leading, predictions)
        total = reader.total_rows
        run = _Run(total, progress)

        jobdir = None
        if job is not None and package is not None:
            identity = _identity(
                package, source, target, rejects_path, in_format, out_format,
                carry, ignore_extra, record_column, chunk_rows, spec, bindings,
            )  # fmt: skip
            jobdir = stack.enter_context(JobDirectory.open(job, identity))
            finished = jobdir.complete
            if finished is not None and target.exists() and rejects_path.exists():
                return dataclasses.replace(BatchSummary.from_dict(finished), finished_before=True)
            if finished is not None:
                raise BatchError(
                    f"the job in {job} finished, but its output {target} or rejects file "
                    f"{rejects_path} is gone; delete {job} to score the input again"
                )
            for written in (target, rejects_path):
                if written.local is not None:
                    remove_stale_partials(written.local)
            work = run.skipping_done(work, jobdir)

        # one chunk only: scored here, without starting worker processes
        if total is not None:
            several = total > chunk_rows
        else:
            first = list(itertools.islice(work, 2))
            several = len(first) > 1
            work = itertools.chain(first, work)
            del first  # chunks are slices of read blocks: keeping them would keep the blocks
        n_workers = workers or default_workers()
        scoring = None
        if package is not None:
            scoring = ChunkScoring(
                package.path, package.digest, tuple(carry), ignore_extra, record_column,
                threads, spec, bindings,
            )  # fmt: skip
        if scoring is not None and engine is Engine.DASK:
            require("dask", "batch scoring with the dask engine")
            from modelport.batch.distributed import DaskEngine  # dask only when asked for

            cluster = stack.enter_context(
                DaskEngine.connect(scoring, scheduler=scheduler, workers=workers)
            )
            n_workers = cluster.workers
            results = cluster.scored(work, columns=columns, chunk_rows=chunk_rows)
        elif scoring is not None and n_workers > 1 and several:
            pool = stack.enter_context(ScoringPool(scoring, n_workers))
            results = pool.scored(work, columns=columns, chunk_rows=chunk_rows)
        else:
            n_workers = 1
            lookup = None
            if spec is not None:
                lookup = EntityLookup.open(
                    spec, bindings, keep={*scorer.contract.names, *scorer.inputs}
                )
            chunk_scorer = ChunkScorer(
                scorer,
                carry=carry,
                ignore_extra=ignore_extra,
                record_column=record_column,
                lookup=lookup,
            )
            stack.callback(chunk_scorer.close)
            results = (score_work(chunk_scorer, item, columns, chunk_rows) for item in work)

        outputs = _Outputs(target, rejects_path, out_format, output_schema)
        if jobdir is None:
            _write_streaming(results, run, outputs)
        else:
            _write_through_job(results, run, jobdir, outputs)
        if total is not None and run.read != total:
            raise BatchError(f"{source} announces {total} rows but {run.read} were read")
        summary = BatchSummary(
            input=source.shown,
            output=target.shown,
            rejects=rejects_path.shown,
            input_format=in_format,
            output_format=out_format,
            rows_read=run.read,
            rows_scored=run.scored,
            rows_rejected=run.rejected,
            elapsed_seconds=time.perf_counter() - started,
            rejected_fields=dict(run.fields.most_common()),
            entity_keys=list(spec.entity) if spec is not None else [],
            workers=n_workers,
            rows_resumed=run.resumed,
            rows_outside_expected=run.outside,
            outside_expected_fields=dict(run.outside_fields.most_common()),
        )
        if jobdir is not None:
            jobdir.finish(summary.to_dict())
    return summary


class _Run:
    """The counts of a run as chunks are done, and its progress display."""

    def __init__(self, total: int | None, progress: ProgressCallback | None) -> None:
        self.total = total
        self.progress = progress
        self.read = self.scored = self.rejected = self.resumed = self.outside = 0
        self.fields: Counter[str] = Counter()
        self.outside_fields: Counter[str] = Counter()
        if progress is not None:
            progress(0, total)

    def add(self, result: ScoredChunk) -> None:
        self.read += result.n_rows
        self.scored += result.table.num_rows
        self.rejected += len(result.rejects)
        self.outside += result.outside_expected
        self.outside_fields.update(result.outside_expected_fields)
        for reject in result.rejects:
            self.fields.update({e.field or "(row)" for e in reject.errors})
        self._tell()

    def skipping_done(self, work: Iterable[Work], jobdir: JobDirectory) -> Iterator[Work]:
        """The chunks an earlier run of the job did not finish (the others count as read)."""
        for item in work:
            if jobdir.is_done(item.start, item.n_rows):
                self.resumed += item.n_rows
                self.read += item.n_rows
                self._tell()
            else:
                yield item

    def _tell(self) -> None:
        if self.progress is not None:
            self.progress(self.read, self.total)


@dataclass(frozen=True)
class _Outputs:
    target: Location
    rejects: Location
    format: Format
    schema: OutputSchema


def _write_streaming(results: Iterable[ScoredChunk], run: _Run, outputs: _Outputs) -> None:
    """Each scored chunk straight into the (temporary) output and rejects files."""
    with (
        atomic_output(outputs.target) as out_tmp,
        atomic_output(outputs.rejects) as rejects_tmp,
    ):
        writer = open_writer(out_tmp, outputs.format)
        rejects_writer = RejectsWriter(rejects_tmp)
        try:
            for result in results:
                writer.write(outputs.schema.conform(result.table))
                rejects_writer.write(result.rejects)
                run.add(result)
            writer.close(outputs.schema.final())
            rejects_writer.close()
        except BaseException:
            writer.abort()
            rejects_writer.abort()
            raise
        _check_counts(run.read, run.scored, run.rejected, writer.rows, rejects_writer.rows)


def _write_through_job(
    results: Iterable[ScoredChunk], run: _Run, jobdir: JobDirectory, outputs: _Outputs
) -> None:
    """Each scored chunk kept in the job directory; then all of them, in input order, into
    the (temporary) output and rejects files."""
    for result in results:
        jobdir.add(result)
        run.add(result)
    with (
        atomic_output(outputs.target) as out_tmp,
        atomic_output(outputs.rejects) as rejects_tmp,
    ):
        writer = open_writer(out_tmp, outputs.format)
        try:
            with rejects_tmp.open("wb") as rejects_file:
                totals = jobdir.assemble(writer, rejects_file, outputs.schema)
            writer.close(outputs.schema.final())
        except BaseException:
            writer.abort()
            raise
        _check_counts(totals.rows, totals.scored, totals.rejected, writer.rows, totals.rejected)
        if totals.rows != run.read:
            raise BatchError(
                f"{run.read} rows read but the job's parts hold {totals.rows}; nothing was "
                "written: start over with a new --job directory"
            )
    run.scored, run.rejected = totals.scored, totals.rejected
    run.fields = Counter(totals.fields)
    run.outside = totals.outside_expected
    run.outside_fields = Counter(totals.outside_expected_fields)


def _partitions(reader: Reader, chunk_rows: int) -> list[Partition] | None:
    """A local Parquet file's partitions, unless a row group is much larger than a chunk
    (read whole, it would hold memory the chunk size promises not to)."""
    local = reader.location.local
    if reader.format is not Format.PARQUET or local is None:
        return None
    parts = list(plan_partitions(local, chunk_rows))
    if any(part.n_rows > 2 * chunk_rows for part in parts):
        return None
    return parts


def _engine(engine: Engine | str) -> Engine:
    try:
        return Engine(engine)
    except ValueError:
        raise BatchError(
            f"unknown engine {engine!r}; use one of {', '.join(e.value for e in Engine)}"
        ) from None


def _check_counts(read: int, scored: int, rejected: int, written: int, refused: int) -> None:
    if read != scored + rejected or written != scored or refused != rejected:
        raise BatchError(
            f"{read} rows read but {written} written and {refused} rejected; nothing was written"
        )


def _identity(
    package: Package,
    source: Location,
    target: Location,
    rejects: Location,
    in_format: Format,
    out_format: Format,
    carry: Sequence[str],
    ignore_extra: bool,
    record_column: str | None,
    chunk_rows: int,
    spec: OrchestrationSpec | None,
    bindings: dict[str, Any],
) -> dict[str, Any]:
    """What makes two runs the same job: resuming is only sound between those."""
    return {
        "input": _where(source),
        "input_version": source.fingerprint(),
        "input_format": in_format.value,
        "package": package.digest,
        "output": _where(target),
        "output_format": out_format.value,
        "rejects": _where(rejects),
        "carry": list(carry),
        "ignore_extra": ignore_extra,
        "record_column": record_column,
        "chunk_rows": chunk_rows,
        "by_entity": list(spec.entity) if spec is not None else None,
        # without passwords: the job file is not a secret store, and a rotated password
        # is the same job
        "sources": {n: _without_password(b.model_dump(mode="json")) for n, b in bindings.items()},
    }


def _without_password(binding: dict[str, Any]) -> dict[str, Any]:
    try:
        url = make_url(binding["url"]).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        url = Location.safe(str(binding["url"]))
    return {**binding, "url": url}


def _where(location: Location) -> str:
    return str(location.local.resolve()) if location.local is not None else str(location)
