"""Score chunks on every core: worker processes, each with its own scorer; results in input order.

    main process: reader ──chunk──► worker 1 ┐
                          ──chunk──► worker 2 ├──► results, in input order ──► writer
                          ──chunk──► ...      ┘

The main process reads and writes; the workers validate and score. A worker opens the
package itself, once, and checks its digests before its first chunk (a package changed
under a running job fails it). At most ``2 × workers`` chunks are in flight, so memory
stays flat whatever the file size. Scored chunks come back through files
(:mod:`modelport.batch.spool`), so a worker killed mid-send cannot hang the pool.

Workers are started with ``spawn``, never ``fork``: onnxruntime's thread pools and the
feature sources' connection pools do not survive a fork. A worker whose parent dies (a
``kill -9`` of the job) exits by itself instead of lingering.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa

from modelport.batch.chunks import Chunk
from modelport.batch.entities import EntityLookup
from modelport.batch.partitions import Work, score_work
from modelport.batch.score import ScoredChunk, prediction_schema, score_chunk
from modelport.batch.spool import Spool, Spooled
from modelport.errors import BatchError
from modelport.orchestrate.sources import SourceBinding
from modelport.orchestrate.spec import OrchestrationSpec
from modelport.package import load_scorer, open_package
from modelport.runtime import Scorer
from modelport.settings import Settings

__all__ = [
    "ChunkScorer",
    "ChunkScoring",
    "Engine",
    "ScoringPool",
    "default_workers",
    "ordered_results",
]

Result = TypeVar("Result")
IN_FLIGHT_PER_WORKER = 2
DEFAULT_CHUNK_ROWS: int = Settings.model_fields["batch_chunk_rows"].default
PARENT_CHECK_SECONDS = 1.0


class Engine(StrEnum):
    """Where chunks are scored: this machine's cores, or a Dask cluster."""

    LOCAL = "local"
    DASK = "dask"


def default_workers() -> int:
    """The cores this process may run on (its CPU affinity, not the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class ChunkScoring:
    """What a process needs to score chunks as the job asks: picklable, sent to each worker."""

    package: Path
    digest: str
    carry: tuple[str, ...] = ()
    ignore_extra: bool = False
    record_column: str | None = None
    threads: int = 1
    entity: OrchestrationSpec | None = None  # scoring by entity: where the inputs come from
    bindings: dict[str, SourceBinding] = field(default_factory=dict)


class ChunkScorer:
    """Scores chunk after chunk with one scorer (and, by entity, one set of open sources)."""

    def __init__(
        self,
        scorer: Scorer,
        *,
        carry: Sequence[str] = (),
        ignore_extra: bool = False,
        record_column: str | None = None,
        lookup: EntityLookup | None = None,
    ) -> None:
        self.scorer = scorer
        self.carry = list(carry)
        self.ignore_extra = ignore_extra
        self.record_column = record_column
        self.lookup = lookup
        self.schema: pa.Schema = prediction_schema(scorer)

    @classmethod
    def open(cls, scoring: ChunkScoring) -> ChunkScorer:
        """Open the package (every digest checked) and, by entity, connect to its sources."""
        package = open_package(scoring.package)
        if package.digest != scoring.digest:
            raise BatchError(
                f"the package at {scoring.package} is {package.digest[:12]}, not the "
                f"{scoring.digest[:12]} this job scores with: it changed during the job"
            )
        # no memory arena: chunks are large and alike, the arena would only hold a copy
        scorer = load_scorer(package, threads=scoring.threads, arena=False)
        lookup = None
        if scoring.entity is not None:
            lookup = EntityLookup.open(
                scoring.entity, scoring.bindings, keep=_read_by_model(scorer)
            )
        return cls(
            scorer,
            carry=scoring.carry,
            ignore_extra=scoring.ignore_extra,
            record_column=scoring.record_column,
            lookup=lookup,
        )

    def __call__(self, chunk: Chunk) -> ScoredChunk:
        return score_chunk(
            self.scorer,
            chunk,
            carry=self.carry,
            ignore_extra=self.ignore_extra,
            record_column=self.record_column,
            schema=self.schema,
            lookup=self.lookup,
        )

    def close(self) -> None:
        if self.lookup is not None:
            self.lookup.close()


def _read_by_model(scorer: Scorer) -> set[str]:
    """The fields the model reads itself (contract fields and pre-step inputs)."""
    return {*scorer.contract.names, *scorer.inputs}


def ordered_results(
    executor: Executor, work: Iterable[Any], score: Callable[[Any], Result], in_flight: int
) -> Iterator[Result]:
    """``score(item)`` for every item of ``work`` on ``executor``, yielded in input order,
    with at most ``in_flight`` submitted and not yet yielded. Leaving early cancels the rest."""
    pending: deque[Future[Result]] = deque()
    try:
        for item in work:
            pending.append(executor.submit(score, item))
            if len(pending) >= in_flight:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()


class ScoringPool:
    """``workers`` processes scoring chunks for one job; a context manager."""

    def __init__(self, scoring: ChunkScoring, workers: int) -> None:
        if workers < 1:
            raise BatchError(f"workers must be at least 1, got {workers}")
        self.workers = workers
        self._spool = Spool()
        self._executor = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(scoring, os.getpid()),
        )

    def scored(
        self,
        work: Iterable[Work],
        *,
        columns: Sequence[str] | None = None,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
    ) -> Iterator[ScoredChunk]:
        """Every chunk or partition scored, in input order: chunks are sent to the workers,
        partitions read by them (:mod:`modelport.batch.partitions`)."""
        wanted = list(columns) if columns is not None else None
        score = partial(
            _score_in_worker, columns=wanted, chunk_rows=chunk_rows, spool=self._spool.directory
        )
        in_flight = self.workers * IN_FLIGHT_PER_WORKER
        try:
            for spooled in ordered_results(self._executor, work, score, in_flight):
                yield self._spool.take(spooled)
        except BrokenProcessPool:
            raise BatchError(
                "a scoring worker process died (out of memory, or killed); nothing was "
                "written. Retry with fewer --workers or smaller --chunk-rows"
            ) from None

    def close(self) -> None:
        try:
            self._executor.shutdown(wait=True, cancel_futures=True)
        finally:
            self._spool.close()

    def __enter__(self) -> ScoringPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


# In each worker process: the job's scoring, opened at the first chunk, so that an error
# opening the package or a source reaches the main process as that chunk's exception.
_scoring: ChunkScoring | None = None
_scorer: ChunkScorer | None = None


def _start_worker(scoring: ChunkScoring, parent: int) -> None:
    global _scoring
    _scoring = scoring
    # Ctrl-C reaches the whole process group: the main process stops the job, not the
    # workers. (SIGTERM keeps its default: a broken pool stops its workers with it.)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(1)


def _score_in_worker(
    work: Work, columns: list[str] | None, chunk_rows: int, spool: Path
) -> Spooled:
    global _scorer
    if _scorer is None:
        if _scoring is None:
            raise BatchError("this process was not started as a scoring worker")
        _scorer = ChunkScorer.open(_scoring)
    return Spool.put(spool, score_work(_scorer, work, columns, chunk_rows))
