"""What a batch run did: :class:`BatchSummary`, and where rejects go by default."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelport.batch.formats import Format

__all__ = ["REJECTS_SUFFIX", "BatchSummary", "default_rejects_path"]

REJECTS_SUFFIX = ".rejects.jsonl"


@dataclass(frozen=True, slots=True)
class BatchSummary:
    """What a batch run did. ``rows_read == rows_scored + rows_rejected`` always."""

    input: Path | str  # a local path, or the URL (without any password)
    output: Path | str
    rejects: Path | str
    input_format: Format
    output_format: Format
    rows_read: int
    rows_scored: int
    rows_rejected: int
    elapsed_seconds: float
    rejected_fields: dict[str, int] = field(default_factory=dict)
    """How many rejected rows name each field (``"(row)"``: a reason about the whole row)."""
    entity_keys: list[str] = field(default_factory=list)
    """The keys rows were looked up by in the feature sources (empty: not by entity)."""
    workers: int = 1
    """Processes that scored (1: in the calling process)."""
    rows_resumed: int = 0
    """Rows an earlier, interrupted run of the same job had scored (``--job``)."""
    finished_before: bool = False
    """The job (``--job``) had finished in an earlier run: this summary is that run's."""
    rows_outside_expected: int = 0
    """Scored rows with a value outside the contract's expected ranges (scored, not refused)."""
    outside_expected_fields: dict[str, int] = field(default_factory=dict)
    """How many of those rows each field took outside its expected range."""

    @property
    def rows_per_second(self) -> float:
        """Rows this run read per second (rows an earlier run of the job did are not)."""
        done = self.rows_read - self.rows_resumed
        return done / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "input": str(self.input),
            "output": str(self.output),
            "rejects": str(self.rejects),
            "input_format": self.input_format.value,
            "output_format": self.output_format.value,
            "rows_read": self.rows_read,
            "rows_scored": self.rows_scored,
            "rows_rejected": self.rows_rejected,
            "elapsed_seconds": self.elapsed_seconds,
            "rows_per_second": self.rows_per_second,
            "rejected_fields": dict(self.rejected_fields),
            "entity_keys": list(self.entity_keys),
            "workers": self.workers,
            "rows_resumed": self.rows_resumed,
            "finished_before": self.finished_before,
            "rows_outside_expected": self.rows_outside_expected,
            "outside_expected_fields": dict(self.outside_expected_fields),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BatchSummary:
        return cls(
            input=_path_or_url(data["input"]),
            output=_path_or_url(data["output"]),
            rejects=_path_or_url(data["rejects"]),
            input_format=Format(data["input_format"]),
            output_format=Format(data["output_format"]),
            rows_read=data["rows_read"],
            rows_scored=data["rows_scored"],
            rows_rejected=data["rows_rejected"],
            elapsed_seconds=data["elapsed_seconds"],
            rejected_fields=data["rejected_fields"],
            entity_keys=data["entity_keys"],
            workers=data["workers"],
            rows_resumed=data["rows_resumed"],
            rows_outside_expected=data.get("rows_outside_expected", 0),
            outside_expected_fields=data.get("outside_expected_fields", {}),
        )


def default_rejects_path(output: str | Path) -> Path | str:
    """``<output>.rejects.jsonl``, beside the output (a path, or a URL for a URL)."""
    if isinstance(output, str) and "://" in output:
        return output + REJECTS_SUFFIX
    output = Path(output)
    return output.with_name(output.name + REJECTS_SUFFIX)


def _path_or_url(text: str) -> Path | str:
    return text if "://" in text else Path(text)
