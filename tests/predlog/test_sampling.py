"""Sampling keeps a share of requests, decided by the request id alone: whole requests."""

from __future__ import annotations

import pytest
from prediction_sinks import SinkTarget
from predlog_records import record

from modelport.predlog import PredictionLog, Sampler, read_predictions

IDS = [f"{n:016x}" for n in range(10_000)]


@pytest.mark.parametrize("rate", [0.01, 0.1, 0.3, 0.5, 0.9])
def test_the_kept_share_is_the_rate(rate: float) -> None:
    kept = sum(Sampler(rate).keeps(i) for i in IDS) / len(IDS)
    # 4 binomial standard deviations (at most 0.02 here): deterministic ids, so no flakes
    tolerance = 4 * (rate * (1 - rate) / len(IDS)) ** 0.5
    assert abs(kept - rate) <= tolerance


def test_the_decision_is_the_same_every_time_and_in_every_sampler() -> None:
    first = [Sampler(0.3).keeps(i) for i in IDS]
    assert first == [Sampler(0.3).keeps(i) for i in IDS]
    # a higher rate keeps a superset: raising the rate never loses a request kept before
    wider = [Sampler(0.6).keeps(i) for i in IDS]
    assert all(w for f, w in zip(first, wider, strict=True) if f)


def test_rates_one_and_zero_keep_all_and_none() -> None:
    assert all(Sampler(1.0).keeps(i) for i in IDS)
    assert not any(Sampler(0.0).keeps(i) for i in IDS)
    with pytest.raises(ValueError):
        Sampler(1.5)


def test_the_log_keeps_or_drops_all_records_of_a_request_together(target: SinkTarget) -> None:
    where, make_sink = target
    requests = [f"request-{n}" for n in range(200)]
    with PredictionLog(make_sink(), sample_rate=0.5) as log:
        for n, request_id in enumerate(requests):
            log.append([record(n * 10 + k, request_id=request_id) for k in range(5)])
    found = read_predictions(where)
    counts: dict[str, int] = {}
    for r in found:
        counts[r.request_id] = counts.get(r.request_id, 0) + 1
    sampler = Sampler(0.5)
    assert set(counts) == {r for r in requests if sampler.keeps(r)}
    assert set(counts.values()) == {5}
    assert 60 < len(counts) < 140
    assert log.dropped == 0  # sampled out is not lost
