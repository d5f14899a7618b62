"""One attempt of a job, in a process of its own, so that it can be stopped.

    scheduler ──spawn──► attempt process (its own process group)
        │                    plan files → open the model → score_file each → result (JSON)
        │◄──── pipe ─────────┘
        └─ past the timeout: SIGTERM to the group; after a grace period, SIGKILL

A thread cannot be stopped safely and a scoring call cannot be asked to give up, but a
process can: on SIGTERM the attempt raises where it is, so ``score_file`` removes its
temporary files as on Ctrl-C (outputs appear only complete), and the worker processes it
started go with it (they share its process group). An attempt that ignores SIGTERM is
killed after the grace period; its temporary files (``.*.modelport-partial``) are then
what remains, replaced by the next successful run.

The attempt reports back as JSON over a pipe, never as pickled objects; processes are
spawned, never forked (onnxruntime's threads do not survive a fork). An attempt whose
scheduler dies (``kill -9``) notices within a second and stops itself the same way.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from multiprocessing.connection import Connection
from pathlib import Path
from types import FrameType
from typing import Any

import orjson

from modelport.errors import JobChanged, ModelportError
from modelport.registry.opening import open_model
from modelport.schedule.config import JobSpec
from modelport.schedule.durations import format_duration
from modelport.schedule.plan import plan_files
from modelport.settings import Settings

__all__ = ["AttemptResult", "run_attempt"]

DEFAULT_GRACE_SECONDS = 10.0
_PARENT_CHECK_SECONDS = 1.0
_MAX_ERROR = 2_000
# what an attempt's record keeps of each file's summary
_FILE_KEYS = ("input", "output", "rows_read", "rows_scored", "rows_rejected", "rows_resumed")


@dataclass(frozen=True)
class AttemptResult:
    """What one attempt did: ``error`` is None when every file was scored."""

    started_at: datetime
    ended_at: datetime
    error: str | None = None
    model: str | None = None
    files: list[dict[str, Any]] = field(default_factory=list)
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def rows(self) -> tuple[int, int, int]:
        """(read, scored, rejected) over the files scored."""
        return (
            sum(f["rows_read"] for f in self.files),
            sum(f["rows_scored"] for f in self.files),
            sum(f["rows_rejected"] for f in self.files),
        )

    def to_dict(self, number: int) -> dict[str, Any]:
        """As the run record keeps it (JSON-ready)."""
        outcome = "succeeded" if self.ok else "timed_out" if self.timed_out else "failed"
        return {
            "number": number,
            "outcome": outcome,
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat(),
            "error": self.error,
            "model": self.model,
            "files": [{k: f.get(k) for k in _FILE_KEYS} for f in self.files],
        }


def run_attempt(
    job: JobSpec,
    scheduled_for: datetime,
    directory: Path,
    settings: Settings,
    *,
    tick: Callable[[], None] | None = None,
    tick_every: float = 30.0,
    grace: float = DEFAULT_GRACE_SECONDS,
    work: Path | None = None,
) -> AttemptResult:
    """Run one attempt of ``job`` in a child process, stopped past ``job.timeout``.

    ``tick`` is called about every ``tick_every`` seconds while the attempt runs (the
    run's heartbeat). Ctrl-C or an exception here stops the child before propagating.
    ``work`` is a directory kept across the attempts of one run: each file is scored as
    a resumable job in it, so a retry scores only the chunks earlier attempts did not
    finish (a file that changed in between is scored from the start).
    """
    started = datetime.now(UTC)
    payload = orjson.dumps(
        {
            "job": job.model_dump(mode="json"),
            "scheduled_for": scheduled_for.isoformat(),
            "directory": str(directory),
            "settings": settings.model_dump(mode="json"),
            "work": None if work is None else str(work),
        }
    )
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(
        target=_attempt_main, args=(sender, payload), name=f"modelport-job-{job.name}"
    )
    deadline = None if job.timeout is None else time.monotonic() + job.timeout
    message: bytes | None = None
    stopped = ""
    try:
        process.start()
        sender.close()
        while True:
            wait = tick_every if deadline is None else min(tick_every, deadline - time.monotonic())
            if receiver.poll(max(wait, 0.0)):
                try:
                    message = receiver.recv_bytes()
                except EOFError:  # it died without a word
                    message = None
                break
            if deadline is not None and time.monotonic() >= deadline:
                stopped = _stop(process, grace)
                break
            if tick is not None:
                tick()
        process.join(grace)
        if process.is_alive():
            _stop(process, grace)
    except BaseException:
        _stop(process, grace)
        raise
    finally:
        receiver.close()
    ended = datetime.now(UTC)
    if stopped and job.timeout is not None:
        return AttemptResult(
            started, ended, f"timed out after {format_duration(job.timeout)}: {stopped}",
            timed_out=True,
        )  # fmt: skip
    if message is None:
        return AttemptResult(started, ended, _death(process.exitcode))
    report = orjson.loads(message)
    return AttemptResult(
        started, ended, report.get("error"), report.get("model"), report.get("files", [])
    )


def _stop(process: multiprocessing.process.BaseProcess, grace: float) -> str:
    """SIGTERM to the attempt's process group, SIGKILL after ``grace``; what was done."""
    if process.pid is None or process.exitcode is not None:
        return "it had already ended"
    _signal_group(process, signal.SIGTERM)
    process.join(grace)
    if process.exitcode is None:
        _signal_group(process, signal.SIGKILL)
        process.join()
        return f"stopped with SIGTERM, then SIGKILL after {format_duration(grace)}"
    return "stopped with SIGTERM"


def _signal_group(process: multiprocessing.process.BaseProcess, signum: signal.Signals) -> None:
    pid = process.pid
    if pid is None:
        return
    try:
        os.killpg(pid, signum)  # the attempt and the scoring workers it started
    except (ProcessLookupError, PermissionError):  # not yet a group leader, or gone
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def _death(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        killed = (
            " (out of memory? the kernel's OOM killer sends SIGKILL)" if name == "SIGKILL" else ""
        )
        return f"the attempt's process was killed by {name}{killed}"
    return f"the attempt's process ended (status {exitcode}) without reporting"


# -- in the attempt's process ---------------------------------------------------------------


class _Terminated(BaseException):
    """SIGTERM, raised where the attempt is, so it cleans up as on Ctrl-C."""


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise _Terminated


def _attempt_main(channel: Connection, payload: bytes) -> None:
    """The child's entry point: score, then send one JSON report."""
    signal.signal(signal.SIGTERM, _terminate)
    with contextlib.suppress(OSError):  # e.g. a session leader: signals still reach it
        os.setpgid(0, 0)
    _watch_parent()
    report: dict[str, Any] = {"files": []}
    try:
        _score(orjson.loads(payload), report)
    except _Terminated:
        report["error"] = "stopped (SIGTERM) before it finished; nothing partial was kept"
    except ModelportError as exc:
        report["error"] = f"{exc.code}: {exc}"[:_MAX_ERROR]
    except Exception as exc:
        report["error"] = f"{type(exc).__name__}: {exc}"[:_MAX_ERROR]
    try:
        channel.send_bytes(orjson.dumps(report))
    finally:
        channel.close()


def _score(task: dict[str, Any], report: dict[str, Any]) -> None:
    from modelport.batch import score_file  # heavy: only in the attempt's process

    job = JobSpec.model_validate(task["job"])
    directory = Path(task["directory"])
    settings = Settings(**task["settings"])
    package, report["model"] = open_model(job.model, settings, directory=directory)
    files = plan_files(job, datetime.fromisoformat(task["scheduled_for"]), directory)
    sources = directory / job.sources if job.sources is not None else settings.sources_file
    work = None if task["work"] is None else Path(task["work"])
    for index, planned in enumerate(files):
        score = partial(
            score_file,
            package,
            planned.input,
            planned.output,
            rejects=planned.rejects,
            carry=job.carry,
            chunk_rows=job.chunk_rows or settings.batch_chunk_rows,
            ignore_extra=job.ignore_extra,
            sources=sources,
            workers=job.workers,
        )
        if work is None:
            summary = score()
        else:
            resumable = work / f"file-{index}"
            try:
                summary = score(job=resumable)
            except JobChanged:  # the file (or the model an alias names) changed: start over
                shutil.rmtree(resumable)
                summary = score(job=resumable)
        report["files"].append(summary.to_dict())


def _watch_parent() -> None:
    """Stop (as on SIGTERM) if the scheduler dies: an orphan would score unrecorded."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_PARENT_CHECK_SECONDS)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
