"""Scored chunks handed from worker processes to the main process through files.

A process pool returns results through one pipe shared by every worker. A worker killed
while writing a large result to it (out of memory, or a SIGTERM to the whole process
group) leaves half a message in the pipe, and the pool's result reader waits for the rest
for ever: the job hangs instead of failing. So a worker writes its scored chunk to a file
in the job's spool directory and sends only that file's name, a message far under
``PIPE_BUF`` that the kernel writes whole or not at all. A worker killed while writing the
file leaves a partial file nobody reads; the pool sees the death and the job fails cleanly.

A spool file is Arrow IPC: the accepted rows as written, the rejects as the JSON lines
the rejects file gets, in the file's metadata. Nothing is unpickled.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from modelport.batch.chunks import Reject
from modelport.batch.score import ScoredChunk
from modelport.batch.writers import dumps
from modelport.errors import FieldError

__all__ = ["Spool", "Spooled"]


@dataclass(frozen=True)
class Spooled:
    """A scored chunk waiting in a spool file: all that crosses the pool's pipe."""

    path: str
    n_rows: int
    start: int
    outside_expected: int = 0
    outside_expected_fields: dict[str, int] = field(default_factory=dict)


class Spool:
    """A private directory of scored chunks in flight; removed, with anything left, on close."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="modelport-spool-"))  # mode 0700

    @staticmethod
    def put(directory: str | Path, scored: ScoredChunk) -> Spooled:
        """In a worker: ``scored`` written to a new file of ``directory``."""
        handle, path = tempfile.mkstemp(dir=directory, suffix=".arrow")
        os.close(handle)
        rejects = b"\n".join(dumps(reject.to_dict()) for reject in scored.rejects)
        with (
            pa.OSFile(path, "wb") as sink,
            pa.ipc.new_file(sink, scored.table.schema, metadata={"rejects": rejects}) as writer,
        ):
            writer.write_table(scored.table)
        return Spooled(
            path,
            scored.n_rows,
            scored.start,
            scored.outside_expected,
            dict(scored.outside_expected_fields),
        )

    def take(self, spooled: Spooled) -> ScoredChunk:
        """In the main process: the chunk a worker spooled, its file removed."""
        path = Path(spooled.path)
        if path.parent != self.directory:
            raise ValueError(f"{path} is not a file of this job's spool")
        try:
            with pa.OSFile(str(path), "rb") as source:
                reader = pa.ipc.open_file(source)
                table = reader.read_all()
                lines = (reader.metadata or {}).get(b"rejects", b"")
        finally:
            path.unlink(missing_ok=True)
        rejects = [_reject(orjson.loads(line)) for line in lines.split(b"\n") if line]
        return ScoredChunk(
            table,
            rejects,
            spooled.n_rows,
            spooled.start,
            spooled.outside_expected,
            dict(spooled.outside_expected_fields),
        )

    def close(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def _reject(data: dict[str, Any]) -> Reject:
    """A reject back from its line in the rejects file, which it writes the same again."""
    record = data["record"]
    errors = [FieldError(record, e["field"], e["reason"]) for e in data["errors"]]
    return Reject(record, errors, data["row"], data.get("line"))
