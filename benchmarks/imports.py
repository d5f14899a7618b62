"""What a serving worker's memory is made of before any model: resident memory per import.

    python benchmarks/imports.py              # writes benchmarks/results/imports.md

Each stack is imported in a fresh interpreter, one module at a time in the order a worker
meets them, and the growth of the process's resident memory (RSS) is recorded after each:
the bare ASGI limit app of ``online.py`` (numpy, onnxruntime, uvicorn, orjson) against
``modelport serve``'s worker (``modelport.server.app``). Which modules a worker imports
at all is read from ``sys.modules`` after importing the app, so the table also says what
it does not load (scikit-learn, SciPy, ONNX, skops, psycopg, Dask).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from online_peers.machine import machine

HERE = Path(__file__).resolve().parent
BARE = ["numpy", "onnxruntime", "orjson", "uvicorn"]
WORKER = [
    *BARE,
    "pydantic",
    "pandas",
    "pyarrow.parquet",
    "sqlalchemy.orm",
    "alembic",
    "fastapi",
    "prometheus_client",
    "modelport",
    "modelport.registry",
    "modelport.serving.dataplane",
    "modelport.server.app",
]
NEVER = ["sklearn", "scipy", "onnx", "skops", "psycopg", "dask"]
PROBE = """
import importlib, json, sys, resource
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 1e6
steps = [("python", rss())]
for name in json.loads(sys.argv[1]):
    importlib.import_module(name)
    steps.append((name, rss()))
top = sorted({m.split(".")[0] for m in sys.modules})
print(json.dumps({"steps": steps, "top": top}))
"""


def measure(modules: list[str]) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(modules)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=HERE / "results" / "imports.md")
    args = parser.parse_args()
    runs = 3  # the median of three fresh interpreters per stack
    stacks = {"bare ASGI limit app": BARE, "modelport serve worker": WORKER}
    measured = {label: [measure(modules) for _ in range(runs)] for label, modules in stacks.items()}
    lines = [
        "# What a serving worker imports, and what it costs in memory",
        "",
        f"`python benchmarks/imports.py` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. "
        f"Machine: {machine()}. Each stack imported in a fresh interpreter, one module at a "
        "time; resident memory (RSS, from /proc/self/statm) after each, the median of "
        f"{runs} interpreters. No model is loaded: this is what the code costs before any "
        "package (`online.md` and `online-core.md` give whole servers under load).",
        "",
    ]
    for label, results in measured.items():
        lines += [f"## {label}", "", "| import | RSS after, MB | added, MB |", "|---|---:|---:|"]
        steps = [r["steps"] for r in results]  # type: ignore[index]
        previous = None
        for i, (name, _) in enumerate(steps[0]):
            value = sorted(s[i][1] for s in steps)[len(steps) // 2]
            added = "" if previous is None else f"{value - previous:+.1f}"
            lines.append(f"| `{name}` | {value:.0f} | {added} |")
            previous = value
        top = set(results[0]["top"])  # type: ignore[arg-type,index]
        absent = [m for m in NEVER if m not in top]
        present = [m for m in NEVER if m in top]
        lines += [
            "",
            f"Not imported: {', '.join(absent) or 'none'}."
            + (f" Imported: {', '.join(present)}." if present else ""),
            "",
        ]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(lines))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
