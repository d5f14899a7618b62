"""Server processes: start in their own process group, wait until ready, sample memory, stop.

Every process started through :class:`Processes` is stopped by :meth:`Processes.stop_all`
(the entry point calls it in a ``finally``, so also on an error or Ctrl-C): SIGTERM to the
process group and to every descendant seen, then SIGKILL to whatever is left.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil

from online_peers.venvs import PeerFailed, tail

__all__ = ["MemorySampler", "Processes", "Server", "free_port", "http"]


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def http(url: str, body: bytes | None = None, timeout: float = 10.0) -> tuple[int, bytes]:
    """``GET`` (or ``POST`` a JSON ``body``) and return the status and the body."""
    request = urllib.request.Request(url, data=body, method="POST" if body else "GET")
    if body is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


class MemorySampler:
    """Peak resident memory of a process and all its descendants, sampled every 0.2 s."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        self.peak_bytes = 0
        self._root = psutil.Process(pid)
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_bytes = max(self.peak_bytes, self.sample())
            self._stop.wait(self._every)

    def sample(self) -> int:
        total = 0
        try:
            tree = [self._root, *self._root.children(recursive=True)]
        except psutil.Error:
            return 0
        for process in tree:
            try:
                total += process.memory_info().rss
            except psutil.Error:
                continue  # exited between listing and reading
        return total

    def stop(self) -> float:
        """Stop sampling; the peak in MB."""
        self._stop.set()
        self._thread.join()
        return self.peak_bytes / 1e6


class Server:
    """One started system: its process, log and memory sampler."""

    def __init__(self, process: subprocess.Popen[bytes], log: Path, name: str) -> None:
        self.process = process
        self.log = log
        self.name = name
        self.memory = MemorySampler(process.pid)

    def wait_ready(self, url: str, timeout: float) -> None:
        """Poll ``url`` until it answers 200; fail with the log's tail if the process dies."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise PeerFailed(
                    f"{self.name} exited with {self.process.returncode} before it was ready "
                    f"({self.log}): {tail(self.log, 4)}"
                )
            try:
                if http(url, timeout=2.0)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.25)
        raise PeerFailed(f"{self.name} not ready after {timeout:.0f} s ({self.log})")


class Processes:
    """Starts servers and stops every one of them (their whole process trees) at the end."""

    def __init__(self) -> None:
        self._servers: list[Server] = []

    def start(
        self, name: str, command: list[str], log: Path, env: dict[str, str], cwd: Path | None
    ) -> Server:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("wb") as out:
            process = subprocess.Popen(
                command,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **env},
                cwd=cwd,
                start_new_session=True,  # its own process group, stopped as a whole
            )
        server = Server(process, log, name)
        self._servers.append(server)
        return server

    def stop(self, server: Server, grace: float = 10.0) -> float:
        """Stop ``server`` and its descendants; its peak memory in MB."""
        peak = server.memory.stop()
        if server in self._servers:
            self._servers.remove(server)
        pid = server.process.pid
        try:
            tree = psutil.Process(pid).children(recursive=True)
        except psutil.Error:
            tree = []
        _signal_group(pid, signal.SIGTERM)
        for child in tree:
            _signal(child, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.process.wait(grace)
        _, alive = psutil.wait_procs(tree, timeout=max(1.0, grace / 2))
        _signal_group(pid, signal.SIGKILL)
        for child in alive:
            _signal(child, signal.SIGKILL)
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait()
        return peak

    def stop_all(self) -> None:
        for server in list(self._servers):
            self.stop(server, grace=5.0)


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


def _signal(process: psutil.Process, signum: int) -> None:
    with contextlib.suppress(psutil.Error):
        process.send_signal(signum)
