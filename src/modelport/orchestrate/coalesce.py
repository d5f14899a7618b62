"""Enrichment on an event loop: cache hits answered in place, concurrent misses fetched together.

The server's requests look their entities up in the cache on the event loop (a dictionary
lookup). What the cache does not have joins its source's queue: one query per source is
in flight at a time, and every key asked for meanwhile waits for the next one, which
fetches them all in a single ``IN`` query. Under load a cold cache therefore costs one
query per batch of requests, not one per request, and one database connection per
source; a lone request is fetched on the loop's next turn, without waiting.
A key already being fetched is not fetched twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from modelport.orchestrate.enrich import Enricher, Fetched, Row
from modelport.orchestrate.sources import EntityKey, SqlSource

__all__ = ["CoalescingEnricher"]


class CoalescingEnricher:
    """:class:`Enricher` for coroutines: ``await rows(source, entities)``."""

    def __init__(self, enricher: Enricher, executor: Executor | None = None) -> None:
        self.enricher = enricher
        self._executor = executor  # where queries run (None: the loop's default executor)
        self._queues: dict[str, _SourceQueue] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    async def rows(self, source_name: str, entities: Sequence[Mapping[str, Any]]) -> list[Row]:
        """The source's row for each entity, in order; :meth:`Enricher.rows` without blocking."""
        source = self.enricher.source(source_name)
        if not source.knows_key_types:  # once per source: the catalog read, off the loop
            await asyncio.get_running_loop().run_in_executor(self._executor, source.key_types)
        lookup = self.enricher.lookup(source_name, entities)
        if lookup.missing:
            lookup.found.update(await self._queue(lookup.source).fetch(lookup.missing))
        return lookup.rows()

    def _queue(self, source: SqlSource) -> _SourceQueue:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new loop (tests run one per call): start afresh
            self._loop = loop
            self._queues = {}
        queue = self._queues.get(source.name)
        if queue is None:
            queue = self._queues[source.name] = _SourceQueue(self.enricher, source, self._executor)
        return queue


@dataclass(slots=True, eq=False)
class _Round:
    """One query's keys (an ordered set) and its answer."""

    future: asyncio.Future[Fetched]
    keys: dict[EntityKey, None] = field(default_factory=dict)


class _SourceQueue:
    """The keys waiting for one source, and the query in flight."""

    def __init__(self, enricher: Enricher, source: SqlSource, executor: Executor | None) -> None:
        self._enricher = enricher
        self._source = source
        self._executor = executor
        self._running: _Round | None = None
        self._next: _Round | None = None

    async def fetch(self, keys: Sequence[EntityKey]) -> Fetched:
        loop = asyncio.get_running_loop()
        rounds: list[_Round] = []
        for key in keys:
            if self._running is not None and key in self._running.keys:
                joined = self._running
            else:
                joined = self._next or self._open(loop)
                joined.keys[key] = None
            if joined not in rounds:
                rounds.append(joined)
        found: Fetched = {}
        for joined in rounds:
            # shielded: a client that goes away must not cancel its neighbours' query
            found.update(await asyncio.shield(joined.future))
        return found

    def _open(self, loop: asyncio.AbstractEventLoop) -> _Round:
        self._next = _Round(loop.create_future())
        self._next.future.add_done_callback(_retrieve)
        if self._running is None:
            loop.call_soon(self._launch, loop)  # requests of this same turn join it
        return self._next

    def _launch(self, loop: asyncio.AbstractEventLoop) -> None:
        round_, self._next = self._next, None
        if round_ is None:
            return
        self._running = round_
        try:
            done = loop.run_in_executor(
                self._executor, self._enricher.fetch, self._source, list(round_.keys)
            )
        except RuntimeError as exc:  # the executor has shut down: the server is stopping
            self._running = None
            round_.future.set_exception(exc)
            return
        done.add_done_callback(lambda finished: self._finished(loop, round_, finished))

    def _finished(
        self, loop: asyncio.AbstractEventLoop, round_: _Round, finished: asyncio.Future[Fetched]
    ) -> None:
        self._running = None
        if finished.cancelled():
            round_.future.cancel()
        elif (error := finished.exception()) is not None:
            round_.future.set_exception(error)
        else:
            round_.future.set_result(finished.result())
        if self._next is not None:
            self._launch(loop)


def _retrieve(future: asyncio.Future[Fetched]) -> None:
    """Mark a failed round's error as seen: its requests may all have gone away."""
    if not future.cancelled():
        future.exception()
