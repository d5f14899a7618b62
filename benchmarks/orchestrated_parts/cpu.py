"""Who used the CPU during one wrk run: the server, PostgreSQL, wrk, and anything else.

The machine has two cores and is shared; a p99 measured while something else was busy is
not the server's. So every run is metered: the machine's busy time (``/proc/stat``) minus
the CPU time of the server's process tree, of every ``postgres`` process, of wrk (the
children this process reaped meanwhile) and of this process itself leaves ``other``, the
work that was not ours. In cores: 1.0 is one core busy for the whole run.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass

import psutil

__all__ = ["CpuMeter", "CpuUse"]


@dataclass(frozen=True)
class CpuUse:
    server: float
    postgres: float
    wrk: float
    other: float
    steal: float  # taken by the hypervisor: not visible as any process here


@dataclass(frozen=True)
class _Snapshot:
    wall: float
    busy: float
    steal: float
    server: dict[int, float]
    postgres: dict[int, float]
    children: float
    me: float


def _seconds(process: psutil.Process) -> float | None:
    try:
        times = process.cpu_times()
    except psutil.Error:
        return None
    return float(times.user + times.system)


def _tree(pid: int) -> dict[int, float]:
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return {}
    found = {p.pid: _seconds(p) for p in processes}
    return {k: v for k, v in found.items() if v is not None}


def _postgres() -> dict[int, float]:
    found = {}
    for process in psutil.process_iter(["name"]):
        if process.info["name"] == "postgres":
            seconds = _seconds(process)
            if seconds is not None:
                found[process.pid] = seconds
    return found


def _delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU used in between by the processes alive at the end (new ones count in full)."""
    return sum(max(0.0, value - before.get(pid, 0.0)) for pid, value in after.items())


class CpuMeter:
    """``start()`` before a run, ``stop()`` after it: the :class:`CpuUse` in between."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid
        self._start: _Snapshot | None = None

    def _snapshot(self) -> _Snapshot:
        machine = psutil.cpu_times()
        busy = sum(
            getattr(machine, name, 0.0) for name in ("user", "nice", "system", "irq", "softirq")
        )
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        me = os.times()
        return _Snapshot(
            wall=time.monotonic(),
            busy=busy,
            steal=getattr(machine, "steal", 0.0),
            server=_tree(self.server_pid),
            postgres=_postgres(),
            children=children.ru_utime + children.ru_stime,
            me=me.user + me.system,
        )

    def start(self) -> None:
        self._start = self._snapshot()

    def stop(self) -> CpuUse:
        if self._start is None:
            raise RuntimeError("CpuMeter.stop() before start()")
        before, after = self._start, self._snapshot()
        wall = max(after.wall - before.wall, 1e-9)
        server = _delta(before.server, after.server)
        postgres = _delta(before.postgres, after.postgres)
        wrk = after.children - before.children
        me = after.me - before.me
        other = (after.busy - before.busy) - server - postgres - wrk - me
        return CpuUse(
            server=server / wall,
            postgres=postgres / wall,
            wrk=wrk / wall,
            other=max(0.0, other) / wall,
            steal=(after.steal - before.steal) / wall,
        )
