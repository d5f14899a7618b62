"""Adaptive micro-batching: concurrent requests to one model version share a runtime call.

A request's records join the version's queue; a flush takes whole requests from the
queue (up to ``max_rows`` rows) and validates and scores them together, then hands each
request its own slice of the answers, or its own refusal. Nothing waits on a timer when
the server is idle: the first request of a quiet moment is flushed on the event loop's
next turn, so a lone request is not delayed. Under load, the requests that arrived while
a batch was being scored form the next batch; ``max_wait`` lets a flush wait a little
for more company, but only while batches are forming: the previous flush held several
requests and ended less than ``max_wait`` ago. A quiet server, or one client sending one
request after another, never waits.

Scoring runs on the event loop when the model's measured cost says a batch takes well
under a millisecond (a thread hop would cost more than it saves), otherwise in a
thread, with at most one batch per version in flight.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from modelport.errors import FieldError, InvalidInput
from modelport.runtime import CONTRACT_MESSAGE
from modelport.serving.pool import LoadedModel

__all__ = ["BatchPolicy", "BatchStats", "Batchers", "MicroBatcher"]

INLINE_SECONDS = 0.0005  # estimated cost below which a batch is scored on the event loop

Answer = list[dict[str, Any]]
BatchObserver = Callable[["BatchStats"], None]


@dataclass(frozen=True, slots=True)
class BatchPolicy:
    max_rows: int = 256  # rows per runtime call; a larger request still goes whole
    max_wait: float = 0.0005  # seconds a flush may wait for company while requests pour in
    enabled: bool = True  # False: every request is scored on its own


class BatchStats(NamedTuple):
    """What one flush did, for metrics (a tuple: made on every flush, so made cheaply)."""

    model: LoadedModel
    requests: int
    rows: int


@dataclass(slots=True)
class _Waiting:
    records: Sequence[Any]
    future: asyncio.Future[Answer]


class MicroBatcher:
    """The queue of one loaded model version on one event loop."""

    def __init__(
        self,
        model: LoadedModel,
        policy: BatchPolicy,
        executor: Executor,
        observer: BatchObserver | None = None,
    ) -> None:
        self.model = model
        self._policy = policy
        self._executor = executor
        self._observer = observer
        self._queue: list[_Waiting] = []
        self._scheduled = False  # a flush is scheduled on the loop
        self._in_flight = False  # a batch is being scored in a thread
        self._last_flush = -math.inf  # loop time of the previous flush
        self._last_size = 0  # requests in the previous flush

    async def predict(self, records: Sequence[Any]) -> Answer:
        """One JSON-ready prediction per record, or :class:`InvalidInput` for this request."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Answer] = loop.create_future()
        self._queue.append(_Waiting(records, future))
        if not self._policy.enabled:
            self._flush_now(loop)
        elif not self._scheduled and not self._in_flight:
            forming = self._last_size > 1 and loop.time() - self._last_flush < self._policy.max_wait
            self._schedule(loop, wait=forming)
        return await future

    def _schedule(self, loop: asyncio.AbstractEventLoop, *, wait: bool) -> None:
        self._scheduled = True
        if wait:
            loop.call_later(self._policy.max_wait, self._flush, loop)
        else:
            loop.call_soon(self._flush, loop)

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        self._scheduled = False
        if not self._in_flight:
            self._flush_now(loop)

    def _flush_now(self, loop: asyncio.AbstractEventLoop) -> None:
        batch = self._take()
        if not batch:  # only cancelled requests were taken: the rest still need a flush
            self._after(loop)
            return
        rows = sum(len(w.records) for w in batch)
        self._last_flush = loop.time()
        self._last_size = len(batch)
        if self._observer is not None:
            self._observer(BatchStats(self.model, len(batch), rows))
        if self.model.estimated_seconds(rows) <= INLINE_SECONDS:
            _deliver(batch, _score_safely(self.model, batch))
            self._after(loop)
            return
        self._in_flight = True
        done = loop.run_in_executor(self._executor, _score, self.model, batch)
        done.add_done_callback(lambda finished: self._finished(loop, batch, finished))

    def _finished(
        self,
        loop: asyncio.AbstractEventLoop,
        batch: list[_Waiting],
        finished: asyncio.Future[list[Answer | BaseException]],
    ) -> None:
        self._in_flight = False
        error = finished.exception()
        if error is not None:  # scoring itself broke (not the input): every request hears it
            for waiting in batch:
                if not waiting.future.done():
                    waiting.future.set_exception(error)
        else:
            _deliver(batch, finished.result())
        self._after(loop)

    def _after(self, loop: asyncio.AbstractEventLoop) -> None:
        """After a flush: what queued up meanwhile has waited already, it goes next turn."""
        if self._queue and not self._scheduled:
            self._schedule(loop, wait=False)

    def _take(self) -> list[_Waiting]:
        """Whole requests from the front of the queue, up to ``max_rows`` rows (at least one)."""
        queue = self._queue
        taken = 0
        rows = 0
        while taken < len(queue):
            size = len(queue[taken].records)
            if taken and rows + size > self._policy.max_rows:
                break
            rows += size
            taken += 1
            if not self._policy.enabled:
                break
        batch = queue[:taken]
        del queue[:taken]
        return [w for w in batch if not w.future.cancelled()]


def _deliver(batch: list[_Waiting], answers: list[Answer | BaseException]) -> None:
    for waiting, answer in zip(batch, answers, strict=True):
        if waiting.future.done():  # the client went away
            continue
        if isinstance(answer, BaseException):
            waiting.future.set_exception(answer)
        else:
            waiting.future.set_result(answer)


def _score_safely(model: LoadedModel, batch: list[_Waiting]) -> list[Answer | BaseException]:
    """:func:`_score` on the event loop: a failure must reach the requests, not the loop."""
    try:
        return _score(model, batch)
    except Exception as exc:
        return [exc] * len(batch)


def _score(model: LoadedModel, batch: list[_Waiting]) -> list[Answer | BaseException]:
    """Validate and score the batch's records together; each request gets its own part."""
    records = [record for waiting in batch for record in waiting.records]
    scorer = model.scorer
    validated = scorer.validate(records)
    predictions = scorer.score(validated).answers()
    if not validated.errors:
        answers: list[Answer | BaseException] = []
        start = 0
        for waiting in batch:
            end = start + len(waiting.records)
            answers.append(predictions[start:end])
            start = end
        return answers
    return _split_with_errors(batch, validated.accepted, validated.errors, predictions)


def _split_with_errors(
    batch: list[_Waiting],
    accepted: np.ndarray,
    errors: list[FieldError],
    predictions: Answer,
) -> list[Answer | BaseException]:
    """A request with a refused record is refused whole; its neighbours are not affected."""
    bounds = np.cumsum([0, *(len(w.records) for w in batch)])
    rows = [e.record if e.record is not None else 0 for e in errors]
    owners = np.searchsorted(bounds, rows, side="right") - 1
    refused: dict[int, list[FieldError]] = {}
    for error, owner in zip(errors, owners.tolist(), strict=True):
        record = None if error.record is None else error.record - int(bounds[owner])
        refused.setdefault(owner, []).append(FieldError(record, error.field, error.reason))
    positions = np.searchsorted(accepted, bounds)  # where each request's scored rows begin
    answers: list[Answer | BaseException] = []
    for index in range(len(batch)):
        if index in refused:
            answers.append(InvalidInput(CONTRACT_MESSAGE, refused[index]))
        else:
            answers.append(predictions[int(positions[index]) : int(positions[index + 1])])
    return answers


class Batchers:
    """One :class:`MicroBatcher` per loaded model version, on the running event loop."""

    def __init__(
        self, policy: BatchPolicy, executor: Executor, observer: BatchObserver | None = None
    ) -> None:
        self.policy = policy
        self._executor = executor
        self._observer = observer
        self._batchers: dict[tuple[str, int], MicroBatcher] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def for_model(self, model: LoadedModel) -> MicroBatcher:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new loop (tests run one per call): start afresh
            self._loop = loop
            self._batchers = {}
        key = (model.name, model.version)
        batcher = self._batchers.get(key)
        if batcher is None or batcher.model is not model:  # first use, or reloaded since
            batcher = MicroBatcher(model, self.policy, self._executor, self._observer)
            self._batchers[key] = batcher
        return batcher
