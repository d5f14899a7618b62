"""wrk, the load generator: install it, write its Lua script, run it, read its report.

One wrk thread (the machine has two cores, the server needs them), ``-c`` connections,
``--latency`` for the percentiles. The Lua script POSTs one fixed JSON body read from a
file; with ``count_header`` it also counts the answers per value of that response header
and per status (a ``response`` callback: it costs throughput, so only hot-swap runs use
it) and prints them as ``ANSWERED <value> <status> <count>`` lines when done.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["WrkResult", "ensure_wrk", "parse", "run", "start", "version", "write_script"]

TIMEOUT = "10s"  # a request slower than this counts as a timeout error
_UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4, "h": 3.6e6}

_COUNTING = """
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  answered = {}
end
function response(status, headers, body)
  local value = headers[HEADER] or "-"
  local key = value .. " " .. status
  answered[key] = (answered[key] or 0) + 1
end
function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    for key, count in pairs(thread:get("answered")) do
      io.write("ANSWERED ", key, " ", count, "\\n")
    end
  end
end
"""


@dataclass
class WrkResult:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: int
    answered: dict[str, int] = field(default_factory=dict)

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors


def ensure_wrk() -> str:
    """The path of ``wrk``, installed from Debian's package first when it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk is missing: apt-get update && apt-get install -y wrk")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(["apt-get", "install", "-y", "wrk"], check=True, env=env)
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("apt-get installed wrk but it is not on PATH")
    return found


def version(wrk: str) -> str:
    done = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False)
    return (done.stdout or done.stderr).splitlines()[0].split(" [")[0]


def write_script(
    path: Path,
    body: bytes,
    count_header: str | None = None,
    headers: dict[str, str] | None = None,
) -> Path:
    """A Lua script POSTing ``body`` (kept beside it) with ``headers``; optionally counting
    a response header."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body_file = path.with_suffix(".json")
    body_file.write_bytes(body)
    lines = [
        'wrk.method = "POST"',
        'wrk.headers["Content-Type"] = "application/json"',
        *(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in (headers or {}).items()),
        f"local file = assert(io.open({json.dumps(str(body_file))}, 'rb'))",
        'wrk.body = file:read("*a")',
        "file:close()",
    ]
    if count_header:
        lines.append(f"HEADER = {json.dumps(count_header.lower())}")
        lines.append(_COUNTING)
    path.write_text("\n".join(lines) + "\n")
    return path


def _command(
    wrk: str, url: str, script: Path, connections: int, seconds: float, cpus: str | None = None
) -> list[str]:
    pin = ["taskset", "-c", cpus] if cpus is not None and shutil.which("taskset") else []
    return [
        *pin,
        wrk,
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
        "--timeout",
        TIMEOUT,
        "-s",
        str(script),
        url,
    ]


def run(
    wrk: str, url: str, script: Path, connections: int, seconds: float, cpus: str | None = None
) -> WrkResult:
    """Drive ``url`` for ``seconds`` with ``connections`` connections; the parsed report.

    ``cpus`` binds wrk to those cores (taskset syntax), when taskset is there.
    """
    command = _command(wrk, url, script, connections, seconds, cpus)
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip()[:300]}")
    return parse(done.stdout)


def start(
    wrk: str, url: str, script: Path, connections: int, seconds: float
) -> subprocess.Popen[str]:
    """The same run in the background (for the hot swap); read it with :func:`parse`."""
    command = _command(wrk, url, script, connections, seconds)
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def parse(report: str) -> WrkResult:
    """Requests/s, p50 and p99 latency, request count and errors from wrk's report."""

    def number(pattern: str) -> float:
        found = re.search(pattern, report)
        return float(found.group(1)) if found else 0.0

    percentiles = {
        int(m.group(1)): float(m.group(2)) * _UNITS_MS[m.group(3)]
        for m in re.finditer(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s|m|h)\s*$", report, re.MULTILINE)
    }
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", report
    )
    answered: dict[str, int] = {}
    for m in re.finditer(r"^ANSWERED (\S+) (\d+) (\d+)$", report, re.MULTILINE):
        key = m.group(1) if m.group(2).startswith("2") else f"{m.group(1)} (status {m.group(2)})"
        answered[key] = answered.get(key, 0) + int(m.group(3))
    return WrkResult(
        requests_per_s=number(r"Requests/sec:\s+([\d.]+)"),
        p50_ms=percentiles.get(50, float("nan")),
        p99_ms=percentiles.get(99, float("nan")),
        requests=int(number(r"(\d+) requests in")),
        non_2xx=int(number(r"Non-2xx or 3xx responses: (\d+)")),
        socket_errors=sum(int(g) for g in sockets.groups()) if sockets else 0,
        answered=answered,
    )
