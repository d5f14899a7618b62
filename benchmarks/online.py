"""Online serving: modelport against the bare limit and four peers, under wrk, side by side.

    python benchmarks/online.py                      # writes benchmarks/results/online.md
    python benchmarks/online.py --seconds 5 --systems modelport,bare
    python benchmarks/online.py --quick              # smoke run: benchmarks/.work/online-quick.md

Trains the loan-approval pipeline once (RandomForest, 100 trees, depth 12, 20,000 rows),
packages it for modelport (plus a second version for the hot swap) and saves it with joblib
for the peers. Then, one system at a time: install it into its own venv under
``benchmarks/.work/venvs`` (first run only), start it on 127.0.0.1, check one answer per
payload (status 200, one probability per record, agreement with scikit-learn), and drive it
with wrk (installed with apt-get when missing) at 1, 16 and 64 connections with
single-record and 32-record requests, sampling the RSS of its whole process tree. For
modelport, a last 16-connection run moves the production alias to version 2 and back; then
paired rounds measure what metrics and authentication (JWT, API keys) cost.

Systems: modelport (1 and 2 workers), the bare ASGI limit app (1 and 2 workers), Flask +
joblib (gunicorn), MLflow (``mlflow models serve``), MLServer (scikit-learn runtime),
BentoML. A peer that fails to install, start or answer is reported as failed, with why.
Every started process group is stopped at the end, also on an error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import math
import platform
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import orjson
import pandas as pd
import sklearn
from sklearn.ensemble import RandomForestClassifier

import modelport as mp
from modelport.datasets import LOAN_FEATURES, loan_applications, loan_pipeline
from modelport.security.tokens import issue_token
from online_peers import wrk
from online_peers.machine import machine
from online_peers.paired import SERVER_CPU, Paired, compare, pinned
from online_peers.payloads import Payload, encode, positive_probabilities, v2_datatypes
from online_peers.procs import Processes, Server, free_port, http
from online_peers.report import Outcome, render
from online_peers.systems import GROUPS, NAME, Context, System, environment, systems
from online_peers.venvs import PeerFailed, ensure_venv

HERE = Path(__file__).resolve().parent
CONNECTIONS = [1, 16, 64]
BATCH = 32
HOT_SWAP_CONNECTIONS = 16
WARMUP_CONNECTIONS = 16
VERSION_HEADER = "x-model-version"
METRICS_ON = "metrics on"
JWT_AUTH, API_KEY_AUTH, NO_AUTH = "JWT auth", "API-key auth", "no auth"
JWT_SECRET = "benchmark-secret-0123456789-0123456789-0123456789"
PAIRED_PLAN = (6, 4, 2.5)  # paired costs: server pairs, ABBA rounds per pair, seconds per run


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="wrk duration per cell")
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up per payload, s")
    parser.add_argument(
        "--systems",
        default=",".join(GROUPS),
        help=f"comma-separated subset of: {', '.join(GROUPS)}",
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 s cells")
    parser.add_argument("--no-hot-swap", action="store_true", help="skip the hot-swap runs")
    parser.add_argument("--work", type=Path, default=HERE / ".work", help="venvs and scratch")
    parser.add_argument("--output", type=Path, help="default: benchmarks/results/online.md")
    args = parser.parse_args()
    args.groups = [g.strip() for g in args.systems.split(",") if g.strip()]
    unknown = sorted(set(args.groups) - set(GROUPS))
    if unknown:
        parser.error(f"unknown systems {unknown}; choose from {GROUPS}")
    if args.quick:
        args.seconds, args.warmup = 2.0, 1.0
    if args.output is None:
        quick = args.work / "online-quick.md"
        args.output = quick if args.quick else HERE / "results" / "online.md"
    return args


def to_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready records: ``None`` for a missing value, plain bool / int / float / str."""

    def plain(value: Any) -> Any:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        if isinstance(value, np.generic):
            return value.item()
        return value

    return [{k: plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def modelport_cli(ctx: Context, *args: str) -> subprocess.CompletedProcess[str]:
    env = environment(ctx.main_bin, {"MODELPORT_HOME": str(ctx.modelport_home)})
    command = [str(ctx.main_bin / "modelport"), *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False)


def prepare(run_dir: Path, hot_swap: bool) -> tuple[Context, Any, pd.DataFrame]:
    """Train, package (v1, and v2 for the hot swap), register, save with joblib."""
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    data = loan_applications(20_000, seed=42)
    features = data[LOAN_FEATURES]
    ctx = Context(
        run_dir=run_dir,
        main_bin=Path(sys.executable).parent,
        package=run_dir / "packages" / "v1",
        joblib_file=run_dir / "model.joblib",
        sample_file=run_dir / "sample.json",
        modelport_home=run_dir / "modelport-home",
    )
    models = []
    for version, seed in enumerate((0, 1) if hot_swap else (0,), start=1):
        started = time.perf_counter()
        estimator = RandomForestClassifier(n_estimators=100, max_depth=12, random_state=seed)
        model = loan_pipeline(estimator).fit(features, data["approved"])
        built = mp.package(model, data, name=NAME, path=run_dir / "packages" / f"v{version}")
        alias = ["--alias", "production"] if version == 1 else []
        done = modelport_cli(ctx, "models", "register", str(built.path), *alias)
        if done.returncode != 0:
            raise RuntimeError(f"modelport models register failed: {done.stderr or done.stdout}")
        took = time.perf_counter() - started
        print(f"  version {version}: trained, packaged and registered in {took:.1f} s")
        models.append(model)
    joblib.dump(models[0], ctx.joblib_file)
    ctx.sample_file.write_text(json.dumps(to_records(features.head(2000))))
    return ctx, models[0], features


def installed_versions(bin_dir: Path, distributions: tuple[str, ...]) -> str:
    code = (
        "import importlib.metadata as m, sys\n"
        "print(', '.join(f'{d} {m.version(d)}' for d in sys.argv[1:]))"
    )
    done = subprocess.run(
        [str(bin_dir / "python"), "-c", code, *distributions], capture_output=True, text=True
    )
    return done.stdout.strip() or done.stderr.strip()[-200:]


def check_answers(
    system: System, url: str, bodies: dict[str, bytes], payloads: list[Payload], expected: Any
) -> dict[str, float]:
    """One request per payload: 200, one probability per record; the gap to scikit-learn."""
    gaps = {}
    for payload in payloads:
        status, raw = http(url, bodies[payload.title], timeout=60)
        if status != 200:
            raise PeerFailed(f"{payload.title}: HTTP {status}: {raw[:300]!r}")
        try:
            found = positive_probabilities(system.payload_format, orjson.loads(raw))
        except (ValueError, KeyError, TypeError, IndexError, StopIteration) as exc:
            raise PeerFailed(
                f"{payload.title}: unreadable answer ({exc!r}): {raw[:300]!r}"
            ) from None
        if len(found) != len(payload.records):
            raise PeerFailed(
                f"{payload.title}: {len(found)} predictions for {len(payload.records)} records"
            )
        gaps[payload.title] = float(np.abs(np.array(found) - expected[: len(found)]).max())
    return gaps


def hot_swap(
    ctx: Context, wrk_bin: str, url: str, body: bytes, seconds: float, tag: str
) -> tuple[wrk.WrkResult, list[str]]:
    """A wrk run during which the production alias moves to version 2 and back to 1."""
    script = wrk.write_script(ctx.run_dir / "wrk" / f"hot-swap-{tag}.lua", body, VERSION_HEADER)
    load = wrk.start(wrk_bin, url, script, HOT_SWAP_CONNECTIONS, seconds)
    started = time.monotonic()
    notes = []
    try:
        for at, version in ((0.3 * seconds, "2"), (0.65 * seconds, "1")):
            time.sleep(max(0.0, started + at - time.monotonic()))
            moved_at = time.monotonic() - started
            done = modelport_cli(ctx, "models", "alias", NAME, "production", version)
            status = "" if done.returncode == 0 else f" FAILED: {done.stderr.strip()[-200:]}"
            notes.append(f"→ {version} at {moved_at:.1f} s{status}")
        out, err = load.communicate(timeout=seconds + 60)
    finally:
        if load.poll() is None:
            load.kill()
            load.wait()
        modelport_cli(ctx, "models", "alias", NAME, "production", "1")
    if load.returncode != 0:
        raise PeerFailed(f"wrk failed in the hot-swap run: {err.strip()[:300]}")
    return wrk.parse(out), notes


def bench(
    system: System,
    ctx: Context,
    procs: Processes,
    wrk_bin: str,
    payloads: list[Payload],
    expected: Any,
    args: argparse.Namespace,
) -> Outcome:
    outcome = Outcome(system)
    print(f"\n== {system.key}: {system.config}", flush=True)
    server = None
    try:
        bin_dir = ctx.main_bin
        if system.requirements:
            venvs = args.work / "venvs"
            log = args.work / "logs" / f"install-{system.group}.log"
            bin_dir = ensure_venv(venvs, system.group, list(system.requirements), log)
        outcome.versions = installed_versions(bin_dir, system.distributions)
        print(f"  {outcome.versions}")
        port = free_port()
        launch = system.launch(ctx, bin_dir, port)
        log = ctx.run_dir / "logs" / f"{system.key.split(' (')[0].replace(' ', '-')}-{port}.log"
        server = procs.start(
            system.key, launch.command, log, environment(bin_dir, launch.env), launch.cwd
        )
        base = f"http://127.0.0.1:{port}"
        started = time.monotonic()
        server.wait_ready(base + system.ready_path, system.ready_timeout)
        print(f"  ready in {time.monotonic() - started:.1f} s ({' '.join(launch.command[:3])} ...)")
        datatypes = v2_datatypes(payloads[-1].records)
        bodies = {p.title: encode(system.payload_format, p, datatypes) for p in payloads}
        outcome.check_diff = check_answers(system, base + system.path, bodies, payloads, expected)
        print(f"  answers checked: {outcome.check_diff}")
        tag = f"{system.group}-{port}"
        for index, payload in enumerate(payloads):
            script_path = ctx.run_dir / "wrk" / f"{tag}-{index}.lua"
            script = wrk.write_script(script_path, bodies[payload.title])
            wrk.run(wrk_bin, base + system.path, script, WARMUP_CONNECTIONS, args.warmup)
            for connections in CONNECTIONS:
                cell = wrk.run(wrk_bin, base + system.path, script, connections, args.seconds)
                outcome.cells[(payload.title, connections)] = cell
                print(
                    f"  {payload.title:<14} c={connections:<3} {cell.requests_per_s:>9,.0f} req/s"
                    f"  p50 {cell.p50_ms:7.2f} ms  p99 {cell.p99_ms:7.2f} ms"
                    f"  errors {cell.errors}",
                    flush=True,
                )
        if system.hot_swap and not args.no_hot_swap:
            seconds = max(args.seconds, 8.0)
            single = bodies[payloads[0].title]
            swap, notes = hot_swap(ctx, wrk_bin, base + system.path, single, seconds, tag)
            outcome.hot_swap, outcome.hot_swap_notes = swap, notes
            print(
                f"  hot swap: {swap.requests_per_s:,.0f} req/s, errors {swap.errors}, "
                f"answered {swap.answered}, alias {'; '.join(notes)}"
            )
    except (PeerFailed, RuntimeError, subprocess.SubprocessError, OSError) as exc:
        outcome.failure = str(exc).replace("\n", " ").replace("|", "/")[:600]
        print(f"  FAILED: {outcome.failure}")
    finally:
        if server is not None:
            outcome.peak_mb = procs.stop(server)
            print(f"  stopped; peak RSS {outcome.peak_mb:,.0f} MB")
    return outcome


def metrics_cost(
    ctx: Context, procs: Processes, wrk_bin: str, body: bytes, args: argparse.Namespace
) -> list[Paired]:
    """modelport with metrics on (the default) against metrics off, and the on/on control.

    See :mod:`online_peers.paired` for why a cost of a few percent needs paired rounds.
    """
    settings = {METRICS_ON: {}, "metrics off": {"MODELPORT_METRICS": "false"}}
    comparisons = [(METRICS_ON, "metrics off"), (METRICS_ON, METRICS_ON)]
    return paired_cost("metrics", ctx, procs, wrk_bin, body, args, settings, comparisons)


def auth_cost(
    ctx: Context, procs: Processes, wrk_bin: str, body: bytes, args: argparse.Namespace
) -> list[Paired]:
    """modelport with JWT and with API-key authentication against authentication off.

    Every request carries the credential (the server without authentication ignores it),
    so both servers of a pair get the same bytes; the token is reused, as real clients do.
    """
    made = modelport_cli(ctx, "keys", "create", "bench", "--scope", f"predict:{NAME}")
    if made.returncode != 0:
        raise RuntimeError(f"modelport keys create failed: {made.stderr or made.stdout}")
    api_key = made.stdout.strip()
    token = issue_token("bench", [f"predict:{NAME}"], expires_in=3600, secret=JWT_SECRET)
    jwt_on = {"MODELPORT_AUTH": "jwt", "MODELPORT_JWT_SECRET": JWT_SECRET}
    results = []
    for setting, env, credential in (
        (JWT_AUTH, jwt_on, token),
        (API_KEY_AUTH, {"MODELPORT_AUTH": "apikey"}, api_key),
    ):
        settings: dict[str, dict[str, str]] = {setting: env, NO_AUTH: {}}
        headers = {"Authorization": f"Bearer {credential}"}
        results += paired_cost(
            "auth", ctx, procs, wrk_bin, body, args, settings, [(setting, NO_AUTH)], headers
        )
    return results


def paired_cost(
    what: str,
    ctx: Context,
    procs: Processes,
    wrk_bin: str,
    body: bytes,
    args: argparse.Namespace,
    settings: dict[str, dict[str, str]],
    comparisons: list[tuple[str, str]],
    headers: dict[str, str] | None = None,
) -> list[Paired]:
    """Paired rounds of modelport servers differing only in ``settings`` (name -> env)."""
    pairs, rounds, seconds = (2, 2, 2.0) if args.quick else PAIRED_PLAN
    print(
        f"\n== {what} cost: {pairs} server pairs x {rounds} rounds of {seconds:g} s "
        f"for each of {len(comparisons)} comparisons",
        flush=True,
    )
    script = wrk.write_script(ctx.run_dir / "wrk" / f"{what}.lua", body, headers=headers)

    def start(setting: str, name: str, port: int) -> Server:
        command = [str(ctx.main_bin / "modelport"), "serve", "--port", str(port)]
        env = {"MODELPORT_HOME": str(ctx.modelport_home), **settings[setting]}
        log = ctx.run_dir / "logs" / f"{what}-{name}-{port}.log"
        server = procs.start(
            name, pinned(command, SERVER_CPU), log, environment(ctx.main_bin, env), None
        )
        server.wait_ready(f"http://127.0.0.1:{port}/readyz", 120)
        return server

    def url_of(port: int) -> str:
        return f"http://127.0.0.1:{port}/v1/models/{NAME}/predict"

    return [
        compare(start, procs, wrk_bin, url_of, script, pair, pairs, rounds, seconds)
        for pair in comparisons
    ]


def machine_header(args: argparse.Namespace, wrk_bin: str, minutes: float) -> list[str]:
    command = "python benchmarks/online.py" + (" --quick" if args.quick else "")
    if not args.quick and args.seconds != 10.0:
        command += f" --seconds {args.seconds:g}"
    if args.groups != GROUPS:
        command += f" --systems {','.join(args.groups)}"
    return [
        "# Online serving: modelport vs the limit and the peers",
        "",
        f"`{command}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {minutes:.0f} min in all. "
        f"Machine: {machine()}, "
        f"Python {platform.python_version()}, scikit-learn {sklearn.__version__} (pinned in "
        f"every peer's venv), modelport {importlib.metadata.version('modelport')}.",
        "",
        f"Load: {wrk.version(wrk_bin)}, one thread (`wrk -t1 -cC -d{args.seconds:g}s --latency "
        f"--timeout {wrk.TIMEOUT}`), on the same 2 cores as the server, over loopback; each "
        f"payload starts with a {args.warmup:g} s warm-up at 16 connections. Errors = non-2xx "
        "answers + socket errors (connect, read, write, timeout). Peak RSS = the largest sum "
        "of the resident memory of the server's whole process tree, sampled every 0.2 s over "
        "its life (a page shared by several processes counts once in each). The machine "
        "is shared with other work: numbers are noisy.",
        "",
        "The same fitted pipeline everywhere (RandomForest, 100 trees, depth 12, 20,000 "
        "synthetic loan applications, missing values imputed inside the pipeline): modelport "
        "and the bare app run its ONNX graph from the modelport package, the peers the "
        "scikit-learn pipeline saved with joblib. Records are JSON objects of the 13 "
        "application fields of `modelport.datasets.loan_applications` (null for missing "
        "values); each system gets "
        "them in its own request format (MLflow `dataframe_records`, MLServer V2 with the "
        "pandas codec asking for `predict_proba`, BentoML a records-oriented DataFrame) and "
        "answers class probabilities for every record.",
    ]


def main() -> None:
    args = parse_args()
    started = time.monotonic()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the cleanup below
    selected = [s for s in systems(sklearn.__version__) if s.group in args.groups]
    procs = Processes()
    outcomes: list[Outcome] = []
    cost: list[Paired] = []
    auth: list[Paired] = []
    try:
        wrk_bin = wrk.ensure_wrk()
        print("preparing the model ...", flush=True)
        hot = "modelport" in args.groups and not args.no_hot_swap
        ctx, model, features = prepare(args.work / "run", hot)
        records = to_records(features.head(BATCH))
        payloads = [
            Payload("single record", records[:1], single=True),
            Payload(f"{BATCH} records", records, single=False),
        ]
        expected = model.predict_proba(features.head(BATCH))[:, -1]
        outcomes.extend(
            bench(system, ctx, procs, wrk_bin, payloads, expected, args) for system in selected
        )
        if "modelport" in args.groups:
            single = encode("records", payloads[0], v2_datatypes(payloads[-1].records))
            cost = metrics_cost(ctx, procs, wrk_bin, single, args)
            auth = auth_cost(ctx, procs, wrk_bin, single, args)
    finally:
        procs.stop_all()
    text = render(
        outcomes,
        [(p.title, len(p.records)) for p in payloads],
        CONNECTIONS,
        machine_header(args, wrk_bin, (time.monotonic() - started) / 60),
        cost,
        auth,
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(f"\nwrote {args.output}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("interrupted: every server this run started has been stopped")
