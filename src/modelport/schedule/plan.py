"""The files one run scores: templates rendered for its time, a glob expanded.

The input template is rendered with the run's scheduled time. A plain path is one file;
a glob (``incoming/applications-{date:%Y%m%d}-*.csv``) is every file matching it, in name
order, each scored into its own output (the output template holds ``{stem}``: loading the
schedule refuses one that does not). No file matching is a failure of the attempt (the
file may arrive late: the retries wait for it). Planning happens in each attempt, so a
file that appears between attempts is picked up.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from modelport.errors import BatchError
from modelport.schedule.config import JobSpec
from modelport.schedule.templates import render_template

__all__ = ["FileTask", "plan_files"]

_COMPRESSED = {".gz", ".bz2", ".xz", ".zst", ".zstd", ".lz4", ".br"}


@dataclass(frozen=True)
class FileTask:
    """One input file and where its scores and rejects go (``rejects`` None: default)."""

    input: str
    output: Path | str  # a path, or an fsspec URL
    rejects: Path | str | None


def plan_files(job: JobSpec, scheduled_for: datetime, directory: Path) -> list[FileTask]:
    """The files the run of ``job`` for ``scheduled_for`` scores, paths under ``directory``."""
    values = {"job": job.name}
    rendered = render_template(job.input, scheduled_for, values)
    if "://" in rendered:
        inputs = [rendered]
    elif job.is_glob:
        matches = sorted(glob.glob(rendered, root_dir=directory, recursive=True))
        inputs = [str(directory / m) for m in matches if (directory / m).is_file()]
        if not inputs:
            raise BatchError(f"no file matches {directory / rendered} (input of job {job.name})")
    else:
        path = directory / rendered
        if not path.is_file():
            raise BatchError(f"the input {path} of job {job.name} does not exist (yet)")
        inputs = [str(path)]
    tasks = []
    for source in inputs:
        named = {**values, "stem": _stem(source)}
        output = _place(directory, render_template(job.output, scheduled_for, named))
        rejects = None
        if job.rejects is not None:
            rejects = _place(directory, render_template(job.rejects, scheduled_for, named))
        tasks.append(FileTask(source, output, rejects))
    outputs = [t.output for t in tasks]
    if len(set(outputs)) != len(outputs):
        raise BatchError(f"job {job.name}: two inputs would be scored into the same output")
    return tasks


def _place(directory: Path, rendered: str) -> Path | str:
    """A URL as it is; a path relative to the schedule file's directory."""
    return rendered if "://" in rendered else directory / rendered


def _stem(source: str) -> str:
    """``applications-2026-03-01.csv.gz`` -> ``applications-2026-03-01``."""
    path = Path(source.rsplit("/", 1)[-1])
    if path.suffix.lower() in _COMPRESSED:
        path = Path(path.stem)
    return path.stem
