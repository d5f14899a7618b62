"""The prediction log's settings (environment prefix ``MODELPORT_PREDICTION_LOG_``), and
the one function that turns them into a running :class:`PredictionLog`.

    MODELPORT_PREDICTION_LOG_ENABLED=true
    MODELPORT_PREDICTION_LOG_URL=postgresql://...        # default: the registry database
    MODELPORT_PREDICTION_LOG_DIRECTORY=/data/predictions # Parquet files instead of SQL
    MODELPORT_PREDICTION_LOG_SAMPLE_RATE=0.1
    MODELPORT_PREDICTION_LOG_DROP=name,email
    MODELPORT_PREDICTION_LOG_HASH=customer_id
    MODELPORT_PREDICTION_LOG_SALT=...                    # needed when HASH is set

Off by default: logging every input is a decision about personal data that an operator
takes knowingly, with redaction configured.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from modelport.predlog.log import PredictionLog
from modelport.predlog.parquet import ParquetSink
from modelport.predlog.redaction import Redactor
from modelport.predlog.sink import Sink
from modelport.predlog.sql import DEFAULT_TABLE, SqlSink

__all__ = ["PredictionLogSettings", "open_prediction_log"]

FieldNames = Annotated[list[str], NoDecode]


class PredictionLogSettings(BaseSettings):
    """Where the prediction log goes, how much of it, and what is kept out of it."""

    model_config = SettingsConfigDict(env_prefix="MODELPORT_PREDICTION_LOG_", extra="ignore")

    enabled: bool = Field(default=False, description="Log every scored record.")
    url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the database holding the log; the registry's if unset.",
    )
    table: str = Field(default=DEFAULT_TABLE, pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
    directory: Path | None = Field(
        default=None, description="Write Parquet files here instead of a SQL table."
    )
    sample_rate: float = Field(
        default=1.0, ge=0, le=1, description="Share of requests logged (whole requests)."
    )
    drop: FieldNames = Field(default_factory=list, description="Input/entity fields left out.")
    hash: FieldNames = Field(
        default_factory=list, description="Input/entity fields logged as a salted SHA-256."
    )
    salt: SecretStr = Field(default=SecretStr(""), description="Key of the hashed fields.")
    flush_seconds: float = Field(default=0.5, gt=0, le=60)
    batch_rows: int = Field(default=1000, ge=1)
    max_buffered_rows: int = Field(default=100_000, ge=1)

    @field_validator("drop", "hash", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [name.strip() for name in value.split(",") if name.strip()]
        return value

    @model_validator(mode="after")
    def _salted(self) -> PredictionLogSettings:
        if self.hash and not self.salt.get_secret_value():
            raise ValueError(
                "hashed fields need a salt (MODELPORT_PREDICTION_LOG_SALT): without one, "
                "an id is found back by hashing every likely id"
            )
        return self

    @classmethod
    def from_env(cls) -> PredictionLogSettings:
        """Settings from the ``MODELPORT_PREDICTION_LOG_*`` environment variables."""
        return cls()

    def redactor(self) -> Redactor:
        return Redactor(drop=self.drop, hash=self.hash, salt=self.salt.get_secret_value())


def open_prediction_log(
    settings: PredictionLogSettings, default_url: str | None = None
) -> PredictionLog | None:
    """The log ``settings`` describe (``None`` when disabled). ``default_url`` is the
    database used when neither ``url`` nor ``directory`` is set: the registry's."""
    if not settings.enabled:
        return None
    sink: Sink
    if settings.directory is not None:
        sink = ParquetSink(settings.directory)
    else:
        url = settings.url or default_url
        if not url:
            raise ValueError("the prediction log needs a database URL or a directory")
        sink = SqlSink(url, settings.table)
    return PredictionLog(
        sink,
        flush_seconds=settings.flush_seconds,
        batch_rows=settings.batch_rows,
        max_buffered_rows=settings.max_buffered_rows,
        sample_rate=settings.sample_rate,
        redactor=settings.redactor(),
    )
