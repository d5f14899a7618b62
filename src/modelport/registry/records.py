"""What the registry hands out: frozen snapshots, detached from any database session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

__all__ = ["ModelVersion", "RegisteredModel"]


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
