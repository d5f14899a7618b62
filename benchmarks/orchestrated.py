"""Score by entity id: ``POST /v1/score`` on SQLite and PostgreSQL, cache warm and cold, under wrk.

    python benchmarks/orchestrated.py            # writes benchmarks/results/orchestrated.md
    python benchmarks/orchestrated.py --workers 1 --seconds 5
    python benchmarks/orchestrated.py --quick    # smoke: benchmarks/.work/orchestrated-quick.md

Trains the customer model (see :mod:`orchestrated_parts.setup`), packages and registers it
under ``benchmarks/.work/orchestrated``, and creates the customer table (100,000 customers,
``customer_id`` the primary key) in a SQLite file and in a PostgreSQL database made for
the run (``--postgres-url``: an administrative connection whose role may CREATE DATABASE;
the database is dropped at the end). Then, for every number of workers, database and cache
setting, one ``modelport serve`` with its own sources file:

* cache warm: ``ttl_seconds: 3600``; requests cycle over 1,000 distinct customers, every
  one requested once before the warm-up, so the runs are served from the cache;
* cache cold: ``ttl_seconds: 0``; nothing is kept, every request reaches the database,
  and the ids are spread over all customers (those whose row the contract accepts).

Each server first answers a check (status 200, a score and a decision, agreement with
scikit-learn on the joined rows, and with predict on the same records), then wrk drives
``/v1/score`` and, as the no-lookup baseline, ``/v1/models/<name>/predict`` with the same
applications already joined with the customer's row, one after the other, at 1 and 16
connections (16 only with 2 workers). With one worker the server is pinned to core 0 and
wrk to core 1; PostgreSQL runs wherever the kernel puts it. Every run is metered for CPU
(:mod:`orchestrated_parts.cpu`), to show whether something else was busy. Last, one server
per limit times how soon a request that cannot be answered in time hears its 503: a slow
source's ``timeout_seconds`` and ``MODELPORT_REQUEST_TIMEOUT_SECONDS``
(:mod:`orchestrated_parts.deadlines`).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib.metadata
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import sklearn

import modelport as mp
from modelport.datasets import customers
from online_peers import wrk
from online_peers.machine import machine
from online_peers.paired import LOAD_CPU, SERVER_CPU, can_pin, pinned
from online_peers.procs import Processes, Server, free_port, http
from online_peers.systems import environment
from online_peers.venvs import PeerFailed
from orchestrated_parts.cpu import CpuMeter
from orchestrated_parts.deadlines import Deadline, measure_deadlines, render_deadlines
from orchestrated_parts.load import (
    applications,
    joined,
    predict_bodies,
    score_bodies,
    write_script,
)
from orchestrated_parts.report import (
    PREDICT,
    REPEATS,
    SCORE,
    TARGET_CONNECTIONS,
    TARGETS,
    Cell,
    Outcome,
    render,
)
from orchestrated_parts.setup import (
    MODEL,
    RAW,
    Database,
    postgres_database,
    sqlite_database,
    train_package_register,
    write_sources,
)

HERE = Path(__file__).resolve().parent
DEFAULT_POSTGRES_URL = "postgresql+psycopg://modelport:modelport@127.0.0.1:5432/postgres"
CONNECTIONS = {1: [1, 16], 2: [16]}  # by workers
WARMUP_CONNECTIONS = 16
WARM_IDS = 1_000
WARM_TTL = 3600.0
STATS_DELAY = 1.2  # s: until pg_stat_database counts the sessions of a run
CHECKED = 20  # applications checked on every server before it is measured
DECISIONS = {"accept", "refer", "decline"}
PREDICT_PATH = f"/v1/models/{MODEL}/predict"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="wrk duration per run")
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up per endpoint, s")
    parser.add_argument("--workers", default="1,2", help="comma-separated: 1, 2 or both")
    parser.add_argument("--customers", type=int, default=100_000, help="rows of the table")
    parser.add_argument("--trees", type=int, default=100)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("MODELPORT_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL),
        help="administrative URL (a role that may CREATE DATABASE)",
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: small and short")
    parser.add_argument("--work", type=Path, default=HERE / ".work", help="scratch directory")
    parser.add_argument("--output", type=Path, help="default: benchmarks/results/orchestrated.md")
    args = parser.parse_args()
    args.worker_counts = sorted({int(w) for w in args.workers.split(",") if w.strip()})
    if not args.worker_counts or not set(args.worker_counts) <= set(CONNECTIONS):
        parser.error(f"--workers: choose from {sorted(CONNECTIONS)}")
    if args.quick:
        args.seconds, args.warmup, args.customers, args.trees = 2.0, 1.0, 10_000, 20
    if args.output is None:
        quick = args.work / "orchestrated-quick.md"
        args.output = quick if args.quick else HERE / "results" / "orchestrated.md"
    return args


class Bench:
    """What every server's runs share: the model, the scripts, wrk, the processes."""

    def __init__(self, args: argparse.Namespace, procs: Processes, wrk_bin: str) -> None:
        self.args = args
        self.procs = procs
        self.wrk_bin = wrk_bin
        self.work = args.work / "orchestrated"
        shutil.rmtree(self.work, ignore_errors=True)
        self.work.mkdir(parents=True)
        self.main_bin = Path(sys.executable).parent
        self.table = customers(args.customers, seed=4)
        self.pipeline, package, self.home = train_package_register(
            self.work, self.table, applications=20_000, trees=args.trees, depth=10
        )
        # One application per customer; those whose row the contract refuses (a value far
        # outside the training rows: a 422 by design) are counted and left out.
        every = applications(self.table["customer_id"].to_numpy(), seed=8)
        rows = joined(every, self.table)[RAW].to_dict("records")
        validated = mp.load(package).validate(rows)
        self.refused = Counter(str(e.field) for e in validated.errors)
        cold = every.iloc[validated.accepted].reset_index(drop=True)
        rng = np.random.default_rng(7)
        warm = cold.iloc[np.sort(rng.choice(len(cold), min(WARM_IDS, len(cold)), replace=False))]
        self.n_cold = len(cold)
        self.warm_bodies = score_bodies(warm)
        self.cold_bodies = score_bodies(cold)
        self.predict_bodies = predict_bodies(warm, self.table)
        checked = joined(warm.head(CHECKED), self.table)[RAW]
        self.expected = self.pipeline.predict_proba(checked)[:, 1]
        scripts = self.work / "wrk"
        self.scripts = {
            (SCORE, "warm"): write_script(scripts / "score-warm.lua", self.warm_bodies),
            (SCORE, "cold"): write_script(scripts / "score-cold.lua", self.cold_bodies),
            (PREDICT, "warm"): write_script(scripts / "predict.lua", self.predict_bodies),
        }
        self.scripts[(PREDICT, "cold")] = self.scripts[(PREDICT, "warm")]

    def start(self, name: str, env: dict[str, str], workers: int = 1) -> tuple[Server, str]:
        """``modelport serve`` on the registry with ``env``, unpinned; it and its base URL,
        once it is ready."""
        port = free_port()
        command = [str(self.main_bin / "modelport"), "serve", "--host", "127.0.0.1"]
        command += ["--port", str(port), "--workers", str(workers)]
        env = {"MODELPORT_HOME": str(self.home), **env}
        log = self.work / "logs" / f"{name}.log"
        server = self.procs.start(name, command, log, environment(self.main_bin, env), None)
        base = f"http://127.0.0.1:{port}"
        try:
            server.wait_ready(base + "/readyz", 120)
        except PeerFailed:
            self.procs.stop(server)
            raise
        return server, base

    def check(self, base: str) -> str:
        """Status 200, a score and a decision; agreement with scikit-learn and predict."""
        to_sklearn = to_predict = 0.0
        for index in range(CHECKED):
            scored = _answer(base + "/v1/score", self.warm_bodies[index])
            if not isinstance(scored.get("score"), float) or scored["decision"] not in DECISIONS:
                raise PeerFailed(f"score answer without a score or a decision: {scored}")
            predicted = _answer(base + PREDICT_PATH, self.predict_bodies[index])
            to_sklearn = max(to_sklearn, abs(scored["score"] - self.expected[index]))
            to_predict = max(to_predict, abs(scored["score"] - _score_of(predicted)))
        for body in self.cold_bodies[:: max(1, len(self.cold_bodies) // CHECKED)]:
            _answer(base + "/v1/score", body)
        return f"max abs diff {to_sklearn:.1e} vs scikit-learn, {to_predict:.1e} vs predict"

    def measure(
        self,
        database: Database,
        server_pid: int,
        endpoint: str,
        url: str,
        script: Path,
        connections: int,
        load_cpus: str | None,
    ) -> Cell:
        """One wrk run, metered: CPU by process, and new database connections."""
        before = database.sessions() if database.sessions else None
        meter = CpuMeter(server_pid)
        meter.start()
        result = wrk.run(self.wrk_bin, url, script, connections, self.args.seconds, load_cpus)
        cpu = meter.stop()
        opened = None
        if database.sessions and before is not None:
            time.sleep(STATS_DELAY)  # backends publish their statistics about once a second
            opened = database.sessions() - before
        return Cell(endpoint, connections, result, cpu, opened)

    def run(self, database: Database, cache: str, workers: int) -> Outcome:
        pin = workers == 1 and can_pin()
        outcome = Outcome(database.title, cache, workers, pin)
        print(f"\n== {outcome.label}", flush=True)
        ttl = WARM_TTL if cache == "warm" else 0.0
        name = f"{database.title.lower()}-{cache}-{workers}"
        sources = write_sources(self.work / "sources" / f"{name}.yaml", database, ttl)
        port = free_port()
        command = [str(self.main_bin / "modelport"), "serve", "--host", "127.0.0.1"]
        command += ["--port", str(port), "--workers", str(workers)]
        env = {"MODELPORT_HOME": str(self.home), "MODELPORT_SOURCES_FILE": str(sources)}
        server = self.procs.start(
            name,
            pinned(command, SERVER_CPU) if pin else command,
            self.work / "logs" / f"{name}.log",
            environment(self.main_bin, env),
            None,
        )
        base = f"http://127.0.0.1:{port}"
        load_cpus = LOAD_CPU if pin else None
        try:
            server.wait_ready(base + "/readyz", 120)
            outcome.check = self.check(base)
            print(f"  {outcome.check}", flush=True)
            if cache == "warm":
                for _ in range(2 * workers - 1):  # each worker has its own cache
                    for body in self.warm_bodies:
                        _answer(base + "/v1/score", body)
            urls = {SCORE: base + "/v1/score", PREDICT: base + PREDICT_PATH}
            for endpoint, url in urls.items():
                script = self.scripts[(endpoint, cache)]
                wrk.run(self.wrk_bin, url, script, WARMUP_CONNECTIONS, self.args.warmup, load_cpus)
            for connections in CONNECTIONS[workers]:
                for endpoint, url in urls.items():
                    script = self.scripts[(endpoint, cache)]
                    target = (
                        endpoint == SCORE
                        and connections == TARGET_CONNECTIONS
                        and any((database.title, cache) == (d, c) for d, c, _ in TARGETS)
                    )
                    cells = [
                        self.measure(
                            database,
                            server.process.pid,
                            endpoint,
                            url,
                            script,
                            connections,
                            load_cpus,
                        )
                        for _ in range(REPEATS if target else 1)
                    ]
                    cells.sort(key=lambda c: c.result.p99_ms)
                    cell = cells[len(cells) // 2]
                    if target:
                        repeats = tuple((c.result.p99_ms, c.result.errors) for c in cells)
                        cell = dataclasses.replace(cell, repeats=repeats)
                    outcome.cells.append(cell)
                    r, cpu = cell.result, cell.cpu
                    print(
                        f"  {endpoint:<8} c={connections:<3} {r.requests_per_s:>8,.0f} req/s"
                        f"  p50 {r.p50_ms:6.2f} ms  p99 {r.p99_ms:6.2f} ms  errors {r.errors}"
                        f"  cpu server {cpu.server:.2f} pg {cpu.postgres:.2f} wrk {cpu.wrk:.2f}"
                        f" other {cpu.other:.2f}  new connections {cell.new_connections}",
                        flush=True,
                    )
        except (PeerFailed, RuntimeError, OSError, subprocess.SubprocessError) as exc:
            outcome.failure = str(exc).replace("\n", " ").replace("|", "/")[:600]
            print(f"  FAILED: {outcome.failure}", flush=True)
        finally:
            outcome.peak_mb = self.procs.stop(server)
        return outcome


def _answer(url: str, body: bytes) -> dict[str, Any]:
    status, raw = http(url, body, timeout=30)
    if status != 200:
        raise PeerFailed(f"{url}: HTTP {status}: {raw[:300]!r} for {body[:200]!r}")
    answer = orjson.loads(raw)
    if not isinstance(answer, dict):
        raise PeerFailed(f"{url}: unexpected answer {raw[:300]!r}")
    return answer


def _score_of(predicted: dict[str, Any]) -> float:
    """The positive-class probability in a single-record predict answer."""
    prediction = predicted.get("prediction", predicted)
    if isinstance(prediction, dict) and isinstance(prediction.get("score"), float):
        return float(prediction["score"])
    raise PeerFailed(f"predict answer without a score: {predicted}")


def header(
    args: argparse.Namespace, wrk_bin: str, databases: list[Database], loads: list[float]
) -> list[str]:
    command = "python benchmarks/orchestrated.py" + (" --quick" if args.quick else "")
    if not args.quick and args.seconds != 10.0:
        command += f" --seconds {args.seconds:g}"
    if args.worker_counts != [1, 2]:
        command += f" --workers {','.join(map(str, args.worker_counts))}"
    minutes, before, after = loads
    versions = ", ".join(
        f"{d} {importlib.metadata.version(d)}"
        for d in ("modelport", "onnxruntime", "uvicorn", "sqlalchemy", "psycopg")
    )
    return [
        "# Orchestrated scoring: score by entity id on SQLite and PostgreSQL",
        "",
        f"`{command}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {minutes:.0f} min in all. "
        f"Machine: {machine()}, Python {platform.python_version()}, "
        f"scikit-learn {sklearn.__version__}, {versions}; "
        f"{', '.join(d.version for d in databases)}. Load average (1 min) before the run "
        f"{before:.2f}, after it {after:.2f} (the run's own load included).",
        "",
        f"Load: {wrk.version(wrk_bin)}, one thread (`wrk -t1 -cC -d{args.seconds:g}s --latency "
        f"--timeout {wrk.TIMEOUT}`) over loopback, a Lua `request()` picking a random body "
        f"per request; every server starts with a {args.warmup:g} s warm-up per endpoint at "
        f"{WARMUP_CONNECTIONS} connections. With 1 worker the server is pinned to core 0 "
        "and wrk to core 1 (`taskset`); with 2 workers nothing is pinned. PostgreSQL "
        "(default settings, on 127.0.0.1:5432) shares the same two cores, running wherever "
        "the kernel puts it: with 1 worker mostly next to wrk on core 1. Errors = non-2xx "
        "answers + socket errors. The CPU column is what each used during the run, in cores "
        "(1.00 = one core busy throughout); *other* is everything that was not the server, "
        "PostgreSQL or wrk: anything above ~0.1 means the machine was busy with other work "
        "(or, in a run that opened new PostgreSQL connections, the backends that closed "
        "before its end). "
        "Server CPU ms per request = server cores / req/s. New PostgreSQL connections = "
        "sessions opened on the run's database during the run (`pg_stat_database`). "
        f"A run a target is judged on (score by id on PostgreSQL at {TARGET_CONNECTIONS} "
        f"connections) is measured {REPEATS} times in a row on the same server; the table "
        "shows the run with the median p99, and the targets list every run's p99 (one run "
        "of 10 s on two shared cores can catch a scheduling hiccup of several ms).",
    ]


def setup_text(args: argparse.Namespace, bench: Bench) -> list[str]:
    refused = sum(bench.refused.values())
    why = ", ".join(f"{field}: {count:,}" for field, count in bench.refused.most_common())
    return [
        "## Setup",
        "",
        f"Model `{MODEL}`: `AgeFromDate` (date of birth to age) + `ColumnTransformer` "
        f"(one-hot state and purpose) + RandomForest ({args.trees} trees, depth 10), "
        "trained and packaged (the contract's ranges inferred from the same rows) on 20,000 "
        f"applications of `customer_loan_applications(customers({args.customers:,}))`, "
        "decisions `score>=0.7:accept, score>=0.4:refer, else:decline`; its package "
        "sources `date_of_birth`, `account_balance` and `state` from the source "
        "`customers` by `customer_id`. The caller sends the id, `loan_amount` and "
        "`purpose` (amounts cut at 40,000, inside the contract):",
        "",
        "```json",
        '{"model": "loan-by-customer", "entity": {"customer_id": 4711}, '
        '"inputs": {"loan_amount": 9000.0, "purpose": "car"}}',
        "```",
        "",
        f"The table `customers` ({args.customers:,} rows: id, date of birth, state, balance, "
        "home coordinates; `customer_id` the primary key; analysed) is in a SQLite file and "
        "in a PostgreSQL database created for the run; the sources file binds `customers` "
        "to one of them (`table: customers`, `timeout_seconds: 2`). The server runs with "
        "its defaults otherwise (metrics and access log on).",
        "",
        (
            f"{refused:,} of the {args.customers:,} customers ({refused / args.customers:.2%}) "
            f"have a row the model's contract refuses (errors by field: {why}; a value outside "
            "the ranges of the training rows); scoring them by id is a `422 invalid_input`, by "
            "design. The runs ask only for the others:"
            if refused
            else "Every customer's row is inside the model's contract."
        ),
        "",
        f"* **cache warm**: `ttl_seconds: {WARM_TTL:g}`; requests pick at random among "
        f"{WARM_IDS:,} distinct customers (one application each), all scored before the "
        "warm-up (once with 1 worker; three passes with 2, whose processes have a cache "
        "each, completed by the warm-up): the lookup is an in-process cache hit.",
        "* **cache cold**: `ttl_seconds: 0`, so the cache keeps nothing and every request "
        f"reaches the database (a primary-key `SELECT`); ids at random over all "
        f"{bench.n_cold:,} of them.",
        "* **predict (joined record)**: the baseline without any lookup, "
        f"`POST /v1/models/{MODEL}/predict` with the {WARM_IDS:,} warm applications already "
        "joined with their customer's row (the record score-by-id assembles), on the same "
        "server, right after the score run at the same number of connections.",
    ]


def main() -> None:
    args = parse_args()
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the cleanup below
    procs = Processes()
    outcomes: list[Outcome] = []
    databases: list[Database] = []
    deadlines: list[Deadline] = []
    wrk_bin = wrk.ensure_wrk()
    with contextlib.ExitStack() as stack:
        print("preparing the model ...", flush=True)
        bench = Bench(args, procs, wrk_bin)
        print("creating the customer tables ...", flush=True)
        databases.append(sqlite_database(bench.work / "crm.db", bench.table))
        databases.append(stack.enter_context(postgres_database(args.postgres_url, bench.table)))
        stack.callback(procs.stop_all)  # before the database is dropped
        outcomes.extend(
            bench.run(database, cache, workers)
            for workers in args.worker_counts
            for database in databases
            for cache in ("warm", "cold")
        )
        postgres = next(d for d in databases if d.title == "PostgreSQL")
        deadlines = measure_deadlines(procs, bench.start, bench.work, postgres, bench.warm_bodies)
    loads = [(time.monotonic() - started) / 60, load_before, os.getloadavg()[0]]
    text = render(outcomes, header(args, wrk_bin, databases, loads), setup_text(args, bench))
    text += "\n" + "\n".join(render_deadlines(deadlines))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(f"\nwrote {args.output}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("interrupted: every server this run started has been stopped")
