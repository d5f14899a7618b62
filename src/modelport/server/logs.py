"""Structured logs: one JSON object per line, written by a background thread.

    {"time": "2026-11-21T09:12:03.512Z", "level": "info", "logger": "modelport.access",
     "message": "POST /v1/models/loan-approval/predict 200", "request_id": "5f0c...",
     "method": "POST", "path": "/v1/models/loan-approval/predict", "status": 200,
     "duration_ms": 1.27, "model": "loan-approval", "version": 3, "client": "10.0.0.7",
     "pid": 4242}

Request handling only puts the record on a queue (:class:`logging.handlers.QueueHandler`);
formatting and writing happen in a listener thread, so a slow terminal or disk never
holds up an answer. Every line written while a request runs carries its request id.
``MODELPORT_LOG_FORMAT=text`` gives plain lines for a terminal.
"""

from __future__ import annotations

import atexit
import logging
import logging.handlers
import queue
import sys
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.types import Scope

from modelport.server.context import REQUEST_ID, REQUEST_ID_KEY
from modelport.server.errors import ERROR_CODE_KEY
from modelport.server.predict import MODEL_KEY

__all__ = ["AccessLog", "JsonFormatter", "configure_logging"]

ACCESS_LOGGER = "modelport.access"
# LogRecord's own attributes, and uvicorn's colour copy of its message: not extra fields.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "color_message",
}
_listener: logging.handlers.QueueListener | None = None


class JsonFormatter(logging.Formatter):
    """A record as one JSON line: time, level, logger, message, request id, extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,  # which worker
        }
        entry.update(
            (key, value)
            for key, value in vars(record).items()
            if key not in _STANDARD and not key.startswith("_")
        )
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class _RequestIdFilter(logging.Filter):
    """Stamps the running request's id on records made while it runs (in its own thread)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            request_id = REQUEST_ID.get()
            if request_id is not None:
                record.request_id = request_id
        return True


class _DeferredQueueHandler(logging.handlers.QueueHandler):
    """Queues the record as it is: formatting waits for the listener thread."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        return record


def configure_logging(log_format: str = "json", level: str = "info") -> None:
    """Route every logger (modelport's, uvicorn's) through one queue to standard error."""
    global _listener
    if _listener is not None:
        _listener.stop()
    output = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        output.setFormatter(JsonFormatter())
    else:
        output.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    handler = _DeferredQueueHandler(records)
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers = []
        # uvicorn's access log would be a second, slower line per request: modelport's own
        # (AccessLog) replaces it. uvicorn decides per connection from hasHandlers().
        uvicorn_logger.propagate = name != "uvicorn.access"
    _listener = logging.handlers.QueueListener(records, output, respect_handler_level=False)
    _listener.start()
    atexit.register(_stop)


def _stop() -> None:
    global _listener
    if _listener is not None:
        _listener.stop()  # writes what is still queued
        _listener = None


class AccessLog:
    """A request observer writing one access line per answered request."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger or logging.getLogger(ACCESS_LOGGER)

    def __call__(self, scope: Scope, status: int, seconds: float) -> None:
        if not self.logger.isEnabledFor(logging.INFO):
            return
        method = scope.get("method", "")
        path = scope.get("path", "")
        fields: dict[str, Any] = {
            "request_id": scope.get(REQUEST_ID_KEY),
            "method": method,
            "path": path[:300],
            "status": status,
            "duration_ms": round(seconds * 1000, 3),
        }
        model = scope.get(MODEL_KEY)
        if model is not None:
            fields["model"] = model.name
            fields["version"] = model.version
        code = scope.get(ERROR_CODE_KEY)
        if code is not None:
            fields["code"] = code
        client = scope.get("client")
        if client:
            fields["client"] = client[0]
        self.logger.info("%s %s %s", method, path[:300], status, extra=fields)
