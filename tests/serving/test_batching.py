"""Micro-batching: concurrent requests share a runtime call, yet each gets its own answer.

Every request must receive exactly what the model gives for its records alone, or its own
refusal naming its own record indices; a broken scorer must reach every waiting request.
The batcher is driven on a real event loop with a real loaded package.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
import random
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from modelport.errors import FieldError, InvalidInput
from modelport.package import open_package
from modelport.serving import batching
from modelport.serving.batching import Batchers, BatchPolicy, BatchStats, MicroBatcher
from modelport.serving.pool import LoadedModel, ModelPool

Records = list[dict[str, Any]]
TIMEOUT = 10.0  # seconds before a request that never completes fails the test


@pytest.fixture(scope="module")
def model(loan_package_path: Path) -> LoadedModel:
    pool = ModelPool(lambda name, version: open_package(loan_package_path))
    return pool.load("loan-approval", 1)


@pytest.fixture(scope="module")
def records(loan_package_path: Path) -> Records:
    """The package's reference rows as plain JSON records (missing values left out)."""
    package = open_package(loan_package_path)
    rows = package.reference()[package.manifest.contract.names].head(300)
    records = [
        {str(k): v for k, v in row.items() if not (isinstance(v, float) and math.isnan(v))}
        for row in rows.astype(object).to_dict("records")
    ]
    return list(json.loads(json.dumps(records)))


@pytest.fixture(scope="module")
def executor() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=2) as pool:
        yield pool


@pytest.fixture(params=["inline", "thread"])
def scoring(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Score every batch on the event loop, or every batch in the executor."""
    monkeypatch.setattr(batching, "INLINE_SECONDS", math.inf if request.param == "inline" else -1)
    return str(request.param)


def make_requests(records: Records, sizes: list[int], seed: int) -> list[Records]:
    """Requests of the given sizes, each a fresh copy of records from a random place."""
    rng = random.Random(seed)
    requests = []
    for size in sizes:
        start = rng.randrange(len(records) - size + 1)
        requests.append([dict(r) for r in records[start : start + size]])
    return requests


def random_sizes(n: int, seed: int, low: int = 1, high: int = 5) -> list[int]:
    rng = random.Random(seed)
    return [rng.randint(low, high) for _ in range(n)]


def assert_same_predictions(got: Any, expected: Records, what: str) -> None:
    assert isinstance(got, list), f"{what}: got {got!r}"
    assert len(got) == len(expected), f"{what}: {len(got)} predictions for {len(expected)}"
    for index, (mine, alone) in enumerate(zip(got, expected, strict=True)):
        where = f"{what}, record {index}"
        assert mine.keys() == alone.keys(), where
        assert mine["label"] == alone["label"], where
        assert mine["probabilities"].keys() == alone["probabilities"].keys(), where
        for key, value in alone["probabilities"].items():
            assert abs(mine["probabilities"][key] - value) <= 1e-12, where
        if "score" in alone:
            assert abs(mine["score"] - alone["score"]) <= 1e-12, where


def alone(model: LoadedModel, request: Records) -> Records:
    """``request`` scored on its own, straight through the scorer's two doors."""
    validated = model.scorer.validate(request)
    if validated.errors:
        raise InvalidInput("input does not match the model's contract", validated.errors)
    return model.scorer.score(validated).answers()


def refusal_alone(model: LoadedModel, request: Records) -> list[FieldError]:
    with pytest.raises(InvalidInput) as refused:
        alone(model, request)
    return refused.value.errors


async def gather_in_waves(
    batcher: MicroBatcher, requests: list[Records], wave: int = 10
) -> list[Any]:
    """Start the requests a wave at a time (so several batches form); every outcome, in order."""
    tasks: list[asyncio.Task[Any]] = []
    for index, request in enumerate(requests):
        tasks.append(asyncio.ensure_future(batcher.predict(request)))
        if index % wave == wave - 1:
            await asyncio.sleep(0)
    return list(await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), TIMEOUT))


# -- correctness --------------------------------------------------------------------------


def test_concurrent_requests_each_get_their_own_predictions(
    model: LoadedModel, records: Records, executor: ThreadPoolExecutor, scoring: str
) -> None:
    requests = make_requests(records, random_sizes(50, seed=1), seed=2)
    seen: list[BatchStats] = []

    async def main() -> list[Any]:
        batcher = MicroBatcher(model, BatchPolicy(), executor, seen.append)
        return await gather_in_waves(batcher, requests)

    answers = asyncio.run(main())
    for index, (request, answer) in enumerate(zip(requests, answers, strict=True)):
        assert_same_predictions(answer, alone(model, request), f"request {index}")
    assert any(stats.requests > 1 for stats in seen), f"no batch held two requests: {seen}"
    assert sum(stats.rows for stats in seen) == sum(len(r) for r in requests)
    assert sum(stats.requests for stats in seen) == len(requests)
    assert all(stats.model is model for stats in seen)


def test_a_bad_record_refuses_only_its_own_request(
    model: LoadedModel, records: Records, executor: ThreadPoolExecutor, scoring: str
) -> None:
    requests = make_requests(records, [2, 3, 1, 4, 5, 4, 2, 0, 3, 1, 2, 3], seed=3)
    requests[0][0]["loan_amount"] = "abc"  # the very first record of the batch
    requests[5][2]["delinquencies"] = -1  # a negative count (the sample proves it is not)
    del requests[5][3]["home_ownership"]  # a required field missing, in the same request
    requests[8][1]["open_accounts"] = 2.5  # a fraction for an integer field
    requests[11][2] = [1, 2]  # not an object: the very last record of the batch
    bad = {0, 5, 8, 11}
    seen: list[BatchStats] = []

    async def main() -> list[Any]:
        batcher = MicroBatcher(model, BatchPolicy(), executor, seen.append)
        return await gather_in_waves(batcher, requests, wave=len(requests))

    answers = asyncio.run(main())
    assert any(stats.requests == len(requests) for stats in seen), f"not one batch: {seen}"
    for index, (request, answer) in enumerate(zip(requests, answers, strict=True)):
        if index in bad:
            assert isinstance(answer, InvalidInput), f"request {index}: {answer!r}"
            assert answer.errors == refusal_alone(model, request), f"request {index}"
        else:
            assert_same_predictions(answer, alone(model, request), f"request {index}")
    assert answers[0].errors == [
        FieldError(0, "loan_amount", "expected a number, got string 'abc'")
    ]
    assert [(e.record, e.field) for e in answers[5].errors] == [
        (2, "delinquencies"),
        (3, "home_ownership"),
    ]
    assert [(e.record, e.field) for e in answers[8].errors] == [(1, "open_accounts")]
    assert [(e.record, e.field) for e in answers[11].errors] == [(2, None)]
    assert answers[7] == []


def test_max_rows_bounds_every_batch_but_a_large_request_goes_whole(
    model: LoadedModel, records: Records, executor: ThreadPoolExecutor, scoring: str
) -> None:
    sizes = random_sizes(30, seed=4)
    sizes[12] = 20  # larger than max_rows on its own
    requests = make_requests(records, sizes, seed=5)
    seen: list[BatchStats] = []

    async def main() -> list[Any]:
        batcher = MicroBatcher(model, BatchPolicy(max_rows=8), executor, seen.append)
        return await gather_in_waves(batcher, requests, wave=len(requests))

    answers = asyncio.run(main())
    for index, (request, answer) in enumerate(zip(requests, answers, strict=True)):
        assert_same_predictions(answer, alone(model, request), f"request {index}")
    too_big = [s for s in seen if s.rows > 8 and s.requests > 1]
    assert not too_big, f"batches above max_rows: {too_big}"
    assert any(s.rows == 20 and s.requests == 1 for s in seen), seen
    assert any(s.requests > 1 for s in seen), seen
    assert sum(s.rows for s in seen) == sum(sizes)


def test_disabled_batching_scores_each_request_alone(
    model: LoadedModel, records: Records, executor: ThreadPoolExecutor, scoring: str
) -> None:
    requests = make_requests(records, random_sizes(20, seed=6), seed=7)
    requests[4][0]["has_cosigner"] = 1  # a bad record still refuses only its own request
    seen: list[BatchStats] = []

    async def main() -> list[Any]:
        batcher = MicroBatcher(model, BatchPolicy(enabled=False), executor, seen.append)
        return await gather_in_waves(batcher, requests, wave=len(requests))

    answers = asyncio.run(main())
    assert [s.requests for s in seen] == [1] * len(requests)
    assert sorted(s.rows for s in seen) == sorted(len(r) for r in requests)
    for index, (request, answer) in enumerate(zip(requests, answers, strict=True)):
        if index == 4:
            assert isinstance(answer, InvalidInput), answer
            assert answer.errors == [
                FieldError(0, "has_cosigner", "expected a boolean, got number 1")
            ]
        else:
            assert_same_predictions(answer, alone(model, request), f"request {index}")


def test_a_cancelled_request_does_not_disturb_its_batch(
    model: LoadedModel, records: Records, executor: ThreadPoolExecutor, scoring: str
) -> None:
    requests = make_requests(records, [3, 2, 4], seed=8)

    async def main() -> list[Any]:
        batcher = MicroBatcher(model, BatchPolicy(), executor)
        tasks = [asyncio.ensure_future(batcher.predict(r)) for r in requests]
        await asyncio.sleep(0)  # every request is queued, none is flushed yet
        tasks[1].cancel()
        return list(await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), TIMEOUT))

    answers = asyncio.run(main())
    assert isinstance(answers[1], asyncio.CancelledError)
    assert_same_predictions(answers[0], alone(model, requests[0]), "request 0")
    assert_same_predictions(answers[2], alone(model, requests[2]), "request 2")


def test_a_request_behind_a_cancelled_one_is_still_flushed(
    model: LoadedModel, records: Records, executor: ThreadPoolExecutor, scoring: str
) -> None:
    first, second = make_requests(records, [5, 5], seed=9)

    async def main() -> Any:
        batcher = MicroBatcher(model, BatchPolicy(max_rows=5), executor)
        cancelled = asyncio.ensure_future(batcher.predict(first))
        waiting = asyncio.ensure_future(batcher.predict(second))
        await asyncio.sleep(0)  # both queued; the flush is scheduled but has not run
        cancelled.cancel()
        try:
            return await asyncio.wait_for(waiting, 1.0)
        except TimeoutError:
            return None

    answer = asyncio.run(main())
    assert answer is not None, "the request behind a cancelled one was never flushed"
    assert_same_predictions(answer, alone(model, second), "the second request")


# -- latency: who waits for max_wait, and who does not ------------------------------------
# No wall-clock bounds here (those are benchmarks/online.py's): max_wait is an hour, so a
# request that waited for it would never be answered, and where time must pass the event
# loop's clock is moved forward instead (SteppedClock).

HOUR = 3600.0


class SteppedClock(asyncio.SelectorEventLoop):
    """An event loop whose clock the test moves forward: an hour passes without waiting."""

    def __init__(self) -> None:
        super().__init__()
        self.skipped = 0.0

    def time(self) -> float:
        return super().time() + self.skipped


def run_stepped(main: Any) -> Any:
    """``asyncio.run`` on a :class:`SteppedClock`."""
    with asyncio.Runner(loop_factory=SteppedClock) as runner:
        return runner.run(main)


async def turns(n: int = 5) -> None:
    """Let the event loop go round ``n`` times (what is scheduled to run soon, runs)."""
    for _ in range(n):
        await asyncio.sleep(0)


def test_a_lone_request_does_not_wait_for_max_wait(
    model: LoadedModel, records: Records, executor: ThreadPoolExecutor, scoring: str
) -> None:
    (request,) = make_requests(records, [3], seed=10)
    seen: list[BatchStats] = []

    async def main() -> Any:
        batcher = MicroBatcher(model, BatchPolicy(max_wait=HOUR), executor, seen.append)
        return await asyncio.wait_for(batcher.predict(request), TIMEOUT)

    answer = asyncio.run(main())  # a request that waited for max_wait would time out
    assert_same_predictions(answer, alone(model, request), "the lone request")
    assert seen == [BatchStats(model, 1, 3)]


def test_a_lone_request_after_a_burst_does_not_wait_for_max_wait(
    model: LoadedModel, records: Records, executor: ThreadPoolExecutor, monkeypatch: Any
) -> None:
    monkeypatch.setattr(batching, "INLINE_SECONDS", math.inf)  # scored on the loop's turns
    burst = make_requests(records, random_sizes(10, seed=11), seed=12)
    (lone,) = make_requests(records, [2], seed=13)
    seen: list[BatchStats] = []

    async def main() -> tuple[bool, Any]:
        clock = asyncio.get_running_loop()
        assert isinstance(clock, SteppedClock)
        batcher = MicroBatcher(model, BatchPolicy(max_wait=HOUR), executor, seen.append)
        await gather_in_waves(batcher, burst, wave=len(burst))
        clock.skipped += 2 * HOUR  # longer than max_wait: the server is quiet again
        waiting = asyncio.ensure_future(batcher.predict(lone))
        await turns()  # the clock does not move: only a flush without a timer answers
        if not waiting.done():
            waiting.cancel()
            return False, None
        return True, waiting.result()

    answered, answer = run_stepped(main())
    assert answered, "a lone request on a quiet server waited for company"
    assert_same_predictions(answer, alone(model, lone), "the lone request")
    assert [s.requests for s in seen] == [len(burst), 1]


def test_right_after_a_burst_a_request_waits_max_wait_for_company(
    model: LoadedModel, records: Records, executor: ThreadPoolExecutor, monkeypatch: Any
) -> None:
    """The other side of the rule above: while batches are forming, a flush waits."""
    monkeypatch.setattr(batching, "INLINE_SECONDS", math.inf)
    burst = make_requests(records, random_sizes(10, seed=11), seed=12)
    first, second = make_requests(records, [2, 3], seed=13)
    seen: list[BatchStats] = []

    async def main() -> tuple[bool, bool, list[Any]]:
        clock = asyncio.get_running_loop()
        assert isinstance(clock, SteppedClock)
        batcher = MicroBatcher(model, BatchPolicy(max_wait=HOUR), executor, seen.append)
        await gather_in_waves(batcher, burst, wave=len(burst))
        waiting = [asyncio.ensure_future(batcher.predict(first))]
        await turns()
        waited = not waiting[0].done()
        waiting.append(asyncio.ensure_future(batcher.predict(second)))  # company arrives
        await turns()
        still = not any(w.done() for w in waiting)
        clock.skipped += HOUR  # max_wait is over
        return waited, still, await asyncio.wait_for(asyncio.gather(*waiting), TIMEOUT)

    waited, still, answers = run_stepped(main())
    assert waited and still, "a request right after a burst did not wait for max_wait"
    assert_same_predictions(answers[0], alone(model, first), "the first request")
    assert_same_predictions(answers[1], alone(model, second), "the second request")
    assert [s.requests for s in seen] == [len(burst), 2]  # the two shared one flush


# -- the scorer breaks --------------------------------------------------------------------


class BrokenScorer:
    """Validates like the real scorer, then fails to score."""

    def __init__(self, real: Any) -> None:
        self.contract = real.contract
        self.validate = real.validate
        self.calls = 0

    def score(self, validated: Any) -> Any:
        self.calls += 1
        raise RuntimeError("the runtime broke")


def test_a_scorer_failure_reaches_every_waiting_request(
    model: LoadedModel, records: Records, executor: ThreadPoolExecutor, scoring: str
) -> None:
    broken = dataclasses.replace(model, scorer=BrokenScorer(model.scorer))
    requests = make_requests(records, random_sizes(12, seed=14), seed=15)
    requests[3][0]["loan_amount"] = "abc"  # a bad record in the same batch changes nothing

    async def main() -> tuple[list[Any], Any]:
        batcher = MicroBatcher(broken, BatchPolicy(max_rows=16), executor)
        answers = await gather_in_waves(batcher, requests, wave=4)
        try:  # the batcher is not left stuck "in flight" after a failure
            after = await asyncio.wait_for(batcher.predict(requests[0][1:]), TIMEOUT)
        except RuntimeError as exc:
            after = exc
        return answers, after

    answers, after = asyncio.run(main())
    for index, answer in enumerate([*answers, after]):
        assert isinstance(answer, RuntimeError), f"request {index}: {answer!r}"
        assert str(answer) == "the runtime broke"
    assert broken.scorer.calls >= 2  # several batches, each failed


# -- one batcher per loaded version and loop ----------------------------------------------


def test_batchers_keep_one_batcher_per_model_object_and_loop(
    model: LoadedModel, records: Records, executor: ThreadPoolExecutor
) -> None:
    seen: list[BatchStats] = []
    batchers = Batchers(BatchPolicy(max_rows=64), executor, seen.append)
    reloaded = dataclasses.replace(model)
    other_version = dataclasses.replace(model, version=2)
    request = [dict(r) for r in records[:3]]

    async def first_loop() -> tuple[MicroBatcher, Any]:
        batcher = batchers.for_model(model)
        assert batchers.for_model(model) is batcher
        assert batcher.model is model
        assert batchers.for_model(other_version) is not batcher
        assert batchers.for_model(model) is batcher  # another version leaves it alone
        fresh = batchers.for_model(reloaded)
        assert fresh is not batcher and fresh.model is reloaded
        assert batchers.for_model(reloaded) is fresh
        return fresh, await asyncio.wait_for(fresh.predict(request), TIMEOUT)

    async def second_loop() -> MicroBatcher:
        return batchers.for_model(reloaded)

    fresh, answer = asyncio.run(first_loop())
    assert_same_predictions(answer, alone(model, request), "through Batchers")
    assert seen == [BatchStats(reloaded, 1, 3)]
    assert asyncio.run(second_loop()) is not fresh


def test_one_client_sending_one_request_after_another_never_waits(
    model: LoadedModel, records: Records, executor: ThreadPoolExecutor
) -> None:
    requests = make_requests(records, [1] * 5, seed=21)
    seen: list[BatchStats] = []

    async def main() -> list[Any]:
        batcher = MicroBatcher(model, BatchPolicy(max_wait=HOUR), executor, seen.append)
        # back to back, never two at once; one that waited for company that never came
        # (max_wait) would time out
        return [await asyncio.wait_for(batcher.predict(r), TIMEOUT) for r in requests]

    answers = asyncio.run(main())
    for index, (request, answer) in enumerate(zip(requests, answers, strict=True)):
        assert_same_predictions(answer, alone(model, request), f"request {index}")
    assert [s.requests for s in seen] == [1] * len(requests)
