"""The Markdown report: machine and versions, one table per payload, hot swap, targets.

Every ratio and PASS/FAIL is computed here from the measured numbers; a number that was
not measured (a system failed or was not selected) makes its target "not measured".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from online_peers.paired import Paired, render_paired
from online_peers.systems import System
from online_peers.wrk import WrkResult

__all__ = ["Outcome", "render"]

TARGET_PAYLOAD = "single record"
TARGET_CONNECTIONS = 16
PEER_GROUPS = ("flask", "mlflow", "mlserver", "bentoml")


@dataclass
class Outcome:
    """What one system did: its cells, memory, check, hot swap, or why it failed."""

    system: System
    versions: str = ""
    cells: dict[tuple[str, int], WrkResult] = field(default_factory=dict)
    peak_mb: float | None = None
    check_diff: dict[str, float] = field(default_factory=dict)
    hot_swap: WrkResult | None = None
    hot_swap_notes: list[str] = field(default_factory=list)
    failure: str | None = None


def _metrics_cost(cost: list[Paired]) -> list[str]:
    intro = (
        "modelport, 1 worker, single record, 16 connections, access log on: servers with "
        "metrics on (the default) against servers with `MODELPORT_METRICS=false`. Each pair "
        "of fresh servers (which of the two starts first alternates from pair to pair) is "
        "measured in ABBA-ordered rounds, one A/B ratio per round; the "
        "control row compares two servers that both have metrics on, the noise floor of the "
        "method. With the server pinned to one core, the metrics thread's folding is paid "
        "for out of the server's own core."
    )
    return render_paired("Cost of metrics", intro, cost)


def _auth_cost(cost: list[Paired]) -> list[str]:
    intro = (
        "modelport, 1 worker, single record, 16 connections, measured like the cost of "
        "metrics: servers with `MODELPORT_AUTH=jwt` (HS256; the client reuses its token) or "
        "`MODELPORT_AUTH=apikey` against servers with authentication off. Every request "
        "carries `Authorization: Bearer ...` to both servers of a pair; the server without "
        "authentication ignores it. The metrics control row above is the noise floor."
    )
    return render_paired("Cost of authentication", intro, cost)


def _num(value: float, digits: int = 0) -> str:
    if value is None or math.isnan(value):
        return "-"
    return f"{value:,.{digits}f}"


def _cell_columns(cell: WrkResult | None, rows_per_request: int) -> list[str]:
    if cell is None:
        return ["-"] * 5
    return [
        _num(cell.requests_per_s),
        _num(cell.requests_per_s * rows_per_request),
        _num(cell.p50_ms, 2),
        _num(cell.p99_ms, 2),
        str(cell.errors),
    ]


def _payload_table(
    outcomes: list[Outcome], title: str, rows_per_request: int, connections: list[int]
) -> list[str]:
    header = ["system"]
    for c in connections:
        header += [f"req/s @{c}", f"rows/s @{c}", f"p50 ms @{c}", f"p99 ms @{c}", f"errors @{c}"]
    header.append("peak RSS MB")
    lines = ["| " + " | ".join(header) + " |", "|---" + "|---:" * (len(header) - 1) + "|"]
    for outcome in outcomes:
        row = [outcome.system.key]
        if outcome.failure and not any(k[0] == title for k in outcome.cells):
            row += ["failed"] + ["-"] * (5 * len(connections) - 1)
        else:
            for c in connections:
                row += _cell_columns(outcome.cells.get((title, c)), rows_per_request)
        row.append(_num(outcome.peak_mb) if outcome.peak_mb else "-")
        lines.append("| " + " | ".join(row) + " |")
    return lines


def _find(outcomes: list[Outcome], key: str) -> Outcome | None:
    return next((o for o in outcomes if o.system.key == key), None)


def _target_cell(outcome: Outcome | None) -> WrkResult | None:
    if outcome is None:
        return None
    return outcome.cells.get((TARGET_PAYLOAD, TARGET_CONNECTIONS))


def _verdict(ok: bool | None) -> str:
    return "not measured" if ok is None else ("PASS" if ok else "**FAIL**")


def _targets(outcomes: list[Outcome]) -> list[str]:
    lines = [
        "| target | measured | bar | result |",
        "|---|---|---|---|",
    ]
    where = f"{TARGET_PAYLOAD}, {TARGET_CONNECTIONS} connections"
    for workers in (1, 2):
        plural = "s" if workers > 1 else ""
        ours = _target_cell(_find(outcomes, f"modelport ({workers} worker{plural})"))
        bare = _target_cell(_find(outcomes, f"bare ASGI limit ({workers} worker{plural})"))
        if ours and bare and bare.requests_per_s > 0:
            ratio = ours.requests_per_s / bare.requests_per_s
            measured = f"{ratio:.2f}x ({_num(ours.requests_per_s)} / {_num(bare.requests_per_s)})"
            ok: bool | None = ratio >= 0.7
        else:
            measured, ok = "-", None
        lines.append(
            f"| modelport / bare app, {workers} worker{plural} ({where}) | {measured} "
            f"| >= 0.7x | {_verdict(ok)} |"
        )
    mine = [o for o in outcomes if o.system.group == "modelport"]
    cells = [(o, _target_cell(o)) for o in mine]
    measured_p99 = [(o, c) for o, c in cells if c is not None]
    if measured_p99:
        shown = " / ".join(f"{c.p99_ms:.2f} ms ({o.system.key})" for o, c in measured_p99)
        ok = all(c.p99_ms <= 5.0 for _, c in measured_p99)
    else:
        shown, ok = "-", None
    lines.append(f"| modelport p99 ({where}) | {shown} | <= 5 ms | {_verdict(ok)} |")
    all_cells = [c for o in mine for c in o.cells.values()]
    errors = sum(c.errors for c in all_cells)
    failed = [o.system.key for o in mine if o.failure]
    ok = None if not all_cells else (errors == 0 and not failed)
    shown = f"{errors} in {len(all_cells)} runs" + (
        f"; failed: {', '.join(failed)}" if failed else ""
    )
    lines.append(f"| modelport errors (every run, both payloads) | {shown} | 0 | {_verdict(ok)} |")
    ours = _target_cell(_find(outcomes, "modelport (2 workers)"))
    peers = [(o, _target_cell(o)) for o in outcomes if o.system.group in PEER_GROUPS]
    peers = [(o, c) for o, c in peers if c is not None and c.requests_per_s > 0]
    if ours and peers:
        best, cell = max(peers, key=lambda pair: pair[1].requests_per_s)
        ratio = ours.requests_per_s / cell.requests_per_s
        shown = (
            f"{ratio:.1f}x ({_num(ours.requests_per_s)} / {_num(cell.requests_per_s)}, "
            f"best peer {best.system.key})"
        )
        ok = ratio >= 30
    else:
        shown, ok = "-", None
    lines.append(
        f"| modelport (2 workers) / best peer (2 workers each; {where}) | {shown} "
        f"| >= 30x | {_verdict(ok)} |"
    )
    swaps = [(o.system.key, o.hot_swap) for o in mine if o.system.hot_swap]
    measured_swaps = [(k, s) for k, s in swaps if s is not None]
    if measured_swaps and len(measured_swaps) == len(swaps):
        shown = " / ".join(f"{s.errors} ({k})" for k, s in measured_swaps)
        ok = all(s.errors == 0 for _, s in measured_swaps)
    else:
        shown, ok = "-", None
    lines.append(f"| hot swap under load: failed requests | {shown} | 0 | {_verdict(ok)} |")
    return lines


def _hot_swap(outcomes: list[Outcome]) -> list[str]:
    rows = [o for o in outcomes if o.hot_swap is not None]
    if not rows:
        return []
    lines = [
        "## Hot swap under load",
        "",
        f"{TARGET_PAYLOAD.capitalize()}, {TARGET_CONNECTIONS} connections. Version 2 (same "
        "pipeline, `random_state=1`) is registered beforehand; during the run "
        "`modelport models alias loan-approval production 2` moves the alias, and a few "
        "seconds later back to 1. Answers are counted per `x-model-version` header (a wrk "
        "`response` callback, which costs some throughput in this run only).",
        "",
        "| system | req/s | p99 ms | errors | answered by | alias moves |",
        "|---|---:|---:|---:|---|---|",
    ]
    for outcome, swap in ((o, o.hot_swap) for o in rows if o.hot_swap is not None):
        answered = ", ".join(f"{k}: {v:,}" for k, v in sorted(swap.answered.items())) or "-"
        lines.append(
            f"| {outcome.system.key} | {_num(swap.requests_per_s)} | {_num(swap.p99_ms, 2)} "
            f"| {swap.errors} | {answered} | {'; '.join(outcome.hot_swap_notes)} |"
        )
    return lines + [""]


def render(
    outcomes: list[Outcome],
    payloads: list[tuple[str, int]],
    connections: list[int],
    header: list[str],
    cost: list[Paired] | None = None,
    auth: list[Paired] | None = None,
) -> str:
    lines = [*header, "", "## Systems", ""]
    lines += [
        "| system | how it runs | versions | answer check: max abs diff vs scikit-learn "
        "| peak RSS MB |",
        "|---|---|---|---|---:|",
    ]
    for o in outcomes:
        if o.failure and not o.check_diff:
            check = "failed"
        else:
            check = " / ".join(f"{t}: {d:.1e}" for t, d in o.check_diff.items()) or "-"
        peak = _num(o.peak_mb) if o.peak_mb else "-"
        lines.append(
            f"| {o.system.key} | {o.system.config} | {o.versions or '-'} | {check} | {peak} |"
        )
    failures = [o for o in outcomes if o.failure]
    if failures:
        lines += ["", "Failures:", ""]
        lines += [f"* **{o.system.key}**: {o.failure}" for o in failures]
    for title, rows_per_request in payloads:
        lines += ["", f"## {title.capitalize()} per request", ""]
        lines += _payload_table(outcomes, title, rows_per_request, connections)
    lines += ["", *_hot_swap(outcomes)]
    if cost:
        lines += _metrics_cost(cost)
    if auth:
        lines += _auth_cost(auth)
    lines += ["## Targets", ""]
    lines += _targets(outcomes)
    if cost:
        ratio = cost[0].ratio
        lines.append(
            f"| metrics on / off (throughput kept; median of {len(cost[0].ratios)} paired "
            f"rounds) | {ratio:.3f} | >= 0.95 | {_verdict(ratio >= 0.95)} |"
        )
    for paired in auth or []:
        lines.append(
            f"| {paired.a} / {paired.b} (throughput kept; median of {len(paired.ratios)} "
            f"paired rounds) | {paired.ratio:.3f} | >= 0.95 | {_verdict(paired.ratio >= 0.95)} |"
        )
    return "\n".join(lines) + "\n"
