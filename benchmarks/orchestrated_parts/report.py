"""The Markdown report of the orchestrated benchmark: every run, what the lookup costs,
the answer checks and the targets.

Every difference and every PASS/FAIL is computed here from the measured numbers; a cell
that was not measured (its server failed) makes its target "not measured".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from online_peers.wrk import WrkResult
from orchestrated_parts.cpu import CpuUse

__all__ = ["Cell", "Outcome", "TARGETS", "render"]

TARGET_CONNECTIONS = 16
# (database, cache, p99 bar in ms): the goal of issue 5, for score by entity.
TARGETS = [("PostgreSQL", "warm", 5.0), ("PostgreSQL", "cold", 15.0)]
SCORE, PREDICT = "score", "predict"
CHECK_INTRO = (
    "Before its runs every server answered 20 applications by id (status 200, a score and "
    "one of the three decisions), compared with scikit-learn on the joined rows and with "
    "predict on the same records, and 20 more ids spread over the whole table."
)


@dataclass(frozen=True)
class Cell:
    endpoint: str  # SCORE or PREDICT
    connections: int
    result: WrkResult
    cpu: CpuUse
    new_connections: int | None = None  # PostgreSQL sessions opened during the run


@dataclass
class Outcome:
    """One server: a database, a cache setting, a number of workers; its runs."""

    database: str
    cache: str  # "warm" or "cold"
    workers: int
    pinned: bool
    cells: list[Cell] = field(default_factory=list)
    check: str = ""
    peak_mb: float | None = None
    failure: str | None = None

    @property
    def label(self) -> str:
        plural = "s" if self.workers > 1 else ""
        return f"{self.database}, cache {self.cache}, {self.workers} worker{plural}"

    def cell(self, endpoint: str, connections: int) -> Cell | None:
        return next(
            (c for c in self.cells if (c.endpoint, c.connections) == (endpoint, connections)),
            None,
        )


def _num(value: float | None, digits: int = 0) -> str:
    if value is None or math.isnan(value):
        return "-"
    return f"{value:,.{digits}f}"


def _runs(outcomes: list[Outcome]) -> list[str]:
    lines = [
        "| database | cache | workers | endpoint | connections | req/s | p50 ms | p99 ms "
        "| errors | CPU cores: server / PostgreSQL / wrk / other | server CPU ms per request "
        "| new PostgreSQL connections |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for o in outcomes:
        where = f"| {o.database} | {o.cache} | {o.workers} "
        if o.failure and not o.cells:
            lines.append(f"{where}| failed | - | - | - | - | - | - | - | - |")
            continue
        for c in o.cells:
            r, u = c.result, c.cpu
            route = "`/v1/score`" if c.endpoint == SCORE else "predict (joined record)"
            per_request = 1e3 * u.server / r.requests_per_s if r.requests_per_s else None
            lines.append(
                f"{where}| {route} | {c.connections} | {_num(r.requests_per_s)} "
                f"| {_num(r.p50_ms, 2)} | {_num(r.p99_ms, 2)} | {r.errors} "
                f"| {u.server:.2f} / {u.postgres:.2f} / {u.wrk:.2f} / {u.other:.2f} "
                f"| {_num(per_request, 2)} "
                f"| {'-' if c.new_connections is None else c.new_connections} |"
            )
    return lines


def _lookup_cost(outcomes: list[Outcome]) -> list[str]:
    lines = [
        "| database | cache | workers | connections | score p50 / p99 ms "
        "| predict p50 / p99 ms | p50 difference ms | req/s score / predict |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for o in outcomes:
        for score in (c for c in o.cells if c.endpoint == SCORE):
            predict = o.cell(PREDICT, score.connections)
            if predict is None:
                continue
            s, p = score.result, predict.result
            ratio = s.requests_per_s / p.requests_per_s if p.requests_per_s else math.nan
            lines.append(
                f"| {o.database} | {o.cache} | {o.workers} | {score.connections} "
                f"| {_num(s.p50_ms, 2)} / {_num(s.p99_ms, 2)} "
                f"| {_num(p.p50_ms, 2)} / {_num(p.p99_ms, 2)} "
                f"| {_num(s.p50_ms - p.p50_ms, 2)} | {_num(ratio, 2)} |"
            )
    return lines


def _verdict(ok: bool | None) -> str:
    return "not measured" if ok is None else ("PASS" if ok else "**FAIL**")


def _targets(outcomes: list[Outcome]) -> list[str]:
    lines = ["| target | measured | bar | result |", "|---|---|---|---|"]
    for workers in sorted({o.workers for o in outcomes}):
        plural = "s" if workers > 1 else ""
        for database, cache, bar in TARGETS:
            wanted = (database, cache, workers)
            found = next((o for o in outcomes if (o.database, o.cache, o.workers) == wanted), None)
            cell = found.cell(SCORE, TARGET_CONNECTIONS) if found else None
            if cell is None or math.isnan(cell.result.p99_ms):
                shown, ok = "-", None
            else:
                shown = f"{cell.result.p99_ms:.2f} ms (p50 {cell.result.p50_ms:.2f} ms)"
                ok = cell.result.p99_ms <= bar and cell.result.errors == 0
            lines.append(
                f"| {database}, cache {cache}: score p99 at {TARGET_CONNECTIONS} connections, "
                f"{workers} worker{plural} | {shown} | <= {bar:g} ms, no errors "
                f"| {_verdict(ok)} |"
            )
    cells = [c for o in outcomes for c in o.cells]
    errors = sum(c.result.errors for c in cells)
    failed = [o.label for o in outcomes if o.failure]
    shown = f"{errors} in {len(cells)} runs" + (f"; failed: {'; '.join(failed)}" if failed else "")
    ok = None if not cells else (errors == 0 and not failed)
    lines.append(f"| errors, every run | {shown} | 0 | {_verdict(ok)} |")
    return lines


def render(outcomes: list[Outcome], header: list[str], setup: list[str]) -> str:
    lines = [*header, "", *setup, "", "## Runs", ""]
    lines += _runs(outcomes)
    failures = [o for o in outcomes if o.failure]
    if failures:
        lines += ["", "Failures:", ""]
        lines += [f"* **{o.label}**: {o.failure}" for o in failures]
    lines += [
        "",
        "## What the lookup costs",
        "",
        "Score by id against predict with the already-joined record, measured on the same "
        "server process one after the other: the difference is what score-by-id does beyond "
        "predict: its route and request handling, the lookup (a cache hit warm, a database "
        "query cold), assembling the record, and how the record is scored (predict's route "
        "micro-batches concurrent requests; compare the server CPU ms per request above).",
        "",
    ]
    lines += _lookup_cost(outcomes)
    lines += ["", "## Answer checks", "", CHECK_INTRO, ""]
    lines += ["| server | check | peak RSS MB |", "|---|---|---:|"]
    lines += [f"| {o.label} | {o.check or '-'} | {_num(o.peak_mb)} |" for o in outcomes]
    lines += ["", "## Targets", ""]
    lines += _targets(outcomes)
    return "\n".join(lines) + "\n"
