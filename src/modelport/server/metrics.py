"""Prometheus metrics at ``GET /metrics``, per model and version.

    modelport_requests_total{model,version,status}        predict requests answered
    modelport_errors_total{model,version,code}            refusals and failures, by error code
    modelport_request_duration_seconds{model,version}     latency histogram (server side)
    modelport_batch_rows{model,version}                   rows per runtime call
    modelport_batch_requests{model,version}               requests per runtime call
    modelport_model_loaded{model,version}                 1 while the version is loaded
    modelport_model_memory_bytes{model,version}           resident memory the version took
    modelport_model_load_seconds{model,version}           time to load, verify and warm it
    modelport_input_warnings_total{model,version}         answered records with a warning
                                                          (a value outside the expected range)
    modelport_enrichment_cache_lookups_total{result}      /v1/score source rows: hit or miss
    modelport_enrichment_cache_evictions_total            rows dropped to keep the cache bounded

Predict requests that never reached a model (an unknown name, a malformed body before
the model was resolved) are counted with empty ``model`` and ``version`` labels, so a
client cannot grow the number of series by inventing names.

With several worker processes the numbers are kept in prometheus_client's
multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, set up by ``modelport serve``), so a
scrape of any worker reports the whole server. Recording a request on the hot path is one
deque append; a background thread folds the numbers in five times a second, a short chunk
at a time (a scrape folds its own worker's first; other workers' are at most 0.2 s old).
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.types import Scope

from modelport.orchestrate.cache import CacheStats, EnrichmentCache
from modelport.server.asgi import ENDPOINT_KEY, MODEL_KEY
from modelport.server.errors import ERROR_CODE_KEY
from modelport.serving.dataplane import BatchStats, LoadedModel

__all__ = [
    "CONTENT_TYPE",
    "MULTIPROCESS_ENV",
    "ServerMetrics",
    "forget_this_process",
    "render_metrics",
]

CONTENT_TYPE = CONTENT_TYPE_LATEST
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
_LABELS = ("model", "version")
_LATENCY_BUCKETS = (
    0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
)  # fmt: skip
_FOLD_CHUNK = 128  # observations folded between two GIL releases
_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384)

# endpoint: "predict" (/v1/models/.../predict) or "score" (/v1/score)
REQUESTS = Counter(
    "modelport_requests", "Scoring requests answered", ["endpoint", *_LABELS, "status"]
)
ERRORS = Counter(
    "modelport_errors", "Scoring requests refused or failed", ["endpoint", *_LABELS, "code"]
)
LATENCY = Histogram(
    "modelport_request_duration_seconds",
    "Time from a scoring request's arrival to its answer, server side",
    ["endpoint", *_LABELS],
    buckets=_LATENCY_BUCKETS,
)
BATCH_ROWS = Histogram(
    "modelport_batch_rows", "Rows scored per runtime call", _LABELS, buckets=_SIZE_BUCKETS
)
BATCH_REQUESTS = Histogram(
    "modelport_batch_requests", "Requests scored per runtime call", _LABELS, buckets=_SIZE_BUCKETS
)
INPUT_WARNINGS = Counter(
    "modelport_input_warnings",
    "Answered records whose answer carries warnings (a value outside the expected range)",
    _LABELS,
)
CACHE_LOOKUPS = Counter(
    "modelport_enrichment_cache_lookups",
    "Feature-source rows looked up in the enrichment cache, by result (hit or miss)",
    ["result"],
)
CACHE_EVICTIONS = Counter(
    "modelport_enrichment_cache_evictions", "Rows the enrichment cache dropped to stay bounded"
)
LOADED = Gauge(
    "modelport_model_loaded", "1 while the version is loaded", _LABELS, multiprocess_mode="livemax"
)
MEMORY = Gauge(
    "modelport_model_memory_bytes",
    "Resident memory a loaded version took (per worker process)",
    _LABELS,
    multiprocess_mode="livemax",
)
LOAD_SECONDS = Gauge(
    "modelport_model_load_seconds",
    "Seconds to load, verify and warm the version",
    _LABELS,
    multiprocess_mode="livemax",
)


class ServerMetrics:
    """Records requests, batches, warnings and loaded versions: a request observer of the
    server and the dataplane's listener (:class:`~modelport.serving.dataplane.DataplaneListener`).

    Answering a request only appends a tuple to a deque; a background thread folds what
    has gathered into the Prometheus metrics every ``interval`` seconds (and a scrape
    folds first), so the event loop never spends its time on label lookups and locks.
    """

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self._requests: deque[tuple[str, LoadedModel | None, int, float, str | None]] = deque()
        self._batches: deque[BatchStats] = deque()
        self._warnings: deque[tuple[LoadedModel, int]] = deque()
        self._warning_children: dict[tuple[str, int], Any] = {}
        self._children: dict[tuple[str, str, str, int], tuple[Any, Any]] = {}
        self._errors: dict[tuple[str, str, str, str], Any] = {}
        self._batch_children: dict[tuple[str, int], tuple[Any, Any]] = {}
        self._folding = threading.Lock()
        self._thread: threading.Thread | None = None
        self._cache: EnrichmentCache | None = None
        self._cache_seen = CacheStats(0, 0, 0, 0)

    def watch_cache(self, cache: EnrichmentCache) -> None:
        """Report ``cache``'s hits, misses and evictions (folded in with the rest)."""
        self._cache = cache

    def request(self, scope: Scope, status: int, seconds: float) -> None:
        """A request observer (see :mod:`modelport.server.context`): scoring requests only."""
        endpoint = scope.get(ENDPOINT_KEY)
        if endpoint is not None:
            self._requests.append(
                (endpoint, scope.get(MODEL_KEY), status, seconds, scope.get(ERROR_CODE_KEY))
            )
            if self._thread is None:
                self._start()

    def batch(self, stats: BatchStats) -> None:
        """A batch observer (see :mod:`modelport.serving.batching`)."""
        self._batches.append(stats)

    def input_warnings(self, model: LoadedModel, records: int) -> None:
        """``records`` answers of one request carried warnings (see the dataplane)."""
        self._warnings.append((model, records))

    def fold(self) -> None:
        """Move what the observers gathered into the Prometheus metrics.

        Observations are grouped first, so a counter is touched once per series; only the
        histograms need one call per observation.
        """
        with self._folding:
            # keyed by the model's identity: a LoadedModel's own hash would hash its fields
            groups: dict[
                tuple[str, int, int, str | None], tuple[LoadedModel | None, list[float]]
            ] = {}
            popleft = self._requests.popleft
            for done in range(len(self._requests)):
                if done and done % _FOLD_CHUNK == 0:
                    time.sleep(0)  # let the event loop have the GIL between chunks
                endpoint, model, status, seconds, code = popleft()
                group = groups.get((endpoint, id(model), status, code))
                if group is None:
                    group = groups[endpoint, id(model), status, code] = (model, [])
                group[1].append(seconds)
            for (endpoint, _, status, code), (model, latencies) in groups.items():
                self._fold_requests(endpoint, model, status, code, latencies)
            batches = self._batches
            for _ in range(len(batches)):
                model, requests, rows = batches.popleft()
                histograms = self._batch_histograms(model)
                histograms[0].observe(rows)
                histograms[1].observe(requests)
            warnings = self._warnings
            for _ in range(len(warnings)):
                model, records = warnings.popleft()
                self._warning_counter(model).inc(records)
            if self._cache is not None:
                self._fold_cache(self._cache.stats())

    def _fold_cache(self, now: CacheStats) -> None:
        seen, self._cache_seen = self._cache_seen, now
        if now.hits > seen.hits:
            CACHE_LOOKUPS.labels("hit").inc(now.hits - seen.hits)
        if now.misses > seen.misses:
            CACHE_LOOKUPS.labels("miss").inc(now.misses - seen.misses)
        if now.evictions > seen.evictions:
            CACHE_EVICTIONS.inc(now.evictions - seen.evictions)

    def _fold_requests(
        self,
        endpoint: str,
        model: LoadedModel | None,
        status: int,
        code: str | None,
        latencies: list[float],
    ) -> None:
        name, version = ("", "") if model is None else (model.name, str(model.version))
        key = (endpoint, name, version, status)
        children = self._children.get(key)
        if children is None:
            children = (
                REQUESTS.labels(endpoint, name, version, str(status)),
                LATENCY.labels(endpoint, name, version),
            )
            self._children[key] = children
        children[0].inc(len(latencies))
        observe = children[1].observe
        for seconds in latencies:
            observe(seconds)
        if status >= 400:
            error_key = (
                endpoint,
                name,
                version,
                code or ("internal_error" if status >= 500 else ""),
            )
            error = self._errors.get(error_key)
            if error is None:
                error = self._errors[error_key] = ERRORS.labels(*error_key)
            error.inc(len(latencies))

    def _batch_histograms(self, model: LoadedModel) -> tuple[Any, Any]:
        key = (model.name, model.version)
        histograms = self._batch_children.get(key)
        if histograms is None:
            labels = (model.name, str(model.version))
            histograms = (BATCH_ROWS.labels(*labels), BATCH_REQUESTS.labels(*labels))
            self._batch_children[key] = histograms
        return histograms

    def _warning_counter(self, model: LoadedModel) -> Any:
        key = (model.name, model.version)
        counter = self._warning_children.get(key)
        if counter is None:
            counter = INPUT_WARNINGS.labels(model.name, str(model.version))
            self._warning_children[key] = counter
        return counter

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="modelport-metrics", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(self.interval)
            self.fold()

    def loaded(self, model: LoadedModel) -> None:
        """A pool listener: a version is ready."""
        labels = (model.name, str(model.version))
        LOADED.labels(*labels).set(1)
        LOAD_SECONDS.labels(*labels).set(model.load_seconds)
        if model.memory_bytes is not None:
            MEMORY.labels(*labels).set(model.memory_bytes)

    def unloaded(self, name: str, version: int) -> None:
        labels = (name, str(version))
        LOADED.labels(*labels).set(0)
        MEMORY.labels(*labels).set(0)


def render_metrics(metrics: ServerMetrics | None = None) -> bytes:
    """The exposition text: every worker's numbers in multiprocess mode, else this process's."""
    if metrics is not None:
        metrics.fold()
    if os.environ.get(MULTIPROCESS_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def forget_this_process() -> None:
    """At a worker's exit: its live gauges (loaded versions, memory) leave the totals."""
    if os.environ.get(MULTIPROCESS_ENV):
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
