"""A token bucket per principal: ``rate`` requests a second, ``burst`` at once.

Per process: with several server workers each keeps its own buckets, so a principal may
reach ``workers x rate`` in total (docs/security.md says so). Buckets of principals that
stopped calling are forgotten once full again, so memory stays bounded by the callers
of the last few seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["RateLimiter"]

_PRUNE_AT = 100_000  # buckets kept before the full ones are dropped


class RateLimiter:
    def __init__(
        self, rate: float, burst: int = 0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0:
            raise ValueError("a rate limit needs a positive rate")
        self.rate = rate
        self.burst = float(burst) if burst > 0 else max(1.0, 2.0 * rate)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when)

    def take(self, key: str) -> float:
        """0.0 if ``key`` may go ahead now (a token is spent), else the seconds to wait."""
        now = self._clock()
        tokens, when = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - when) * self.rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            if len(self._buckets) > _PRUNE_AT:
                self._prune(now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1.0 - tokens) / self.rate

    def _prune(self, now: float) -> None:
        full = [
            key
            for key, (tokens, when) in self._buckets.items()
            if tokens + (now - when) * self.rate >= self.burst
        ]
        for key in full:
            del self._buckets[key]
