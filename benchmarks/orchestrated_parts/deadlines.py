"""How soon a request that cannot be answered in time hears so: a 503 from a slow feature
source (its ``timeout_seconds``) and from the server's request limit
(``MODELPORT_REQUEST_TIMEOUT_SECONDS``), timed at the client.

The tests check that each limit produces its error (``tests/server/test_score.py``); how
long the client waits for it is measured here. The source is a query on the run's
PostgreSQL database that sleeps far longer than either limit (``pg_sleep``); one server
(1 worker) per limit, requests one after another.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson
import yaml
from sqlalchemy import create_engine, text

from online_peers.procs import Processes, Server, http
from orchestrated_parts.setup import Database

__all__ = ["Deadline", "measure_deadlines", "render_deadlines"]

SLEEP_SECONDS = 30  # the source's query: far beyond both limits
REQUESTS = 5
SWEEP_SECONDS = 0.5  # the server checks request deadlines this often (server/deadlines.py)
ALLOWANCE = 0.25  # s: the rest of the request (reading, answering, loopback, scheduling)
QUERY = (
    f"SELECT pg_sleep({SLEEP_SECONDS}), '1980-01-01' AS date_of_birth, "
    "10.0 AS account_balance, 'NY' AS state WHERE CAST(:customer_id AS INTEGER) > 0"
)


@dataclass(frozen=True)
class Deadline:
    limit: str  # the setting that should answer
    seconds: float  # its value
    expected: str  # the error code it should answer with
    waited: list[float]  # seconds until the answer, per request
    codes: Counter[str]  # what the requests were answered with
    failure: str | None = None

    @property
    def bar(self) -> float:
        """The limit, plus one sweep of the server's deadlines, plus the allowance."""
        return self.seconds + SWEEP_SECONDS + ALLOWANCE


def measure_deadlines(
    procs: Processes,
    start: Callable[[str, dict[str, str]], tuple[Server, str]],
    work: Path,
    database: Database,
    bodies: list[bytes],
) -> list[Deadline]:
    """Both limits on ``database`` (PostgreSQL); ``start(name, env)`` starts a server with
    that environment and returns it with its base URL once it is ready."""
    cases = [
        ("source `timeout_seconds`", 0.5, "feature_source_unavailable", 0.5, {}),
        (
            "`MODELPORT_REQUEST_TIMEOUT_SECONDS`",
            1.0,
            "request_timeout",
            60.0,  # the source's own timeout: longer than its sleep
            {"MODELPORT_REQUEST_TIMEOUT_SECONDS": "1"},
        ),
    ]
    results = []
    for index, (limit, seconds, expected, source_timeout, env) in enumerate(cases):
        sources = work / "sources" / f"deadline-{index}.yaml"
        binding = {
            "url": database.url,
            "query": QUERY,
            "keys": ["customer_id"],
            "timeout_seconds": source_timeout,
            "ttl_seconds": 0,
        }
        sources.parent.mkdir(parents=True, exist_ok=True)
        sources.write_text(yaml.safe_dump({"customers": binding}, sort_keys=False))
        print(f"\n== deadline: {limit} = {seconds:g} s", flush=True)
        waited: list[float] = []
        codes: Counter[str] = Counter()
        failure = None
        server = None
        try:
            server, base = start(
                f"deadline-{index}", {"MODELPORT_SOURCES_FILE": str(sources)} | env
            )
            for body in bodies[:REQUESTS]:
                began = time.perf_counter()
                status, raw = http(base + "/v1/score", body, timeout=SLEEP_SECONDS + 10)
                waited.append(time.perf_counter() - began)
                codes[f"{status} {orjson.loads(raw).get('code', '?')}"] += 1
            print(f"  {codes}  waited {', '.join(f'{w:.3f}' for w in waited)} s", flush=True)
        except (RuntimeError, OSError, ValueError) as exc:
            failure = str(exc).replace("\n", " ").replace("|", "/")[:300]
            print(f"  FAILED: {failure}", flush=True)
        finally:
            _end_sleeping_queries(database)  # else the server's shutdown waits for them
            if server is not None:
                procs.stop(server)
        results.append(Deadline(limit, seconds, expected, waited, codes, failure))
    return results


def _end_sleeping_queries(database: Database) -> None:
    engine = create_engine(database.url)
    try:
        with engine.connect() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                    "AND query LIKE '%pg_sleep%'"
                )
            )
    finally:
        engine.dispose()


def render_deadlines(deadlines: list[Deadline]) -> list[str]:
    lines = [
        "## Deadlines",
        "",
        "A request that cannot be answered in time is a 503 as soon as its limit allows. The "
        f"source `customers` is a query that sleeps {SLEEP_SECONDS} s on the run's PostgreSQL "
        "database; one server (1 worker) per limit, the one under test the only one that "
        f"can answer first; {REQUESTS} requests one after another, timed at the client. The "
        f"bar: the limit, plus one sweep of the server's deadlines ({SWEEP_SECONDS:g} s), "
        f"plus {ALLOWANCE:g} s for the rest of the request.",
        "",
        "| limit | setting | answers | median s | max s | bar s | result |",
        "|---|---:|---|---:|---:|---:|---|",
    ]
    for d in deadlines:
        if d.failure is not None or not d.waited:
            lines.append(f"| {d.limit} | {d.seconds:g} s | not measured: {d.failure} | | | | |")
            continue
        answers = ", ".join(f"{n} x {code}" for code, n in d.codes.most_common())
        ok = set(d.codes) == {f"503 {d.expected}"} and max(d.waited) <= d.bar
        lines.append(
            f"| {d.limit} | {d.seconds:g} s | {answers} | {statistics.median(d.waited):.3f} "
            f"| {max(d.waited):.3f} | {d.bar:g} | {'PASS' if ok else '**FAIL**'} |"
        )
    return [*lines, ""]
