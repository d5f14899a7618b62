"""The token bucket: a burst, then the rate; each key its own bucket; memory bounded."""

from __future__ import annotations

import pytest

from modelport.security.rate_limit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_the_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(2.0, burst=3, clock=clock)
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("a") == pytest.approx(0.5)
    assert limiter.take("b") == 0.0  # another principal, another bucket
    clock.now += 0.5
    assert limiter.take("a") == 0.0
    assert limiter.take("a") > 0
    clock.now += 10
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]  # refilled to the burst
    assert limiter.take("a") > 0


def test_the_default_burst_is_two_seconds_of_rate() -> None:
    limiter = RateLimiter(5.0, clock=Clock())
    assert sum(limiter.take("a") == 0.0 for _ in range(20)) == 10


def test_idle_buckets_are_forgotten(monkeypatch: pytest.MonkeyPatch) -> None:
    from modelport.security import rate_limit

    monkeypatch.setattr(rate_limit, "_PRUNE_AT", 100)
    clock = Clock()
    limiter = RateLimiter(1.0, burst=1, clock=clock)
    for n in range(100):
        limiter.take(f"caller-{n}")
    clock.now += 5  # every bucket full again
    limiter.take("new")
    limiter.take("newer")
    assert len(limiter._buckets) <= 2


def test_a_rate_must_be_positive() -> None:
    with pytest.raises(ValueError):
        RateLimiter(0)
