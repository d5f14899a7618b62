"""Score a batch job on a Dask cluster: the same chunks, the same scorer, other machines.

    client: plan ──tasks──► scheduler ──► worker 1: [package, verified] read/score ┐
            (reads CSV/JSONL itself      ──► worker 2: [package, verified] ...       ├─► client:
             and scatters the chunks)    ──► ...                                     ┘   in order

What runs where:

* The client packs the job's package into one ``.mpk`` (verified as it is packed) and
  registers it as a worker plugin: the scheduler hands it to every worker once, workers
  that join later included. Each worker unpacks it into its own local directory, opens
  it (:func:`~modelport.package.open_package` checks every file's digest there) and
  refuses it unless its digest is the job's. A package that arrives changed fails the
  job before a row is scored. The worker keeps one :class:`ChunkScorer` per thread for
  the whole job; the plugin is removed (and the copy deleted) when the job ends.
* Parquet: the client reads only the file's footer, groups whole row groups into
  partitions of about ``chunk_rows`` rows, and each task reads its row groups on the
  worker ("scored where they live"; the path must be reachable there too).
* CSV, JSON Lines, or resuming a ``--job``: the client reads the chunks and scatters
  each straight to a worker.

Results come back in input order with at most ``2 × threads`` tasks in flight, each
released as soon as it is consumed, so memory stays flat whatever the file size. An
error in a task reaches the caller as itself (modelport errors pickle); nothing is
written then, as with the local pool (:mod:`modelport.batch.parallel`).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
import threading
import uuid
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from distributed import Client, Future, KilledWorker, LocalCluster, WorkerPlugin, get_worker

from modelport.batch.chunks import Chunk
from modelport.batch.parallel import (
    DEFAULT_CHUNK_ROWS,
    IN_FLIGHT_PER_WORKER,
    ChunkScorer,
    ChunkScoring,
    default_workers,
)
from modelport.batch.partitions import Partition, Work, score_partition
from modelport.batch.score import ScoredChunk
from modelport.errors import BatchError
from modelport.package.archive import ARCHIVE_SUFFIX, pack, unpack

__all__ = ["CONNECT_TIMEOUT_SECONDS", "DaskEngine"]

CONNECT_TIMEOUT_SECONDS = 10.0
_T = TypeVar("_T")


class DaskEngine:
    """A connection to a Dask cluster whose workers hold one job's package, verified."""

    def __init__(self, client: Client, plugin: str) -> None:
        self.client = client
        self.plugin = plugin  # the name the package is registered under (unique per job)
        threads = client.nthreads()
        self.workers = len(threads)
        self._in_flight = max(1, sum(threads.values())) * IN_FLIGHT_PER_WORKER

    @classmethod
    @contextmanager
    def connect(
        cls, scoring: ChunkScoring, *, scheduler: str | None, workers: int | None
    ) -> Iterator[DaskEngine]:
        """The cluster at ``scheduler`` (``None``: a local one of ``workers`` processes,
        closed at the end), its workers holding the package of ``scoring``."""
        with _quiet():
            cluster = None
            if scheduler is None:
                cluster = LocalCluster(
                    n_workers=workers or default_workers(),
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                )
                client = Client(cluster, set_as_default=False)
            else:
                client = _client(scheduler)
            try:
                name = f"modelport-{scoring.digest[:12]}-{uuid.uuid4().hex[:8]}"
                try:
                    client.register_plugin(_PackagePlugin(_archive(scoring), scoring), name=name)
                    yield cls(client, name)
                finally:
                    with suppress(Exception):
                        client.unregister_worker_plugin(name)
            finally:
                client.close()
                if cluster is not None:
                    cluster.close()

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

        def submit(item: Work, key: str) -> Future:
            if isinstance(item, Partition):
                return self.client.submit(
                    _score_partition, self.plugin, item, wanted, chunk_rows, key=key
                )
            return self._submit_chunk(item, key)

        return self._ordered(work, submit)

    def _submit_chunk(self, chunk: Chunk, key: str) -> Future:
        data = self.client.scatter(chunk, hash=False)  # straight to a worker; never deduplicated
        return self.client.submit(_score_chunk, self.plugin, data, key=key)

    def _ordered(
        self, items: Iterable[_T], submit: Callable[[_T, str], Future]
    ) -> Iterator[ScoredChunk]:
        pending: deque[Future] = deque()
        try:
            for number, item in enumerate(items):
                pending.append(submit(item, f"{self.plugin}-{number}"))
                if len(pending) >= self._in_flight:
                    yield _result(pending.popleft())
            while pending:
                yield _result(pending.popleft())
        finally:
            if pending:
                with suppress(Exception):
                    self.client.cancel(list(pending))


def _client(address: str) -> Client:
    """A client of the scheduler at ``address`` once it has a worker; a BatchError, not a
    hang, when it cannot be reached or has no workers."""
    timeout = CONNECT_TIMEOUT_SECONDS
    try:
        client = Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise BatchError(
            f"cannot reach the Dask scheduler at {address} within {timeout:g} s "
            f"({' '.join(str(exc).split()) or type(exc).__name__}); is `dask scheduler` "
            "running there, and the address tcp://HOST:PORT?"
        ) from None
    try:
        client.wait_for_workers(1, timeout=timeout)
    except (OSError, TimeoutError):
        client.close()
        raise BatchError(
            f"the Dask cluster at {address} has no workers after {timeout:g} s; start some "
            f"with `dask worker {address}`"
        ) from None
    return client


def _archive(scoring: ChunkScoring) -> bytes:
    """The package as ``.mpk`` bytes: an archive as it is, a directory packed (verified)."""
    if scoring.package.is_file():
        return scoring.package.read_bytes()
    with tempfile.TemporaryDirectory(prefix="modelport-") as scratch:
        return pack(scoring.package, Path(scratch) / f"package{ARCHIVE_SUFFIX}").read_bytes()


def _result(future: Future) -> ScoredChunk:
    try:
        result: ScoredChunk = future.result()
    except KilledWorker:
        raise BatchError(
            "Dask workers kept dying while scoring (out of memory, or killed); nothing was "
            "written. Give the workers more memory or use smaller --chunk-rows"
        ) from None
    return result


@contextmanager
def _quiet() -> Iterator[None]:
    """Dask's INFO logs and warnings are for cluster operators, not a CLI user: errors only."""
    logger = logging.getLogger("distributed")
    level = logger.level
    logger.setLevel(max(logging.ERROR, level))
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", module=r"distributed\..*")
            yield
    finally:
        logger.setLevel(level)


# --- on the workers --------------------------------------------------------------------


class _PackagePlugin(WorkerPlugin):
    """The job's package, unpacked and verified once on each worker, and its scorers."""

    def __init__(self, archive: bytes, scoring: ChunkScoring) -> None:
        self.archive = archive
        self.scoring = scoring
        self.directory: Path | None = None
        self.opened = 0  # scorers opened on this worker (one per thread that scored)
        self.error: BaseException | None = None
        self._idle: list[ChunkScorer] = []
        self._lock: threading.Lock | None = None

    async def setup(self, worker: Any) -> None:
        # unpacking, hashing and loading a model take a while: off the worker's event loop
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._open, Path(worker.local_directory))

    def _open(self, local: Path) -> None:
        self._lock = threading.Lock()
        self.directory = Path(tempfile.mkdtemp(prefix="modelport-", dir=local))
        try:
            archive = self.directory / f"package{ARCHIVE_SUFFIX}"
            archive.write_bytes(self.archive)
            self.archive = b""
            package = unpack(archive, self.directory / "package")
            archive.unlink()
            # open_package verifies every file's digest; ChunkScorer.open also checks the
            # package is the one the job scores with
            self.scoring = replace(self.scoring, package=package)
            self._idle.append(self._new_scorer())
        except BaseException as exc:
            self.error = exc
            raise

    def _new_scorer(self) -> ChunkScorer:
        scorer = ChunkScorer.open(self.scoring)
        self.opened += 1
        return scorer

    def score(self, chunk: Chunk) -> ScoredChunk:
        if self.error is not None:
            raise self.error
        if self._lock is None:
            raise BatchError("the package has not been set up on this Dask worker")
        with self._lock:
            scorer = self._idle.pop() if self._idle else None
        if scorer is None:  # a worker with several threads: one scorer per busy thread
            scorer = self._new_scorer()
        try:
            return scorer(chunk)
        finally:
            with self._lock:
                self._idle.append(scorer)

    def teardown(self, worker: Any) -> None:
        for scorer in self._idle:
            with suppress(Exception):
                scorer.close()
        self._idle.clear()
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)


def _plugin(name: str) -> _PackagePlugin:
    plugin = get_worker().plugins.get(name)
    if not isinstance(plugin, _PackagePlugin):
        raise BatchError(f"this Dask worker has not received the job's package ({name})")
    return plugin


def _score_chunk(name: str, chunk: Chunk) -> ScoredChunk:
    return _plugin(name).score(chunk)


def _score_partition(
    name: str, part: Partition, columns: list[str] | None, chunk_rows: int
) -> ScoredChunk:
    """Read the partition's row groups here, score them ``chunk_rows`` rows at a time."""
    return score_partition(_plugin(name).score, part, columns, chunk_rows)
