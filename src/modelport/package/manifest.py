"""The manifest (``modelport.yaml``): everything a package says about itself.

The package digest is the SHA-256 of the manifest's canonical JSON form with the
``digest`` field left out. Since the manifest lists the SHA-256 of every other file,
that one digest covers every byte of the package that matters. See
``docs/package-format.md``.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from modelport.contract import Contract
from modelport.decisions import Decisioning
from modelport.errors import IntegrityError, InvalidName, PackageError
from modelport.orchestrate.spec import OrchestrationSpec
from modelport.runtime import Task

__all__ = [
    "FORMAT_VERSION",
    "MANIFEST_FILE",
    "FILE_NAME_PATTERN",
    "NAME_PATTERN",
    "Manifest",
    "OutputSpec",
    "PackageMetadata",
    "ParitySummary",
    "Runtime",
    "Task",
    "check_name",
]

FORMAT_VERSION = 1
MANIFEST_FILE = "modelport.yaml"
NAME_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9_-]{0,62}[a-z0-9])?$")
FILE_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")  # flat: no "/" or ".."


def check_name(name: str, what: str = "model name") -> str:
    """Model names (and aliases) are short lowercase slugs: safe in paths, URLs and SQL."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise InvalidName(
            f"invalid {what} {name!r}: use 1-64 lowercase letters, digits, '-' or '_', "
            "starting and ending with a letter or digit"
        )
    return name


class Runtime(StrEnum):
    ONNX = "onnx"
    NATIVE = "native"


class OutputSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    type: str
    description: str


class ParitySummary(BaseModel):
    """What the build measured: original model versus the packaged one, on the same rows."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    passed: bool
    tolerance: float
    rows_checked: int
    sample_rows: int
    edge_rows: int
    max_abs_diff: dict[str, float]
    label_mismatches: int
    runtime: Runtime


class PackageMetadata(BaseModel):
    """Who owns the model and how it was made; recorded at build, carried into the registry.

    ``sample_fingerprint`` is a SHA-256 over the training sample's column names, types and
    values, so "was this trained on the same data?" has an exact answer.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    owner: str | None = None
    tags: list[str] = Field(default_factory=list)
    lineage: dict[str, Any] = Field(default_factory=dict)
    training_metrics: dict[str, float] = Field(default_factory=dict)
    sample_fingerprint: str | None = None
    sample_rows: int | None = None


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format_version: int = FORMAT_VERSION
    name: str
    created: datetime
    description: str = ""
    task: Task
    classes: list[Any] | None = None
    framework: dict[str, str]
    libraries: dict[str, str]
    contract: Contract
    outputs: list[OutputSpec]
    runtime: Runtime
    model_file: str
    trusted_types: list[str] = Field(default_factory=list)
    parity: ParitySummary
    files: dict[str, str]
    metadata: PackageMetadata | None = None  # absent from packages built before it existed
    decisioning: Decisioning | None = None  # decision rules and conformal calibration
    presteps: list[dict[str, Any]] | None = None  # see modelport.features.presteps
    orchestration: OrchestrationSpec | None = None  # entity keys and sourced inputs
    digest: str = ""

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        return check_name(value)

    @field_validator("files")
    @classmethod
    def _plain_file_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name, digest in value.items():
            if not FILE_NAME_PATTERN.fullmatch(name) or name == MANIFEST_FILE:
                raise ValueError(f"file name {name!r} is not a plain package file name")
            if not re.fullmatch(r"[0-9a-f]{64}", digest):
                raise ValueError(f"digest of {name} is not a SHA-256 hex digest")
        return value

    @field_validator("format_version")
    @classmethod
    def _known_format(cls, value: int) -> int:
        if value != FORMAT_VERSION:
            raise ValueError(
                f"format version {value} is not supported by this modelport "
                f"(it reads version {FORMAT_VERSION}); upgrade modelport"
            )
        return value

    def compute_digest(self) -> str:
        body = self.model_dump(mode="json", exclude=self._unwritten() | {"digest"})
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def sealed(self) -> Manifest:
        """This manifest with its package digest filled in."""
        return self.model_copy(update={"digest": self.compute_digest()})

    def to_yaml(self) -> str:
        body = self.model_dump(mode="json", exclude=self._unwritten())
        return yaml.safe_dump(body, sort_keys=False, allow_unicode=True)

    def _unwritten(self) -> set[str]:
        """Optional blocks left out when empty, so older packages keep their digests."""
        optional = {
            "metadata": self.metadata,
            "decisioning": self.decisioning,
            "presteps": self.presteps or None,
            "orchestration": self.orchestration,
        }
        return {name for name, value in optional.items() if value is None}

    @classmethod
    def read(cls, directory: Path) -> Manifest:
        path = directory / MANIFEST_FILE
        if not path.is_file():
            raise PackageError(
                f"{directory} is not a modelport package: {MANIFEST_FILE} is missing"
            )
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise IntegrityError(
                f"{MANIFEST_FILE} in {directory} is not valid YAML: {exc}"
            ) from None
        if not isinstance(data, dict):
            raise IntegrityError(f"{MANIFEST_FILE} in {directory} is not a mapping")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise IntegrityError(
                f"{MANIFEST_FILE} in {directory} does not describe a valid package: "
                f"{_first_error(exc)}"
            ) from None


def _first_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    return f"{where}: {first.get('msg')}" if where else str(first.get("msg"))
