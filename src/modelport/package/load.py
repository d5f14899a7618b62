"""Open a package and prove it is the one that was built: every digest re-checked."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from modelport.decisions import Decisioning, decide, decide_columns
from modelport.errors import FieldError, IntegrityError, PackageError
from modelport.features._arrays import as_day
from modelport.features.presteps import PreStep, PreSteps
from modelport.files import sha256_file
from modelport.package.manifest import MANIFEST_FILE, Manifest, Runtime
from modelport.runtime import (
    ModelRuntime,
    NativeRuntime,
    OnnxRuntime,
    Prediction,
    Scorer,
    Task,
)

__all__ = [
    "REFERENCE_FILE",
    "SIGNATURE_FILE",
    "Package",
    "load_scorer",
    "open_package",
    "verify_directory",
]

REFERENCE_FILE = "reference.parquet"
SIGNATURE_FILE = "signature.json"
"""Signatures over the package digest (see :mod:`modelport.signing`). It sits beside the
manifest but outside the digest, since it signs the digest: the one file a package may
hold that its manifest does not list."""


@dataclass(frozen=True, slots=True)
class Package:
    """A verified package directory. Build one with :func:`open_package`."""

    path: Path
    manifest: Manifest

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def digest(self) -> str:
        return self.manifest.digest

    @property
    def model_path(self) -> Path:
        return self.path / self.manifest.model_file

    def reference(self) -> pd.DataFrame:
        """The reference rows with the original model's predictions (``expected_*`` columns)."""
        frame: pd.DataFrame = pq.read_table(self.path / REFERENCE_FILE).to_pandas()
        return frame


def verify_directory(directory: Path) -> Manifest:
    """Check every file against the manifest and the manifest against its digest.

    Besides the listed files only :data:`SIGNATURE_FILE` may be present (it is not part of
    the digest; :mod:`modelport.signing` checks it). Raises :class:`IntegrityError`
    naming the first file that does not match.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise PackageError(f"no package at {directory}: not a directory")
    manifest = Manifest.read(directory)
    present = {
        p.relative_to(directory).as_posix()
        for p in directory.rglob("*")
        if p.is_file() or p.is_symlink()
    }
    present.discard(MANIFEST_FILE)
    present.discard(SIGNATURE_FILE)  # signs the digest, so it cannot be covered by it
    for name in sorted(present - set(manifest.files)):
        raise IntegrityError(f"package {directory} was modified: unexpected file {name}")
    for name, expected in sorted(manifest.files.items()):
        path = directory / name
        if path.is_symlink() or not path.is_file():
            raise IntegrityError(f"package {directory} was modified: {name} is missing")
        if sha256_file(path) != expected:
            raise IntegrityError(
                f"package {directory} was modified: {name} does not match its SHA-256 digest"
            )
    if not manifest.digest or manifest.compute_digest() != manifest.digest:
        raise IntegrityError(
            f"package {directory} was modified: {MANIFEST_FILE} does not match the package digest"
        )
    if manifest.model_file not in manifest.files:
        raise IntegrityError(f"package {directory}: model file {manifest.model_file} is not listed")
    return manifest


def open_package(path: str | Path) -> Package:
    """Open a package directory or ``.mpk`` archive, verifying every digest.

    An archive is unpacked (safely) into a private temporary directory first.
    """
    path = Path(path)
    if path.is_file():
        from modelport.package.archive import unpack_to_temp

        path = unpack_to_temp(path)
    return Package(path=path, manifest=verify_directory(path))


def load_scorer(
    package: Package, *, threads: int = 1, lazy: bool = False, arena: bool = True
) -> Scorer:
    """The scorer for a verified package, on the runtime its manifest names.

    For ONNX packages, ``lazy`` defers the onnxruntime session to the first prediction and
    ``arena`` keeps onnxruntime's memory arena (see :class:`~modelport.runtime.OnnxRuntime`).
    """
    manifest = package.manifest
    task = Task(manifest.task)
    runtime: ModelRuntime
    if manifest.runtime is Runtime.NATIVE:
        runtime = NativeRuntime(
            package.model_path, manifest.contract, task, manifest.classes, manifest.trusted_types
        )
    else:
        runtime = OnnxRuntime(
            package.model_path,
            manifest.contract,
            task,
            manifest.classes,
            threads=threads,
            lazy=lazy,
            arena=arena,
        )
    declared = manifest.decisioning
    if declared is not None:
        try:  # checked at build; a manifest edited (and resealed) since must still fit
            declared.check(task, manifest.classes)
        except ValueError as exc:
            raise IntegrityError(
                f"package {package.path}: its decision rules do not fit the model: {exc}"
            ) from None
    decisions = (
        DeclaredDecisions(declared) if declared is not None and not declared.is_empty else None
    )
    steps = PreStepInputs(PreSteps.from_manifest(manifest.presteps)) if manifest.presteps else None
    return Scorer(
        runtime, manifest.contract, task, manifest.classes, pre_steps=steps, decisions=decisions
    )


@dataclass(frozen=True, slots=True)
class DeclaredDecisions:
    """The manifest's decision rules as the scorer applies them to every prediction."""

    declared: Decisioning

    def answers(self, prediction: Prediction) -> list[dict[str, Any]]:
        return decide(prediction, self.declared)

    def columns(self, prediction: Prediction) -> Mapping[str, Any]:
        return decide_columns(prediction, self.declared)


class PreStepInputs:
    """The manifest's pre-steps over what callers send: records (online) or columns."""

    def __init__(self, steps: PreSteps) -> None:
        self.steps = steps
        self._dropped = set(steps.dropped)

    @property
    def inputs(self) -> list[str]:
        return self.steps.inputs

    @property
    def outputs(self) -> list[str]:
        return self.steps.outputs

    def columns(self, columns: Mapping[str, Any]) -> dict[str, Any]:
        present = dict(columns)
        for name in self.steps.inputs:
            present.setdefault(name, np.full(_length(columns), None, dtype=object))
        return self.steps.apply_columns(present)

    def records(self, records: Sequence[Any]) -> list[Any]:
        """Each object record with the sources replaced by what the steps derive; anything
        that is not an object is passed on for the validator to refuse."""
        objects = [r for r in records if isinstance(r, dict)]
        if not objects:
            return list(records)
        raw = {
            name: np.array([r.get(name) for r in objects], dtype=object)
            for name in self.steps.inputs
        }
        derived = self.steps.apply_columns(raw)
        outputs = {name: np.asarray(derived[name], dtype=np.float64) for name in self.steps.outputs}
        prepared: list[Any] = []
        row = 0
        for record in records:
            if not isinstance(record, dict):
                prepared.append(record)
                continue
            kept = {k: v for k, v in record.items() if k not in self._dropped}
            for name, values in outputs.items():
                value = float(values[row])
                kept[name] = None if math.isnan(value) else value
            prepared.append(kept)
            row += 1
        return prepared

    def explain(self, errors: list[FieldError], records: Sequence[Any]) -> list[FieldError]:
        """Errors on a derived field restated on the field the caller sent: an unreadable
        or missing date of birth, not a missing age; an age out of range as such."""
        sources = {out: step for step in self.steps.steps for out in step.outputs}
        explained: dict[tuple[int | None, str | None, str], FieldError] = {}
        for error in errors:
            step = sources.get(error.field or "")
            record = records[error.record] if error.record is not None else None
            if step is not None and isinstance(record, dict):
                error = FieldError(error.record, step.column, _reason(step, error, record))
            explained.setdefault((error.record, error.field, error.reason), error)
        return list(explained.values())


def _reason(step: PreStep, error: FieldError, record: Mapping[str, Any]) -> str:
    raw = record.get(step.column)
    if raw is None:
        return f"is required (the pre-step {step.step} derives {error.field} from it)"
    if np.isnat(as_day(raw)):
        shown = repr(str(raw)[:40]) if isinstance(raw, str | int | float) else type(raw).__name__
        return f"{shown} is not a date (YYYY-MM-DD)"
    return f"gives {error.field}: {error.reason}"


def _length(columns: Mapping[str, Any]) -> int:
    for values in columns.values():
        return len(values)
    return 0
