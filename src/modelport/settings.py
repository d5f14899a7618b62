"""Settings, read once from the environment (prefix ``MODELPORT_``) and passed down."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL

__all__ = ["Settings", "modelport_version"]


def modelport_version() -> str:
    """The installed version (from the package metadata, so pyproject.toml is the one source)."""
    try:
        return importlib.metadata.version("modelport")
    except importlib.metadata.PackageNotFoundError:  # running from a source tree
        return "0+unknown"


class Settings(BaseSettings):
    """Every knob of modelport in one place; build it once with ``Settings()``."""

    model_config = SettingsConfigDict(env_prefix="MODELPORT_", extra="ignore")

    home: Path = Field(
        default_factory=lambda: Path.home() / ".modelport",
        description="Directory holding the embedded registry database and the artifact store.",
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL of the registry; SQLite under home by default."
    )
    artifacts_url: str | None = Field(
        default=None,
        description=(
            "Where the artifact store is: a directory or file:// URL (local), or any fsspec "
            "URL such as s3://bucket/prefix (remote, read through a cache under home); "
            "home/artifacts by default."
        ),
    )
    max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    max_records: int = Field(default=10_000, ge=1)
    alias_poll_seconds: float = Field(default=2.0, gt=0)
    batch_chunk_rows: int = Field(default=50_000, ge=1)
    batching: bool = Field(default=True, description="Score concurrent requests together.")
    batch_max_rows: int = Field(default=256, ge=1, description="Rows per runtime call.")
    batch_max_wait_ms: float = Field(
        default=0.5, ge=0, le=1000, description="How long a batch may wait for more requests."
    )
    metrics: bool = Field(default=True, description="Prometheus metrics at /metrics.")
    admin_api: bool = Field(
        default=False,
        description="Promotions, rollbacks, alias moves over HTTP at /v1/admin (no auth yet).",
    )
    access_log: bool = Field(default=True, description="One JSON line per request.")
    sources_file: Path | None = Field(
        default=None, description="YAML binding feature-source names to databases (/v1/score)."
    )
    enrichment_cache_entries: int = Field(
        default=100_000, ge=0, description="Rows the enrichment cache keeps (0: none)."
    )
    log_format: Literal["json", "text"] = "json"
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @property
    def artifacts_dir(self) -> Path:
        """The default, local artifact store (used when ``artifacts_url`` is unset)."""
        return self.home / "artifacts"

    @property
    def resolved_artifacts_url(self) -> str:
        """``artifacts_url``, or the default directory as a ``file://`` URL."""
        if self.artifacts_url:
            return self.artifacts_url
        return self.artifacts_dir.absolute().as_uri()  # escapes what a path may hold

    @property
    def artifacts_cache_dir(self) -> Path:
        """Local copies of a remote artifact store's packages (verified on every load)."""
        return self.home / "cache" / "artifacts"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        # URL.create escapes what a path may hold (?, #, %) that an f-string would not.
        return URL.create("sqlite", database=str(self.home / "registry.db")).render_as_string()
