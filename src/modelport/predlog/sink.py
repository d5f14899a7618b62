"""Where the prediction log's batches go: the small interface every sink implements.

A sink is called from the log's one writer thread only, never from a request. ``write``
makes a batch durable (one transaction, one file) or raises; the log keeps a batch that
raised and offers it again later, so a sink must write all of a batch or none of it. A
record the sink can never store (the data itself is refused, not the connection) is left
out and counted in the returned number, so one bad record cannot block the log forever.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from modelport.predlog.record import PredictionRecord

__all__ = ["Sink"]


class Sink(Protocol):
    """Durable storage for batches of prediction records."""

    def write(self, records: Sequence[PredictionRecord]) -> int:
        """Store ``records`` durably, all or none; return how many were refused as data."""
        ...

    def close(self) -> None:
        """Release connections or handles (the log calls it once, last)."""
        ...
