"""Paired throughput comparisons: how much one server setting costs against another.

A few percent cannot be read off two separate runs on a shared 2-core machine: two server
processes of identical configuration differ by several percent (where their memory and
threads land), and so do two runs of the same server a minute apart. So a comparison here:

* pins every server to the first core and wrk to the second (``taskset``), so the load
  generator never competes with the server, and a setting's background threads are paid
  for on the server's own core;
* starts several fresh pairs of servers, and measures each pair in ABBA-ordered rounds
  (drift within a pair cancels), one ratio per round. Whole processes differ too: of two
  identical servers, the one started first measured 3-7% slower, pair after pair, so the
  start order alternates from pair to pair and an even number of pairs cancels it;
* reports the median of the per-round ratios, and runs a control in the same way: two
  servers of the *same* setting, whose ratio shows the noise floor of the method.
"""

from __future__ import annotations

import os
import shutil
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from online_peers import wrk
from online_peers.procs import Processes, Server, free_port

__all__ = ["SERVER_CPU", "Paired", "can_pin", "compare", "pinned", "render_paired"]

SERVER_CPU = "0"
LOAD_CPU = "1"


@dataclass
class Paired:
    """Requests/s of setting A and setting B, round by round."""

    a: str
    b: str
    a_runs: list[float]
    b_runs: list[float]
    pairs: int
    seconds: float
    pinned: bool

    @property
    def ratios(self) -> list[float]:
        return [a / b for a, b in zip(self.a_runs, self.b_runs, strict=True) if b > 0]

    @property
    def ratio(self) -> float:
        """Median of the per-round A/B ratios (0 when nothing was measured)."""
        return statistics.median(self.ratios) if self.ratios else 0.0

    def quartiles(self) -> tuple[float, float]:
        if len(self.ratios) < 2:
            return (self.ratio, self.ratio)
        low, _, high = statistics.quantiles(self.ratios, n=4)
        return (low, high)


def can_pin() -> bool:
    """Whether servers and wrk can have a core each: two cores and taskset."""
    return (os.cpu_count() or 1) >= 2 and shutil.which("taskset") is not None


def pinned(command: list[str], cpus: str) -> list[str]:
    """``command`` bound to ``cpus`` when :func:`can_pin`."""
    return ["taskset", "-c", cpus, *command] if can_pin() else command


def compare(
    start: Callable[[str, str, int], Server],
    procs: Processes,
    wrk_bin: str,
    url_of: Callable[[int], str],
    script: Path,
    settings: tuple[str, str],
    pairs: int,
    rounds: int,
    seconds: float,
    connections: int = 16,
) -> Paired:
    """Measure ``settings`` (A, B) over ``pairs`` fresh server pairs, ``rounds`` rounds each.

    ``start(setting, name, port)`` starts one server (pinned with :func:`pinned`) and waits
    until it is ready; ``url_of(port)`` is the URL wrk drives.
    """
    a, b = settings
    load_cpus = LOAD_CPU if can_pin() else None
    runs: dict[str, list[float]] = {"a": [], "b": []}
    for pair in range(pairs):
        servers: dict[str, tuple[Server, str]] = {}
        try:
            starting = (("a", a), ("b", b)) if pair % 2 == 0 else (("b", b), ("a", a))
            for side, setting in starting:
                port = free_port()
                servers[side] = (start(setting, f"{setting}-{pair}{side}", port), url_of(port))
                wrk.run(wrk_bin, servers[side][1], script, connections, 2.0, load_cpus)
            for index in range(rounds):
                order = ("a", "b") if index % 4 in (0, 3) else ("b", "a")  # ABBA BAAB ...
                got = {
                    side: wrk.run(
                        wrk_bin, servers[side][1], script, connections, seconds, load_cpus
                    ).requests_per_s
                    for side in order
                }
                runs["a"].append(got["a"])
                runs["b"].append(got["b"])
                print(
                    f"  pair {pair + 1} round {index + 1}: {a} {got['a']:>9,.0f}  "
                    f"{b} {got['b']:>9,.0f}  ratio {got['a'] / max(got['b'], 1):.3f}",
                    flush=True,
                )
        finally:
            for server, _ in servers.values():
                procs.stop(server)
    return Paired(a, b, runs["a"], runs["b"], pairs, seconds, load_cpus is not None)


def render_paired(title: str, intro: str, comparisons: list[Paired]) -> list[str]:
    """A section: the intro, then one row per comparison."""
    lines = [f"## {title}", "", intro, ""]
    lines += [
        "| A / B | median A req/s | median B req/s | median of per-round A/B "
        "| quartiles of A/B | rounds | pinned |",
        "|---|---:|---:|---:|---|---:|---|",
    ]
    for c in comparisons:
        low, high = c.quartiles()
        lines.append(
            f"| {c.a} / {c.b} | {statistics.median(c.a_runs):,.0f} "
            f"| {statistics.median(c.b_runs):,.0f} | {c.ratio:.3f} | {low:.3f} - {high:.3f} "
            f"| {len(c.ratios)} ({c.pairs} pairs x {len(c.ratios) // max(c.pairs, 1)}) "
            f"| {'server core 0, wrk core 1' if c.pinned else 'no'} |"
        )
    return [*lines, ""]
