"""The prediction log: appending costs a request almost nothing, a thread writes in bulk.

The same pattern as the access log (``modelport.server.logs.AccessLog``): answering a
request only extends a deque; a background thread takes what has gathered every
``flush_seconds`` (0.5 s by default), or as soon as ``batch_rows`` are waiting, redacts
it, and hands it to the sink in batches of ``batch_rows`` (one transaction or one file
each). A crash (``kill -9``, power loss) loses what was appended in the last flush
interval plus the time of one write: about a second. :meth:`PredictionLog.close`, called
at graceful shutdown, writes everything appended before it, so every answered request is
in the log.

When the sink fails (database down, disk full) nothing reaches the caller: the error is
logged, the batch is kept and offered again after a pause that doubles from
``flush_seconds`` up to ``retry_max_seconds``, and new records keep gathering. Memory stays
bounded: once ``max_buffered_rows`` wait, further records are not kept but counted in
:attr:`PredictionLog.dropped` (for a metric and an alert), oldest records staying first in
line. When the sink comes back, the backlog is written in order. At close, the log tries
for ``close_timeout`` seconds at most; what it could not write is counted as dropped.
Records the sink refuses as data (a value the database will never accept) are counted
in :attr:`PredictionLog.refused`, and never block the records behind them.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections import deque
from collections.abc import Iterable
from types import TracebackType

from modelport.predlog.record import PredictionRecord
from modelport.predlog.redaction import Redactor
from modelport.predlog.sampling import Sampler
from modelport.predlog.sink import Sink

__all__ = ["PredictionLog"]

logger = logging.getLogger("modelport.predlog")


class PredictionLog:
    """Appends prediction records to ``sink`` off the caller's thread, in batches."""

    def __init__(
        self,
        sink: Sink,
        *,
        flush_seconds: float = 0.5,
        batch_rows: int = 1000,
        max_buffered_rows: int = 100_000,
        sample_rate: float = 1.0,
        redactor: Redactor | None = None,
        retry_max_seconds: float = 10.0,
        close_timeout: float = 10.0,
    ) -> None:
        if flush_seconds <= 0 or batch_rows < 1 or max_buffered_rows < 1:
            raise ValueError("flush_seconds, batch_rows and max_buffered_rows must be positive")
        self.sink = sink
        self.flush_seconds = flush_seconds
        self.batch_rows = batch_rows
        self.max_buffered_rows = max_buffered_rows
        self.sampler = Sampler(sample_rate)
        self.redactor = redactor or Redactor()
        self.retry_max_seconds = max(retry_max_seconds, flush_seconds)
        self.close_timeout = close_timeout
        self._incoming: deque[PredictionRecord] = deque()
        self._pending: list[PredictionRecord] = []  # taken from _incoming, not yet written
        self._wake = threading.Event()  # a batch is full, or someone waits in flush()
        self._stop = threading.Event()
        self._waiters: deque[threading.Event] = deque()  # flush() calls to release
        self._start_lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._thread: threading.Thread | None = None  # started by the first append
        self._closed = False
        self._written = 0
        self._dropped = 0
        self._refused = 0
        self._failures = 0  # consecutive failed writes; 0 while the sink is healthy
        self._gave_up = False  # close() dropped what it could not write

    # -- the caller's side: never blocks, never does I/O -------------------------------------

    def append(self, records: Iterable[PredictionRecord]) -> None:
        """Queue ``records`` for writing (kept or dropped per request by the sample rate)."""
        if self._thread is None:
            self._start()
        if self.sampler.rate < 1.0:
            keeps = self.sampler.keeps
            records = [record for record in records if keeps(record.request_id)]
        incoming = self._incoming
        if self._closed or len(incoming) >= self.max_buffered_rows:
            self._drop(records)
            return
        incoming.extend(records)
        if len(incoming) >= self.batch_rows and not self._wake.is_set():
            self._wake.set()

    @property
    def written(self) -> int:
        """Records the sink has stored."""
        return self._written

    @property
    def dropped(self) -> int:
        """Records lost: buffer full while the sink was failing, appended after close, or
        still unwritten when close gave up."""
        return self._dropped

    @property
    def refused(self) -> int:
        """Records the sink refused as data (left out so the others could be written)."""
        return self._refused

    @property
    def buffered(self) -> int:
        """Records waiting to be written."""
        return len(self._incoming) + len(self._pending)

    @property
    def failing(self) -> bool:
        """Whether the last write failed (the sink is down or refusing)."""
        return self._failures > 0

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until what was appended before this call is written; ``False`` on timeout
        (the sink is failing). For batch jobs and tests: the server never waits on it."""
        if self._thread is None or self._closed:
            return not self.buffered
        done = threading.Event()
        self._waiters.append(done)
        self._wake.set()
        return done.wait(timeout) and not self._gave_up

    def close(self) -> None:
        """Write everything appended so far (for up to ``close_timeout`` seconds), then stop
        the thread and release the sink. Call at graceful shutdown; idempotent."""
        with self._start_lock:
            if self._closed:
                return
            self._closed = True
        atexit.unregister(self.close)
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
        else:
            self._drain_until(time.monotonic() + self.close_timeout)
        lost = self.buffered
        self._gave_up = lost > 0
        while self._waiters:  # flush() calls still waiting: they wait no more
            self._waiters.popleft().set()
        if lost:
            self._incoming.clear()
            self._pending = []
            self._drop_count(lost)
            logger.error(
                "prediction log closed with %d records unwritten (sink %r)", lost, self.sink
            )
        try:
            self.sink.close()
        except Exception:
            logger.exception("closing the prediction log sink %r failed", self.sink)

    def __enter__(self) -> PredictionLog:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is not None or self._closed:
                return
            thread = threading.Thread(target=self._run, name="modelport-predlog", daemon=True)
            thread.start()
            self._thread = thread
        # The thread is a daemon (a non-daemon one would hold up interpreter exit before
        # atexit runs), so an exit without close() still writes what is buffered:
        atexit.register(self.close)

    def _drop(self, records: Iterable[PredictionRecord]) -> None:
        count = sum(1 for _ in records)
        if count:
            first = self._dropped == 0
            self._drop_count(count)
            if first:
                logger.error(
                    "prediction log buffer full (%d records; sink %r failing): dropping "
                    "records until it recovers",
                    self.max_buffered_rows,
                    self.sink,
                )

    def _drop_count(self, count: int) -> None:
        with self._count_lock:  # appends from several threads: no count lost
            self._dropped += count

    # -- the writer thread ---------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._failures:  # back off; only close() cuts the pause short
                pause = min(
                    self.flush_seconds * 2 ** min(self._failures, 20), self.retry_max_seconds
                )
                self._stop.wait(pause)
            else:
                self._wake.wait(self.flush_seconds)
            self._wake.clear()
            if self._stop.is_set():
                break
            self._drain()
        self._drain_until(time.monotonic() + self.close_timeout)

    def _drain_until(self, deadline: float) -> None:
        """At close: keep trying (with short pauses) until all is written or time is up."""
        while not self._drain() and time.monotonic() < deadline:
            time.sleep(min(self.flush_seconds, max(0.0, deadline - time.monotonic())))

    def _drain(self) -> bool:
        """Write what is waiting, a batch at a time; ``False`` if the sink failed."""
        waiters = [self._waiters.popleft() for _ in range(len(self._waiters))]
        incoming = self._incoming
        while True:
            if not self._pending:
                count = min(len(incoming), self.batch_rows)
                if not count:
                    break
                redact = self.redactor.apply
                self._pending = [redact(incoming.popleft()) for _ in range(count)]
            try:
                refused = self.sink.write(self._pending)
            except Exception as exc:
                self._failed(exc)
                self._waiters.extendleft(reversed(waiters))
                return False
            if self._failures:
                logger.warning(
                    "prediction log sink %r is back after %d failed writes",
                    self.sink,
                    self._failures,
                )
                self._failures = 0
            self._written += len(self._pending) - refused
            self._refused += refused
            if refused:
                logger.error("prediction log sink %r refused %d records", self.sink, refused)
            self._pending = []
        for done in waiters:
            done.set()
        return True

    def _failed(self, exc: Exception) -> None:
        self._failures += 1
        if self._failures == 1:
            logger.error(
                "prediction log sink %r failed; keeping up to %d records and retrying",
                self.sink,
                self.max_buffered_rows,
                exc_info=exc,
            )
        else:
            reason = " ".join(str(exc).split())[:500]
            logger.warning(
                "prediction log sink %r still failing (%d times): %s",
                self.sink,
                self._failures,
                reason,
            )
