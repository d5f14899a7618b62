"""Request deadlines, enforced by one sweep every half second instead of a timer per request.

A timer per request (``asyncio.timeout``, ``loop.call_later``) costs 2-6 µs to arm and
disarm; a request of the hot path costs ~100 µs in all, so that alone would be several
percent of throughput for a limit that almost never fires. Here a request only notes its
deadline in a dict (~0.1 µs); while requests are running, a callback every
``SWEEP_SECONDS`` cancels the tasks past their deadline, marked so that the endpoint can
tell its own time limit from a client that went away or a server shutting down. A request
may so run up to ``SWEEP_SECONDS`` past its limit.
"""

from __future__ import annotations

import asyncio

__all__ = ["SWEEP_SECONDS", "Deadlines"]

SWEEP_SECONDS = 0.5


class Deadlines:
    """The deadlines of the running requests of one event loop (one server worker)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._running: dict[asyncio.Task[object], float] = {}
        self._expired: set[asyncio.Task[object]] = set()
        self._sweeping = False

    def enter(self) -> asyncio.Task[object] | None:
        """Start the clock of the current task (the request); returns it for :meth:`leave`."""
        task = asyncio.current_task()
        if task is None:  # pragma: no cover - endpoints always run in a task
            return None
        loop = task.get_loop()
        self._running[task] = loop.time() + self.seconds
        if not self._sweeping:
            self._sweeping = True
            loop.call_later(SWEEP_SECONDS, self._sweep, loop)
        return task

    def leave(self, task: asyncio.Task[object] | None) -> None:
        if task is not None:
            self._running.pop(task, None)
            self._expired.discard(task)

    def expired(self, task: asyncio.Task[object] | None) -> bool:
        """Whether ``task`` was cancelled by its deadline (and not by anything else)."""
        return task is not None and task in self._expired

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        for task, deadline in list(self._running.items()):
            if deadline <= now and task not in self._expired and not task.done():
                self._expired.add(task)
                task.cancel()
        if self._running:
            loop.call_later(SWEEP_SECONDS, self._sweep, loop)
        else:  # nothing running: the next request starts the sweep again
            self._sweeping = False
