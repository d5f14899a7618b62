"""Settings, read once from the environment (prefix ``MODELPORT_``) and passed down."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
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
        description=(
            "Registration, promotions, rollbacks, alias moves and deletions over HTTP at "
            "/v1/admin (the admin scope)."
        ),
    )
    # --- security: see docs/security.md
    auth: str = Field(
        default="none",
        description="How clients authenticate: none, jwt, apikey, or both as 'jwt,apikey'.",
    )
    jwt_secret: SecretStr | None = Field(
        default=None, description="Shared secret of HS256 tokens (at least 32 bytes)."
    )
    jwt_public_key_file: Path | None = Field(
        default=None, description="PEM public key of RS256 or ES256 tokens."
    )
    jwt_jwks_file: Path | None = Field(
        default=None, description="JWKS file of the keys RS256 or ES256 tokens are signed with."
    )
    jwt_issuer: str | None = Field(default=None, description="The `iss` every token must carry.")
    jwt_audience: str | None = Field(default=None, description="The `aud` tokens must name.")
    jwt_leeway_seconds: float = Field(default=30, ge=0, le=600, description="Clock skew allowed.")
    rate_limit_per_second: float = Field(
        default=0, ge=0, description="Requests per second each principal may send (0: no limit)."
    )
    rate_limit_burst: int = Field(
        default=0, ge=0, description="Requests a principal may send at once (0: 2 s of its rate)."
    )
    promotion_data_dir: Path | None = Field(
        default=None,
        description=(
            "The directory the admin API's promotions read test data from (`test_data` "
            "names a file in it); unset: test data cannot be given over HTTP"
        ),
    )
    forwarded_allow_ips: str = Field(
        default="",
        description=(
            "Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (comma-separated "
            "addresses, e.g. 127.0.0.1 for a proxy on the same host); empty: none, so no "
            "client can claim another address"
        ),
    )
    request_timeout_seconds: float = Field(
        default=30, gt=0, description="Longest a predict or score request may take, body included."
    )
    max_json_depth: int = Field(default=32, ge=2, le=512, description="JSON nesting allowed.")
    max_string_length: int = Field(
        default=10_000, ge=1, description="Longest JSON string (value or key) in characters."
    )
    max_package_bytes: int = Field(
        default=1024**3, ge=1, description="Largest package archive the admin API accepts."
    )
    require_signature: bool = Field(
        default=False,
        description="Refuse packages without a valid signature from a trusted key.",
    )
    trusted_keys_dir: Path | None = Field(
        default=None, description="Trusted Ed25519 public keys (home/trusted-keys by default)."
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

    @field_validator("auth")
    @classmethod
    def _auth_methods(cls, value: str) -> str:
        methods = sorted({part.strip().lower() for part in value.split(",") if part.strip()})
        if methods in (["none"], []):
            return "none"
        unknown = set(methods) - {"jwt", "apikey"}
        if unknown:
            raise ValueError(
                f"unknown authentication {', '.join(sorted(unknown))}: use none, jwt, apikey "
                "or 'jwt,apikey'"
            )
        return ",".join(methods)

    @property
    def auth_methods(self) -> frozenset[str]:
        """The authentication methods on (empty: none, every request is anonymous)."""
        return frozenset() if self.auth == "none" else frozenset(self.auth.split(","))

    @property
    def resolved_trusted_keys_dir(self) -> Path:
        return self.trusted_keys_dir or self.home / "trusted-keys"

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
