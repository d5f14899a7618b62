"""A resumable job: scored chunks kept in a job directory until the output is assembled.

    DIR/job.json                    what the job is (input, package, options): a resume
                                    must be the same job
    DIR/lock                        held while a process runs the job
    DIR/parts/<start>.arrow         a scored chunk's output rows (Arrow IPC)
    DIR/parts/<start>.rejects.jsonl its refused rows
    DIR/parts/<start>.json          written last: the chunk is done (its counts)
    DIR/complete.json               the summary, once the output is in place

Every file appears by an atomic rename, so a ``kill -9`` at any moment leaves each chunk
either done (its ``.json`` exists, and its rows with it) or not started. A resumed run
reads the input again but scores only the chunks not done, then assembles all parts in
input order into the output, which (as without a job) appears only complete: every row
exactly once.
"""

from __future__ import annotations

import dataclasses
import fcntl
import os
import shutil
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import orjson
import pyarrow as pa

from modelport.batch.score import ScoredChunk
from modelport.batch.writers import OutputSchema, RejectsWriter, Writer
from modelport.errors import BatchError, JobChanged
from modelport.files import PARTIAL_SUFFIX, atomic_file

__all__ = ["JobDirectory", "PartCounts", "remove_stale_partials"]

JOB_FILE = "job.json"
COMPLETE_FILE = "complete.json"
PARTS = "parts"


@dataclass(frozen=True, slots=True)
class PartCounts:
    """One done chunk: where it starts, its rows, and what became of them."""

    start: int
    rows: int
    scored: int
    rejected: int
    fields: dict[str, int]
    # scored rows outside the contract's expected ranges (absent from older markers: 0)
    outside_expected: int = 0
    outside_expected_fields: dict[str, int] = dataclasses.field(default_factory=dict)


class JobDirectory:
    """The directory of one resumable job; open it with :meth:`open` (a context manager)."""

    def __init__(self, path: Path, lock: BinaryIO) -> None:
        self.path = path
        self.parts_path = path / PARTS
        self._lock = lock
        self.done: dict[int, PartCounts] = self._read_done()

    @classmethod
    @contextmanager
    def open(cls, path: str | Path, identity: dict[str, Any]) -> Iterator[JobDirectory]:
        """Take the job directory for the job ``identity`` describes: new, or the same job's.

        Refused if another process runs it now, or if it was started for another job
        (another input, package or option): resuming that would mix two jobs' rows.
        """
        path = Path(path)
        try:
            (path / PARTS).mkdir(parents=True, exist_ok=True)
            lock = (path / "lock").open("wb")
        except OSError as exc:
            raise BatchError(f"cannot use {path} as a job directory: {exc}") from None
        try:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise BatchError(
                    f"the job in {path} is being run by another process; wait for it, or "
                    "use another --job directory"
                ) from None
            _claim(path, identity)
            yield cls(path, lock)
        finally:
            lock.close()

    @property
    def complete(self) -> dict[str, Any] | None:
        """The summary of a job that already finished, or ``None``."""
        file = self.path / COMPLETE_FILE
        return orjson.loads(file.read_bytes()) if file.is_file() else None

    def is_done(self, start: int, n_rows: int) -> bool:
        """Whether the ``n_rows`` rows from record ``start`` were scored by an earlier run."""
        done = self.done.get(start)
        if done is None:
            return False
        if done.rows != n_rows:
            raise JobChanged(
                f"the job in {self.path} scored {done.rows} rows from record {start}, "
                f"but the input now has {n_rows} there: the input changed; start over "
                "with a new --job directory"
            )
        return True

    def add(self, scored: ScoredChunk) -> PartCounts:
        """Keep a scored chunk; it counts as done once this returns."""
        base = self.parts_path / f"{scored.start:015d}"
        fields: Counter[str] = Counter()
        for reject in scored.rejects:
            fields.update({e.field or "(row)" for e in reject.errors})
        counts = PartCounts(
            scored.start,
            scored.n_rows,
            scored.table.num_rows,
            len(scored.rejects),
            dict(fields),
            scored.outside_expected,
            dict(scored.outside_expected_fields),
        )
        with (
            atomic_file(base.with_suffix(".arrow"), error=BatchError) as temporary,
            pa.OSFile(str(temporary), "wb") as sink,
            pa.ipc.new_file(sink, scored.table.schema) as writer,
        ):
            writer.write_table(scored.table)
        with atomic_file(base.with_suffix(".rejects.jsonl"), error=BatchError) as temporary:
            rejects = RejectsWriter(temporary)
            rejects.write(scored.rejects)
            rejects.close()
        with atomic_file(base.with_suffix(".json"), error=BatchError) as temporary:
            temporary.write_bytes(orjson.dumps(dataclasses.asdict(counts)))
        self.done[scored.start] = counts
        return counts

    def assemble(self, writer: Writer, rejects: BinaryIO, schema: OutputSchema) -> PartCounts:
        """Write every part, in input order, to ``writer`` and ``rejects``; the totals."""
        rows = scored = rejected = outside = 0
        fields: Counter[str] = Counter()
        outside_fields: Counter[str] = Counter()
        expected = 0
        for start in sorted(self.done):
            counts = self.done[start]
            if start != expected:
                raise BatchError(
                    f"the job in {self.path} lacks the rows from record {expected} to "
                    f"{start - 1}; start over with a new --job directory"
                )
            base = self.parts_path / f"{start:015d}"
            with pa.memory_map(str(base.with_suffix(".arrow"))) as source:
                table = pa.ipc.open_file(source).read_all()
            writer.write(schema.conform(table))
            with base.with_suffix(".rejects.jsonl").open("rb") as part:
                shutil.copyfileobj(part, rejects)
            rows += counts.rows
            scored += counts.scored
            rejected += counts.rejected
            fields.update(counts.fields)
            outside += counts.outside_expected
            outside_fields.update(counts.outside_expected_fields)
            expected = start + counts.rows
        return PartCounts(0, rows, scored, rejected, dict(fields), outside, dict(outside_fields))

    def finish(self, summary: dict[str, Any]) -> None:
        """Record the job complete and drop its parts (the output holds them now)."""
        with atomic_file(self.path / COMPLETE_FILE, error=BatchError) as temporary:
            temporary.write_bytes(orjson.dumps(summary))
        shutil.rmtree(self.parts_path, ignore_errors=True)

    def _read_done(self) -> dict[int, PartCounts]:
        done = {}
        for marker in self.parts_path.glob("*.json"):
            try:
                data = orjson.loads(marker.read_bytes())
                counts = PartCounts(**data)
            except (orjson.JSONDecodeError, TypeError) as exc:
                raise BatchError(
                    f"the job in {self.path} has a damaged part {marker.name} ({exc}); "
                    "start over with a new --job directory"
                ) from None
            done[counts.start] = counts
        # temporary files of a run that was killed: never renamed into place, never used
        for stale in self.parts_path.glob(f".*{PARTIAL_SUFFIX}"):
            with suppress(FileNotFoundError):
                stale.unlink()
        return done


def _claim(path: Path, identity: dict[str, Any]) -> None:
    """Record the job's identity in a new directory, or check it against the recorded one."""
    file = path / JOB_FILE
    if not file.is_file():
        with atomic_file(file, error=BatchError) as temporary:
            temporary.write_bytes(orjson.dumps(identity, option=orjson.OPT_INDENT_2))
        return
    try:
        recorded = orjson.loads(file.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise BatchError(f"{file} is damaged ({exc}); use a new --job directory") from None
    changed = sorted(k for k in {*identity, *recorded} if identity.get(k) != recorded.get(k))
    if changed:
        raise JobChanged(
            f"the job directory {path} belongs to another job (it differs in "
            f"{', '.join(changed)}); use a new --job directory, or delete {path} to start over"
        )


def remove_stale_partials(target: Path) -> None:
    """Temporary files beside ``target`` from an earlier run of the same job that was killed."""
    with suppress(OSError):
        for stale in target.parent.glob(f".{target.name}.*{PARTIAL_SUFFIX}"):
            with suppress(FileNotFoundError):
                os.unlink(stale)
