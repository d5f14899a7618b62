"""The serving hot path at two commits, side by side: did a change make predict slower?

    python benchmarks/commits.py c49d58b            # that commit against HEAD
    python benchmarks/commits.py c49d58b main~3     # any two commits

Checks both commits out as git worktrees (``benchmarks/.work/commits``), builds the loan
model's package once, registers it in a registry of each commit's own (each with its own
schema), and serves it from each commit's source tree: one uvicorn worker, defaults
(authentication off, metrics on, access log on). Then the paired rounds of
``online_peers.paired`` (servers pinned to core 0, wrk to core 1, fresh server pairs,
ABBA rounds, alternating start order), single record, 16 connections; and the control,
HEAD against itself, for the noise floor. Writes ``benchmarks/results/commits.md``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import orjson
from sklearn.ensemble import RandomForestClassifier

import modelport as mp
from modelport.datasets import LOAN_FEATURES, loan_applications, loan_pipeline
from online_peers import wrk
from online_peers.machine import machine
from online_peers.paired import SERVER_CPU, compare, pinned, render_paired
from online_peers.procs import Processes, Server

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NAME = "loan-approval"
PLAN = (6, 4, 2.5)  # server pairs, ABBA rounds per pair, seconds per run


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="the commit to compare against")
    parser.add_argument("head", nargs="?", default="HEAD", help="the commit measured (HEAD)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 pairs x 2 rounds")
    parser.add_argument("--work", type=Path, default=HERE / ".work" / "commits")
    parser.add_argument("--output", type=Path, default=HERE / "results" / "commits.md")
    return parser.parse_args()


def git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def checkout(commit: str, work: Path) -> Path:
    """A worktree of ``commit`` (reused if it is there already)."""
    tree = work / commit[:12]
    if not (tree / "src" / "modelport").is_dir():
        git("worktree", "add", "--detach", "--force", str(tree), commit)
    return tree


def register(tree: Path, home: Path, package: Path) -> None:
    """Register ``package`` as production with ``tree``'s own code (its own schema)."""
    command = [sys.executable, "-m", "modelport.cli.main", "models", "register", str(package)]
    env = {"PYTHONPATH": str(tree / "src"), "MODELPORT_HOME": str(home), "PATH": "/usr/bin"}
    done = subprocess.run(
        [*command, "--alias", "production"], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"registering with {tree.name} failed: {done.stderr or done.stdout}")


def main() -> None:
    args = parse_args()
    commits = {"base": git("rev-parse", args.base), "head": git("rev-parse", args.head)}
    labels = {
        "base": f"{args.base} ({commits['base'][:8]})",
        "head": f"{args.head} ({commits['head'][:8]})",
    }
    args.work.mkdir(parents=True, exist_ok=True)
    data = loan_applications(20_000, seed=42)
    model = loan_pipeline(RandomForestClassifier(n_estimators=100, max_depth=12, random_state=0))
    model.fit(data[LOAN_FEATURES], data["approved"])
    package = mp.package(model, data, name=NAME, path=args.work / "package", replace=True).path
    homes: dict[str, Path] = {}
    trees: dict[str, Path] = {}
    for side, commit in commits.items():
        trees[side] = checkout(commit, args.work)
        homes[side] = args.work / f"home-{side}-{commit[:12]}"
        if not (homes[side] / "registry.db").exists():
            register(trees[side], homes[side], package)
    record = {k: (None if v != v else v) for k, v in data[LOAN_FEATURES].iloc[0].items()}
    body = orjson.dumps(record, option=orjson.OPT_SERIALIZE_NUMPY)
    script = wrk.write_script(args.work / "predict.lua", body)
    wrk_bin = wrk.ensure_wrk()
    procs = Processes()
    by_label = {labels[side]: side for side in commits}

    def start(setting: str, name: str, port: int) -> Server:
        side = by_label[setting]
        command = [sys.executable, "-m", "uvicorn", "modelport.server.app:factory", "--factory"]
        command += ["--port", str(port), "--no-access-log", "--log-level", "warning"]
        env = {"PYTHONPATH": str(trees[side] / "src"), "MODELPORT_HOME": str(homes[side])}
        log = args.work / "logs" / f"{side}-{name}-{port}.log"
        server = procs.start(name, pinned(command, SERVER_CPU), log, env, None)
        server.wait_ready(f"http://127.0.0.1:{port}/readyz", 120)
        return server

    def url_of(port: int) -> str:
        return f"http://127.0.0.1:{port}/v1/models/{NAME}/predict"

    pairs, rounds, seconds = (2, 2, 2.0) if args.quick else PLAN
    try:
        results = [
            compare(start, procs, wrk_bin, url_of, script, pair, pairs, rounds, seconds)
            for pair in ((labels["head"], labels["base"]), (labels["head"], labels["head"]))
        ]
    finally:
        procs.stop_all()
    intro = (
        f"`python benchmarks/commits.py {args.base} {args.head}` on "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Machine: {machine()}. modelport served from "
        "each commit's own source tree (one uvicorn worker, default settings: authentication "
        "off, metrics and access log on), the same package, single record, 16 connections; "
        "paired rounds as in `online.py`'s cost of metrics. The second row is the control: "
        "the same commit on both sides."
    )
    lines = ["# The serving hot path at two commits", ""]
    lines += render_paired("Throughput, paired", intro, results)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(lines))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
