"""Which requests the prediction log keeps: a deterministic share of request ids.

A busy model does not need every record logged to be monitored, but a request must be
logged whole or not at all (a batch of 50 records with 12 kept would mislead every
per-request analysis). So the choice is a function of the request id alone: its BLAKE2b
hash, read as a number in [0, 1), is compared with the rate. The same id is kept by every
worker process and on every rerun, and ids spread evenly, so the kept share is the rate.
"""

from __future__ import annotations

import hashlib

__all__ = ["Sampler"]

_SCALE = float(1 << 64)


class Sampler:
    """Keeps a request when ``hash(request_id) < rate``; rate 1 keeps all, 0 none."""

    __slots__ = ("rate",)

    def __init__(self, rate: float = 1.0) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"a sample rate is between 0 and 1, not {rate}")
        self.rate = rate

    def keeps(self, request_id: str) -> bool:
        """Whether records of ``request_id`` are logged (the same answer every time)."""
        if self.rate >= 1.0:
            return True
        if self.rate <= 0.0:
            return False
        digest = hashlib.blake2b(request_id.encode("utf-8", "surrogatepass"), digest_size=8)
        return int.from_bytes(digest.digest(), "big") / _SCALE < self.rate
