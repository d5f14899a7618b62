"""Scored chunks handed from worker processes to the main process through files.

A process pool returns results through one pipe shared by every worker. A worker killed
while writing a large result to it (out of memory, or a SIGTERM to the whole process
group) leaves half a message in the pipe, and the pool's result reader waits for the rest
for ever: the job hangs instead of failing. So a worker writes its scored chunk to a file
in the job's spool directory and sends only that file's name, a message far under
``PIPE_BUF`` that the kernel writes whole or not at all. A worker killed while writing the
file leaves a partial file nobody reads; the pool sees the death and the job fails cleanly.

The files hold what the pipe would have carried (the pool pickles results either way),
written by this job's own workers into a directory only this user can open.
"""

from __future__ import annotations

import os
import pickle
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from modelport.batch.score import ScoredChunk

__all__ = ["Spool", "Spooled"]


@dataclass(frozen=True)
class Spooled:
    """A scored chunk waiting in a spool file: all that crosses the pool's pipe."""

    path: str


class Spool:
    """A private directory of scored chunks in flight; removed, with anything left, on close."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="modelport-spool-"))  # mode 0700

    @staticmethod
    def put(directory: str | Path, scored: ScoredChunk) -> Spooled:
        """In a worker: ``scored`` written to a new file of ``directory``."""
        handle, path = tempfile.mkstemp(dir=directory, suffix=".chunk")
        with os.fdopen(handle, "wb") as file:
            pickle.dump(scored, file, protocol=pickle.HIGHEST_PROTOCOL)
        return Spooled(path)

    def take(self, spooled: Spooled) -> ScoredChunk:
        """In the main process: the chunk a worker spooled, its file removed."""
        path = Path(spooled.path)
        if path.parent != self.directory:
            raise ValueError(f"{path} is not a file of this job's spool")
        try:
            with path.open("rb") as file:
                scored: ScoredChunk = pickle.load(file)
        finally:
            path.unlink(missing_ok=True)
        return scored

    def close(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)
