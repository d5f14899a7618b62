"""Two commits on the three user-facing paths, paired: did a change make anything slower?

    python benchmarks/commits.py bca90c2                  # that commit against HEAD, all suites
    python benchmarks/commits.py bca90c2 main~3           # any two commits
    python benchmarks/commits.py bca90c2 --suite score    # online, score, batch or all
    python benchmarks/commits.py bca90c2 --quick          # smoke: benchmarks/.work/commits-quick.md

Checks both commits out as git worktrees (``benchmarks/.work/commits``) and runs each one's
own code only (``PYTHONPATH=<worktree>/src``): the data are made once, by the base
commit's ``modelport.datasets``, as Parquet; each commit trains and packages the same three
models from them with its own ``mp.package`` (so each side's manifests are in its own
format), and registers each, with its own CLI, in a registry of its own per suite
(:mod:`commits_parts.sides`). Then, per suite (:mod:`commits_parts.suites`):

* ``online``: ``POST /v1/models/loan-approval/predict``, one record, 16 connections;
* ``score``: ``POST /v1/score`` by customer id, the customer table in SQLite, cache warm;
* ``batch``: ``modelport batch score`` of a 500,000-row Parquet file, both cores.

The HTTP suites run the paired rounds of ``online_peers.paired`` (one uvicorn worker pinned
to core 0, wrk to core 1, fresh server pairs in alternating start order, ABBA rounds); the
batch suite runs the two CLIs in ABBA / BAAB blocks. Every suite also compares the head
commit with itself, the control that shows the method's noise floor. Writes
``benchmarks/results/commits.md``, a section per suite. The whole plan takes about 20
minutes on 2 cores, ``--quick`` about 3.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from commits_parts.report import Section, render_section
from commits_parts.sides import Side, checkout, git, make_data, prepare
from commits_parts.suites import PLANS, Bench, Plan, batch, online, score
from online_peers import wrk
from online_peers.machine import machine
from online_peers.procs import Processes

HERE = Path(__file__).resolve().parent
SUITES: dict[str, Callable[[Bench, Plan], Section]] = {
    "online": online,
    "score": score,
    "batch": batch,
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="the commit to compare against")
    parser.add_argument("head", nargs="?", default="HEAD", help="the commit measured (HEAD)")
    parser.add_argument("--suite", choices=[*SUITES, "all"], default="all")
    parser.add_argument("--quick", action="store_true", help="smoke run: small and short")
    parser.add_argument("--rebuild", action="store_true", help="remake data and packages")
    parser.add_argument("--work", type=Path, default=HERE / ".work" / "commits")
    parser.add_argument("--output", type=Path, help="default: benchmarks/results/commits.md")
    args = parser.parse_args()
    if args.output is None:
        quick = HERE / ".work" / "commits-quick.md"
        args.output = quick if args.quick else HERE / "results" / "commits.md"
    return args


def main() -> None:
    args = parse_args()
    began = time.perf_counter()
    load_before = os.getloadavg()[0]
    suites = list(SUITES) if args.suite == "all" else [args.suite]
    plans = PLANS["quick" if args.quick else "full"]
    args.work.mkdir(parents=True, exist_ok=True)
    base_commit, head_commit = git("rev-parse", args.base), git("rev-parse", args.head)
    data = args.work / f"data-{base_commit[:12]}"
    sides = [
        Side(
            ref,
            commit,
            checkout(commit, args.work),
            args.work / "sides" / f"{commit[:12]}-data-{base_commit[:12]}",
        )
        for ref, commit in ((args.base, base_commit), (args.head, head_commit))
    ]
    base, head = sides
    if args.rebuild:
        for place in (data, base.place, head.place):
            shutil.rmtree(place, ignore_errors=True)
    logs = args.work / "logs"
    make_data(base.tree, data, plans["batch"].rows, logs)
    prepare(sides, data, logs, suites)
    wrk_bin = wrk.ensure_wrk() if {"online", "score"} & set(suites) else ""
    procs = Processes()
    bench = Bench(base, head, args.work, data, procs, wrk_bin)
    try:
        sections = [SUITES[suite](bench, plans[suite]) for suite in suites]
    finally:
        procs.stop_all()
    minutes = (time.perf_counter() - began) / 60
    command = f"python benchmarks/commits.py {args.base} {args.head}"
    command += (f" --suite {args.suite}" if args.suite != "all" else "") + (
        " --quick" if args.quick else ""
    )
    lines = [
        "# Two commits on the three user-facing paths",
        "",
        f"`{command}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {minutes:.0f} min in all. "
        f"Machine: {machine()}, Python {platform.python_version()}. Load average (1 min) "
        f"before the run {load_before:.2f}, after it {os.getloadavg()[0]:.2f} (the run's own "
        "load included).",
        "",
        f"A is {head.label} (commit `{head.commit}`), B is {base.label} (commit "
        f"`{base.commit}`). Each "
        "runs its own code only: a git worktree of the commit on `PYTHONPATH`, with this "
        "venv's libraries. The data are made once, by B's `modelport.datasets`, and written "
        "as Parquet; each commit trains (same rows, same seeds) and packages the models with "
        "its own `mp.package`, and registers them with its own CLI in a registry of its "
        "own. In every table the first row compares the two commits (a ratio above 1: A "
        "is faster), the second is the control, A against itself: the same method's noise "
        "floor. HTTP suites: one uvicorn worker per server, pinned to core 0, wrk (one "
        f"thread, {wrk.TIMEOUT} timeout) pinned to core 1; fresh server pairs, started in "
        "alternating order, each measured in ABBA rounds (`online_peers/paired.py`).",
        "",
    ]
    for section in sections:
        lines += render_section(section)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(lines))
    print(f"\nwrote {args.output} ({minutes:.1f} min)")


if __name__ == "__main__":
    main()
