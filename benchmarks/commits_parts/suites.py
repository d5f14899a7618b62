"""The three user-facing paths, each measured on both commits in paired rounds.

* ``online``: ``POST /v1/models/loan-approval/predict``, one record, under wrk;
* ``score``: ``POST /v1/score`` by customer id, the customer table in SQLite, cache warm;
* ``batch``: ``modelport batch score loan-batch@production -i IN.parquet -o OUT.parquet``.

The two HTTP suites use :func:`online_peers.paired.compare`: one uvicorn worker per
server pinned to core 0, wrk on core 1, fresh server pairs started in alternating order,
ABBA rounds within a pair. The batch suite runs each commit's CLI as its own process on
both cores (one worker process per core, its default), in ABBA / BAAB blocks.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow.parquet as pq
import yaml

from commits_parts.report import Row, Section
from commits_parts.sides import MODELS, Side
from online_peers import wrk
from online_peers.paired import SERVER_CPU, Paired, compare, pinned
from online_peers.procs import Processes, Server, http
from online_peers.venvs import PeerFailed

__all__ = ["PLANS", "Bench", "Plan", "batch", "online", "score"]

WARM_IDS = 1_000
WARM_TTL = 3600.0
CONNECTIONS = 16


@dataclass(frozen=True)
class Plan:
    pairs: int  # server pairs (HTTP suites) or ABBA blocks (batch)
    rounds: int  # rounds per server pair (HTTP suites)
    seconds: float  # wrk run (HTTP suites)
    rows: int = 0  # rows of the batch input


PLANS: dict[str, dict[str, Plan]] = {
    "full": {
        "online": Plan(6, 4, 2.0),
        "score": Plan(6, 4, 2.0),
        "batch": Plan(4, 2, 0.0, rows=500_000),
    },
    "quick": {
        "online": Plan(1, 2, 1.0),
        "score": Plan(1, 2, 1.0),
        "batch": Plan(1, 2, 0.0, rows=100_000),
    },
}


@dataclass
class Bench:
    """What every suite shares."""

    base: Side
    head: Side
    work: Path
    data: Path
    procs: Processes
    wrk_bin: str
    logs: Path = field(init=False)

    def __post_init__(self) -> None:
        self.logs = self.work / "logs"

    def pairs(self) -> list[tuple[Side, Side]]:
        """(A, B): head against base, then the control, head against itself."""
        return [(self.head, self.base), (self.head, self.head)]

    def starter(
        self,
        suite: str,
        extra_env: dict[str, str] | None = None,
        ready: Callable[[Side, int], None] | None = None,
    ) -> Callable[[str, str, int], Server]:
        """``start(setting, name, port)`` for :func:`compare`: the side whose label is
        ``setting`` serves from its own tree and registry; ``ready`` runs once it answers."""
        by_label = {side.label: side for side in (self.base, self.head)}

        def start(setting: str, name: str, port: int) -> Server:
            side = by_label[setting]
            command = [sys.executable, "-m", "uvicorn", "modelport.server.app:factory"]
            command += ["--factory", "--host", "127.0.0.1", "--port", str(port)]
            command += ["--no-access-log", "--log-level", "warning"]
            env = side.env(suite, **(extra_env or {}))
            log = self.logs / suite / f"{side.commit[:12]}-{port}.log"
            server = self.procs.start(name, pinned(command, SERVER_CPU), log, env, None)
            server.wait_ready(f"http://127.0.0.1:{port}/readyz", 120)
            if ready is not None:
                ready(side, port)
            return server

        return start


def _rounds(plan: Plan) -> str:
    return f"({plan.pairs} server pair{'s' if plan.pairs > 1 else ''} x {plan.rounds})"


def _paired_rows(
    bench: Bench, suite: str, start: Any, path: str, script: Path, plan: Plan
) -> list[Row]:
    """The paired comparisons (head / base, then the control) of one HTTP suite."""
    rows = []
    for a, b in bench.pairs():
        print(f"\n== {suite}: {a.label} / {b.label}", flush=True)
        paired = compare(
            start,
            bench.procs,
            bench.wrk_bin,
            lambda port: f"http://127.0.0.1:{port}{path}",
            script,
            (a.label, b.label),
            plan.pairs,
            plan.rounds,
            plan.seconds,
            CONNECTIONS,
        )
        rows.append(Row(paired, _rounds(plan)))
    return rows


def online(bench: Bench, plan: Plan) -> Section:
    """Predict, one record, 16 connections."""
    started = time.perf_counter()
    name = MODELS["online"]
    train = pd.read_parquet(bench.data / "online-train.parquet")
    features = json.loads((bench.data / "meta.json").read_text())["online_features"]
    record = {k: (None if v != v else v) for k, v in train[features].iloc[0].items()}
    body = orjson.dumps(record, option=orjson.OPT_SERIALIZE_NUMPY)
    script = wrk.write_script(bench.work / "online" / "predict.lua", body)
    answers: dict[str, Any] = {}

    def ready(side: Side, port: int) -> None:
        answers.setdefault(
            side.label, _answer(f"http://127.0.0.1:{port}/v1/models/{name}/predict", body)
        )

    start = bench.starter("online", ready=ready)
    rows = _paired_rows(bench, "online", start, f"/v1/models/{name}/predict", script, plan)
    same = _same(answers.get(bench.head.label), answers.get(bench.base.label))
    intro = (
        f"`POST /v1/models/{name}/predict`, one record (the first training row), "
        f"{CONNECTIONS} connections, wrk runs of {plan.seconds:g} s after a 2 s warm-up per "
        "server. The model: `loan_pipeline` (impute, scale, one-hot) and a 100-tree random "
        "forest of depth 12 on 20,000 `loan_applications`, as in `online.py`. One uvicorn "
        "worker from each commit's own tree, default settings (authentication off, metrics "
        "and modelport's access log on)."
    )
    notes = [f"Both commits' first answers to that record: {same}."]
    return Section("Online: predict", "req/s", intro, rows, notes, time.perf_counter() - started)


def score(bench: Bench, plan: Plan) -> Section:
    """Score by customer id against SQLite, cache warm."""
    started = time.perf_counter()
    name = MODELS["score"]
    database = _customers_db(bench.data)
    sources = bench.work / "score" / "sources.yaml"
    sources.parent.mkdir(parents=True, exist_ok=True)
    binding = {
        "url": f"sqlite:///{database}",
        "table": "customers",
        "keys": ["customer_id"],
        "timeout_seconds": 2.0,
        "ttl_seconds": WARM_TTL,
    }
    sources.write_text(yaml.safe_dump({"customers": binding}, sort_keys=False))
    # Applications of the training rows (so inside either commit's contract), one per
    # customer, 1,000 customers: all asked once before the runs, the lookups cache hits.
    train = pd.read_parquet(bench.data / "score-train.parquet")
    apps = train.drop_duplicates("customer_id").sample(WARM_IDS, random_state=7)
    bodies = [
        orjson.dumps(
            {
                "model": name,
                "entity": {"customer_id": int(customer)},
                "inputs": {"loan_amount": float(amount), "purpose": str(purpose)},
            }
        )
        for customer, amount, purpose in zip(
            apps["customer_id"], apps["loan_amount"], apps["purpose"], strict=True
        )
    ]
    script = _random_body_script(bench.work / "score" / "score.lua", bodies)
    scores: dict[str, list[float]] = {}

    def ready(side: Side, port: int) -> None:
        got = [_score(_answer(f"http://127.0.0.1:{port}/v1/score", body)) for body in bodies]
        scores.setdefault(side.label, got)

    start = bench.starter("score", {"MODELPORT_SOURCES_FILE": str(sources)}, ready)
    rows = _paired_rows(bench, "score", start, "/v1/score", script, plan)
    head, base = scores.get(bench.head.label), scores.get(bench.base.label)
    agree = (
        f"max abs difference {np.max(np.abs(np.subtract(head, base))):.1e}"
        if head and base
        else "-"
    )
    intro = (
        f'`POST /v1/score` with `{{"model": "{name}", "entity": {{"customer_id": ...}}, '
        '"inputs": {"loan_amount": ..., "purpose": ...}}`, a random one of '
        f"{WARM_IDS:,} applications (distinct customers, taken from the training rows) "
        f"per request, {CONNECTIONS} connections, wrk runs of {plan.seconds:g} s. The "
        "customer table (100,000 rows, `customer_id` the primary key) is a SQLite file, "
        f"bound by a sources file (`MODELPORT_SOURCES_FILE`, `ttl_seconds: {WARM_TTL:g}`); "
        "every server answers all the applications once before its 2 s warm-up (each must "
        "be a 200 with a score), so the runs are served from its cache. The model, as in "
        "`orchestrated.py`: `AgeFromDate` + one-hot + a 100-tree random forest of depth 10, "
        "decisions accept / refer / decline, the customer's date of birth, balance and "
        "state sourced from `customers` by `customer_id`. One uvicorn worker per server, "
        "default settings otherwise."
    )
    notes = [
        f"Scores of the {WARM_IDS:,} applications, {bench.head.label} against "
        f"{bench.base.label}: {agree}."
    ]
    return Section(
        "Score by id: POST /v1/score", "req/s", intro, rows, notes, time.perf_counter() - started
    )


@dataclass
class BatchRun:
    seconds: float
    cli_rows_per_s: float | None
    written: int
    rejected: int | None


def batch(bench: Bench, plan: Plan) -> Section:
    """The batch CLI of each commit on the same Parquet file, ABBA / BAAB blocks."""
    started = time.perf_counter()
    source = bench.data / f"batch-input-{plan.rows}.parquet"
    rows = pq.ParquetFile(source).metadata.num_rows
    out = bench.work / "batch"
    out.mkdir(parents=True, exist_ok=True)

    def run(side: Side, slot: str) -> BatchRun:
        target = out / f"{side.commit[:12]}-{slot}.parquet"
        target.unlink(missing_ok=True)
        command = [sys.executable, "-m", "modelport.cli.main", "batch", "score"]
        command += [f"{MODELS['batch']}@production", "-i", str(source), "-o", str(target)]
        command += ["--quiet", "--json"]
        began = time.perf_counter()
        done = subprocess.run(command, env=side.env("batch"), capture_output=True, text=True)
        seconds = time.perf_counter() - began
        if done.returncode != 0 or not target.exists():
            said = (done.stderr or done.stdout).strip().splitlines()
            raise RuntimeError(f"batch score with {side.label} failed: {' / '.join(said[-3:])}")
        written = pq.ParquetFile(target).metadata.num_rows
        summary = _json_summary(done.stdout)
        rate = summary.get("rows_per_second")
        rejected = summary.get("rows_rejected")
        print(
            f"  {side.label:<24} {seconds:6.2f} s  {rows / seconds:>9,.0f} rows/s wall"
            f"  {rate or 0:>9,.0f} rows/s by its summary  {written:,} rows written",
            flush=True,
        )
        return BatchRun(
            seconds,
            float(rate) if isinstance(rate, int | float) else None,
            written,
            rejected if isinstance(rejected, int) else None,
        )

    print("\n== batch: warm-up, one run each", flush=True)
    first = {side.label: run(side, "check") for side in (bench.base, bench.head)}
    agree = _agreement(
        out / f"{bench.head.commit[:12]}-check.parquet",
        out / f"{bench.base.commit[:12]}-check.parquet",
    )
    written = ", ".join(f"{label} {r.written:,}" for label, r in first.items())
    rejected = ", ".join(
        f"{label} {'-' if r.rejected is None else f'{r.rejected:,}'}" for label, r in first.items()
    )
    problems = [label for label, r in first.items() if r.written != rows]
    result = [
        f"Rows written of {rows:,} (warm-up runs): {written}"
        + (f" (**not all rows** for {', '.join(problems)})" if problems else "")
        + f"; rows rejected by their summaries: {rejected}.",
        f"`proba_1`, {bench.head.label} against {bench.base.label}, row by row: {agree}.",
    ]
    table = []
    for a, b in bench.pairs():
        print(f"\n== batch: {a.label} / {b.label}", flush=True)
        runs: dict[str, list[BatchRun]] = {"a": [], "b": []}
        for block in range(plan.pairs):
            order = "abba" if block % 2 == 0 else "baab"
            for index, key in enumerate(order):
                side = a if key == "a" else b
                got = run(side, f"{key}{index % 2}")
                if got.written != rows:
                    raise RuntimeError(f"{side.label} wrote {got.written:,} rows of {rows:,}")
                runs[key].append(got)
        count = f"({plan.pairs} ABBA block{'s' if plan.pairs > 1 else ''} x 2)"
        wall = Paired(
            a.label,
            b.label,
            [rows / r.seconds for r in runs["a"]],
            [rows / r.seconds for r in runs["b"]],
            plan.pairs,
            0.0,
            False,
        )
        table.append(Row(wall, count, "wall time"))
        if all(r.cli_rows_per_s for r in runs["a"] + runs["b"]):
            own = Paired(
                a.label,
                b.label,
                [r.cli_rows_per_s or 0.0 for r in runs["a"]],
                [r.cli_rows_per_s or 0.0 for r in runs["b"]],
                plan.pairs,
                0.0,
                False,
            )
            table.append(Row(own, count, "its summary"))
    intro = (
        f"`modelport batch score {MODELS['batch']}@production -i IN.parquet -o OUT.parquet "
        f"--quiet --json`, run by each commit's CLI (`python -m modelport.cli.main`, its "
        f"own tree, its own registry) on the same input: {rows:,} loan applications "
        "(Parquet, row groups of 65,536), every one inside the contract. Defaults otherwise: "
        "one worker process per core, not pinned (the benchmark runs nothing else meanwhile). "
        "The model, as "
        "in `batch.py`: the loan example's pipeline (age from the date of birth, distance to "
        "the nearest branch, one-hot, a 100-tree random forest of depth 12) with decisions, "
        "trained on 20,000 applications. After one untimed run each, blocks of four runs, "
        "A B B A then B A A B, ...; a round is an A run and the B run next to it. *Wall "
        "time*: rows / the process's wall time, start to exit (imports, registry, model "
        "loading and worker start-up included); *its summary*: the rows/s the command "
        "reports itself (`--json`)."
    )
    return Section(
        "Batch: modelport batch score",
        "rows/s",
        intro,
        table,
        result,
        time.perf_counter() - started,
        pinned="no (both cores)",
    )


def _answer(url: str, body: bytes) -> Any:
    status, raw = http(url, body, timeout=30)
    if status != 200:
        raise PeerFailed(f"{url}: HTTP {status}: {raw[:300]!r} for {body[:200]!r}")
    return orjson.loads(raw)


def _score(answer: Any) -> float:
    value = answer.get("score") if isinstance(answer, dict) else None
    if not isinstance(value, float):
        raise PeerFailed(f"a /v1/score answer without a score: {str(answer)[:300]}")
    return value


def _same(one: Any, other: Any) -> str:
    if one is None or other is None:
        return "-"
    if one == other:
        return "identical"
    return f"different: {orjson.dumps(one)[:200]!r} and {orjson.dumps(other)[:200]!r}"


def _customers_db(data: Path) -> Path:
    """``customers`` in SQLite, ``customer_id`` the primary key, analysed (made once)."""
    database = data / "customers.db"
    if database.exists():
        return database
    table = pd.read_parquet(data / "customers.parquet")
    partial = database.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    with sqlite3.connect(partial) as connection:
        connection.execute(
            "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, date_of_birth TEXT, "
            "state TEXT, account_balance REAL, home_lat REAL, home_lon REAL)"
        )
        names = ["customer_id", "date_of_birth", "state", "account_balance", "home_lat", "home_lon"]
        rows = zip(*(table[name].tolist() for name in names), strict=True)
        connection.executemany(f"INSERT INTO customers VALUES ({', '.join('?' * 6)})", rows)
        connection.execute("ANALYZE customers")
    connection.close()
    partial.rename(database)
    return database


def _random_body_script(path: Path, bodies: list[bytes], seed: int = 1) -> Path:
    """A wrk script POSTing a uniformly random one of ``bodies`` (one per line) per request."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines_file = path.with_suffix(".jsonl")
    lines_file.write_bytes(b"\n".join(bodies) + b"\n")
    lines = [
        'wrk.method = "POST"',
        'wrk.headers["Content-Type"] = "application/json"',
        "local bodies = {}",
        f"for line in io.lines({json.dumps(str(lines_file))}) do",
        "  bodies[#bodies + 1] = line",
        "end",
        f"function init(args) math.randomseed({seed}) end",
        "function request()",
        "  return wrk.format(nil, nil, nil, bodies[math.random(#bodies)])",
        "end",
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def _json_summary(stdout: str) -> dict[str, Any]:
    """The CLI's ``--json`` summary: the last line of its output that is a JSON object."""
    for line in reversed(stdout.strip().splitlines()):
        if line.startswith("{"):
            try:
                found = json.loads(line)
            except ValueError:
                continue
            if isinstance(found, dict):
                return found
    return {}


def _agreement(one: Path, other: Path) -> str:
    """Max abs difference of ``proba_1`` between two outputs of the same input."""
    a, b = pq.ParquetFile(one), pq.ParquetFile(other)
    if a.metadata.num_rows != b.metadata.num_rows:
        return f"**different row counts** ({a.metadata.num_rows:,} and {b.metadata.num_rows:,})"
    if "proba_1" not in a.schema_arrow.names or "proba_1" not in b.schema_arrow.names:
        return "no `proba_1` column to compare"
    x = a.read(columns=["proba_1"]).column(0).to_numpy()
    y = b.read(columns=["proba_1"]).column(0).to_numpy()
    return f"max abs difference {np.max(np.abs(x - y)):.1e} over {len(x):,} rows"
