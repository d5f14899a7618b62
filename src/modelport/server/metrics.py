"""Prometheus metrics at ``GET /metrics``, per model and version.

    modelport_requests_total{model,version,status}        predict requests answered
    modelport_errors_total{model,version,code}            refusals and failures, by error code
    modelport_request_duration_seconds{model,version}     latency histogram (server side)
    modelport_batch_rows{model,version}                   rows per runtime call
    modelport_batch_requests{model,version}               requests per runtime call
    modelport_model_loaded{model,version}                 1 while the version is loaded
    modelport_model_memory_bytes{model,version}           resident memory the version took
    modelport_model_load_seconds{model,version}           time to load, verify and warm it

Predict requests that never reached a model (an unknown name, a malformed body before
the model was resolved) are counted with empty ``model`` and ``version`` labels, so a
client cannot grow the number of series by inventing names.

With several worker processes the numbers are kept in prometheus_client's
multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, set up by ``modelport serve``), so a
scrape of any worker reports the whole server. Recording a request costs one dictionary
lookup and three increments; label children are cached.
"""

from __future__ import annotations

import os
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

from modelport.server.errors import ERROR_CODE_KEY
from modelport.server.predict import MODEL_KEY, ROUTE_KEY
from modelport.serving.batching import BatchStats
from modelport.serving.pool import LoadedModel

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
_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384)

REQUESTS = Counter("modelport_requests", "Predict requests answered", [*_LABELS, "status"])
ERRORS = Counter("modelport_errors", "Predict requests refused or failed", [*_LABELS, "code"])
LATENCY = Histogram(
    "modelport_request_duration_seconds",
    "Time from a predict request's arrival to its answer, server side",
    _LABELS,
    buckets=_LATENCY_BUCKETS,
)
BATCH_ROWS = Histogram(
    "modelport_batch_rows", "Rows scored per runtime call", _LABELS, buckets=_SIZE_BUCKETS
)
BATCH_REQUESTS = Histogram(
    "modelport_batch_requests", "Requests scored per runtime call", _LABELS, buckets=_SIZE_BUCKETS
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
    """Records requests, batches and loaded versions; the observers the server installs."""

    def __init__(self) -> None:
        # Label children, looked up once: (name, version, status) -> (requests, latency).
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._errors: dict[tuple[str, str, str], Any] = {}
        self._batches: dict[tuple[str, int], tuple[Any, Any]] = {}

    def request(self, scope: Scope, status: int, seconds: float) -> None:
        """A request observer (see :mod:`modelport.server.context`): predict requests only."""
        if ROUTE_KEY not in scope:
            return
        model: LoadedModel | None = scope.get(MODEL_KEY)
        name, version = ("", "") if model is None else (model.name, str(model.version))
        key = (name, version, status)
        children = self._children.get(key)
        if children is None:
            labels = (name, version)
            children = (REQUESTS.labels(*labels, str(status)), LATENCY.labels(*labels))
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)
        if status >= 400:
            code = scope.get(ERROR_CODE_KEY) or ("internal_error" if status >= 500 else "")
            error_key = (name, version, code)
            errors = self._errors.get(error_key)
            if errors is None:
                errors = self._errors[error_key] = ERRORS.labels(*error_key)
            errors.inc()

    def batch(self, stats: BatchStats) -> None:
        """A batch observer (see :mod:`modelport.serving.batching`)."""
        key = (stats.model.name, stats.model.version)
        histograms = self._batches.get(key)
        if histograms is None:
            labels = (stats.model.name, str(stats.model.version))
            histograms = (BATCH_ROWS.labels(*labels), BATCH_REQUESTS.labels(*labels))
            self._batches[key] = histograms
        histograms[0].observe(stats.rows)
        histograms[1].observe(stats.requests)

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


def render_metrics() -> bytes:
    """The exposition text: every worker's numbers in multiprocess mode, else this process's."""
    if os.environ.get(MULTIPROCESS_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def forget_this_process() -> None:
    """At a worker's exit: its live gauges (loaded versions, memory) leave the totals."""
    if os.environ.get(MULTIPROCESS_ENV):
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
