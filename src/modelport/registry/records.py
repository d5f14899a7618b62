"""What the registry hands out: frozen snapshots, detached from any database session."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from modelport.package.manifest import PackageMetadata

__all__ = ["AliasState", "ModelVersion", "RegisteredModel", "VersionMetadata"]


@dataclass(frozen=True)
class VersionMetadata:
    """What a version carries besides its package: who owns it, how it was made.

    ``training_metrics`` and ``sample_fingerprint`` usually come from the build (see
    ``modelport.package``); ``owner``, ``tags`` and ``lineage`` (code version, data source,
    anything free-form) may be given at build or at registration.
    """

    owner: str | None = None
    tags: tuple[str, ...] = ()
    lineage: dict[str, Any] = field(default_factory=dict)
    training_metrics: dict[str, float] = field(default_factory=dict)
    sample_fingerprint: str | None = None
    registered_by: str | None = None

    @classmethod
    def combined(
        cls, built: PackageMetadata | None, given: VersionMetadata | None
    ) -> VersionMetadata:
        """What the package says (``built``), with what the registering caller said on top."""
        base = (
            cls(
                owner=built.owner,
                tags=tuple(built.tags),
                lineage=dict(built.lineage),
                training_metrics=dict(built.training_metrics),
                sample_fingerprint=built.sample_fingerprint,
            )
            if built
            else cls()
        )
        if given is None:
            return base
        return cls(
            owner=given.owner or base.owner,
            tags=tuple(dict.fromkeys([*base.tags, *given.tags])),
            lineage={**base.lineage, **given.lineage},
            training_metrics={**base.training_metrics, **given.training_metrics},
            sample_fingerprint=given.sample_fingerprint or base.sample_fingerprint,
        )


@dataclass(frozen=True)
class AliasState:
    """Where an alias points, and its revision (one more on every move)."""

    version: int
    revision: int
    updated_at: datetime


@dataclass(frozen=True)
class ModelVersion:
    """One registered package of a model. ``path`` is its verified copy in the artifact store."""

    name: str
    version: int
    digest: str
    task: str
    runtime: str
    description: str
    created_at: datetime
    path: Path
    aliases: tuple[str, ...]
    metadata: VersionMetadata = VersionMetadata()


@dataclass(frozen=True)
class RegisteredModel:
    """A model name with all its versions (oldest first) and where its aliases point."""

    name: str
    created_at: datetime
    versions: tuple[ModelVersion, ...]
    aliases: dict[str, int]

    @property
    def latest(self) -> ModelVersion:
        """The highest version; every registered model has at least one."""
        return self.versions[-1]
