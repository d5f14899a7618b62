"""The pool of loaded model versions, keyed by ``(name, version)``.

A version is loaded on first use: its package is opened through the registry (every
digest verified), its scorer built, and it is warmed by re-scoring the package's
reference rows, which also proves parity with the original model, before anyone can
use it. Loading the same version from several threads at once loads it once. A version
that cannot be loaded is remembered for a while so that requests do not hammer the disk.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import pandas as pd

from modelport.errors import ModelportError, NotFound, PackageError
from modelport.orchestrate.spec import OrchestrationSpec
from modelport.package import Package, load_scorer
from modelport.package.reference import check_reference
from modelport.runtime import Scorer

__all__ = ["LoadedModel", "ModelPool", "Opener", "PoolListener", "resident_bytes", "warm"]

logger = logging.getLogger("modelport.serving")

Key = tuple[str, int]
Opener = Callable[[str, int], Package]
"""Opens (and verifies) the package of a model version: ``opener(name, version)``."""

_TIMING_ROWS = 32  # rows of the batch timed at warm-up, next to a single row


@dataclass(frozen=True, slots=True)
class LoadedModel:
    """One verified, warmed model version, ready to answer."""

    name: str
    version: int
    digest: str
    scorer: Scorer
    loaded_at: datetime
    load_seconds: float
    base_seconds: float  # measured at warm-up: scoring n records takes about
    row_seconds: float  # base_seconds + n * row_seconds
    # How much the worker's resident memory grew while loading it: the graph, the runtime's
    # buffers, allocator growth (the first version loaded also carries the runtime's start).
    memory_bytes: int | None
    # where the inputs come from when a caller names an entity (POST /v1/score)
    orchestration: OrchestrationSpec | None = None

    def estimated_seconds(self, n_records: int) -> float:
        return self.base_seconds + n_records * self.row_seconds


class PoolListener(Protocol):
    """Hears of versions entering and leaving the pool (metrics keep their gauges this way)."""

    def loaded(self, model: LoadedModel) -> None: ...

    def unloaded(self, name: str, version: int) -> None: ...


class ModelPool:
    """Loaded versions; reads never block, loads happen once per version."""

    def __init__(self, opener: Opener, *, threads: int = 1, retry_seconds: float = 30.0) -> None:
        self._opener = opener
        self._threads = threads
        self._retry_seconds = retry_seconds
        self.listeners: list[PoolListener] = []
        self._models: dict[Key, LoadedModel] = {}
        self._failures: dict[Key, tuple[float, ModelportError]] = {}
        self._locks: dict[Key, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, name: str, version: int) -> LoadedModel | None:
        """The loaded version, or ``None``; never does any I/O."""
        return self._models.get((name, version))

    def loaded(self) -> dict[Key, LoadedModel]:
        return dict(self._models)

    def failures(self) -> dict[Key, ModelportError]:
        """Versions whose last load failed, with the error."""
        return {key: error for key, (_, error) in self._failures.items()}

    def load(self, name: str, version: int) -> LoadedModel:
        """The version, loading and warming it first if needed (blocking; call from a thread).

        Raises :class:`NotFound` for a version the registry does not have and
        :class:`PackageError` for one that cannot be loaded.
        """
        key = (name, version)
        model = self._models.get(key)
        if model is not None:
            return model
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            model = self._models.get(key)
            if model is not None:
                return model
            failed = self._failures.get(key)
            if failed is not None and time.monotonic() - failed[0] < self._retry_seconds:
                raise _copy(failed[1])
            try:
                model = self._load(name, version)
            except NotFound:
                raise
            except ModelportError as exc:
                self._remember(key, exc)
                raise
            except Exception as exc:  # onnxruntime, pyarrow: anything a broken file can raise
                logger.exception("loading %s version %s failed", name, version)
                error = PackageError(f"{name} version {version} cannot be loaded: {exc}")
                self._remember(key, error)
                raise error from None
            with self._guard:
                self._models = {**self._models, key: model}
                self._failures.pop(key, None)
            for listener in self.listeners:
                listener.loaded(model)
            return model

    def unload(self, name: str, version: int) -> None:
        with self._guard:
            self._models = {k: m for k, m in self._models.items() if k != (name, version)}
            self._locks.pop((name, version), None)
        for listener in self.listeners:
            listener.unloaded(name, version)

    def _remember(self, key: Key, error: ModelportError) -> None:
        logger.error("%s version %s cannot be served: %s", key[0], key[1], error)
        with self._guard:
            self._failures[key] = (time.monotonic(), error)

    def _load(self, name: str, version: int) -> LoadedModel:
        started = time.perf_counter()
        resident_before = resident_bytes()
        package = self._opener(name, version)
        scorer = load_scorer(package, threads=self._threads)
        base, per_row = warm(package, scorer)
        seconds = time.perf_counter() - started
        resident_after = resident_bytes()
        memory = None
        if resident_before is not None and resident_after is not None:
            memory = max(0, resident_after - resident_before)
        logger.info("loaded %s version %s in %.2f s", name, version, seconds)
        return LoadedModel(
            name=name,
            version=version,
            digest=package.digest,
            scorer=scorer,
            loaded_at=datetime.now(UTC),
            load_seconds=seconds,
            base_seconds=base,
            row_seconds=per_row,
            memory_bytes=memory,
            orchestration=package.manifest.orchestration,
        )


def resident_bytes() -> int | None:
    """This process's resident memory (Linux ``/proc``), or ``None`` where it cannot be read."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


def warm(package: Package, scorer: Scorer) -> tuple[float, float]:
    """Re-score the reference rows (proving parity), then time one row and a small batch.

    Returns ``(base_seconds, row_seconds)``: scoring ``n`` records takes about
    ``base_seconds + n * row_seconds`` on this machine.
    """
    check_reference(package, scorer)
    inputs = package.reference()[scorer.contract.names]
    records = _records(inputs.head(_TIMING_ROWS))
    if not records:
        return 0.0, 0.0

    # reference rows hold what the model takes (after any pre-steps), so no steps run; a
    # contract tightened since they were recorded must not stop the timing
    def score(rows: list[dict[str, Any]]) -> None:
        scorer.score(scorer.validate(rows, steps=False, check_domain=False)).answers()

    one = _best(lambda: score(records[:1]))
    many = _best(lambda: score(records))
    return _fit(one, many, len(records))


def _fit(one: float, many: float, n: int) -> tuple[float, float]:
    per_row = max(0.0, (many - one) / (n - 1)) if n > 1 else 0.0
    return max(0.0, one - per_row), per_row


def _best(action: Callable[[], object], repeat: int = 3) -> float:
    best = math.inf
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - started)
    return best


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Reference rows as JSON-like records: missing values as ``null``."""
    cleaned = frame.astype(object).where(frame.notna(), None)
    return [{str(k): v for k, v in row.items()} for row in cleaned.to_dict("records")]


def _copy(error: ModelportError) -> ModelportError:
    """A fresh instance to raise again (the remembered one keeps its first traceback)."""
    return type(error)(error.message, list(error.errors))
