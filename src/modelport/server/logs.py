"""Structured logs: one JSON object per line, written by a background thread.

    {"time": "2026-11-21T09:12:03.512Z", "level": "info", "logger": "modelport.access",
     "message": "POST /v1/models/loan-approval/predict 200", "request_id": "5f0c...",
     "method": "POST", "path": "/v1/models/loan-approval/predict", "status": 200,
     "duration_ms": 1.27, "model": "loan-approval", "version": 3, "client": "10.0.0.7",
     "pid": 4242}

Request handling only puts the record on a queue (:class:`logging.handlers.QueueHandler`);
formatting and writing happen in a listener thread, so a slow terminal or disk never
holds up an answer. Access lines, one per request, take an even lighter path
(:class:`AccessLog`): a tuple on a deque, written in bulk every 50 ms.
Every line written while a request runs carries its request id.
``MODELPORT_LOG_FORMAT=text`` gives plain lines for a terminal.
"""

from __future__ import annotations

import atexit
import logging
import logging.handlers
import os
import queue
import sys
import threading
import time
from collections import deque
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson
from starlette.types import Scope

from modelport.server.asgi import MODEL_KEY
from modelport.server.context import REQUEST_ID, REQUEST_ID_KEY
from modelport.server.errors import ERROR_CODE_KEY

__all__ = ["AccessLog", "JsonFormatter", "configure_logging"]

ACCESS_LOGGER = "modelport.access"
# LogRecord's own attributes, and uvicorn's colour copy of its message: not extra fields.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "color_message",
}
_listener: logging.handlers.QueueListener | None = None
_output: logging.StreamHandler[TextIO] | None = None  # where configured logs are written
_format = "json"
_CHUNK = 32  # access lines per write


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
    global _listener, _output, _format
    if _listener is not None:
        _listener.stop()
    output = logging.StreamHandler(sys.stderr)
    _output, _format = output, log_format
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
    """A request observer: one access line per answered request, written in bulk.

    Access lines are the one log stream as busy as the traffic, so they skip the logging
    machinery: answering a request appends a tuple to a deque (well under a microsecond),
    and a background thread turns what has gathered into JSON lines every
    ``interval`` seconds and writes them a few dozen at a time. Lines are the same shape as every
    other log line (logger ``modelport.access``).
    """

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self._entries: deque[tuple[Any, ...]] = deque()
        self._wake = threading.Event()
        self._closed = False
        self._pid = os.getpid()
        self._thread: threading.Thread | None = None  # started by the first request

    def __call__(self, scope: Scope, status: int, seconds: float) -> None:
        if self._thread is None:
            self._start()
        self._entries.append(
            (
                time.time(),
                scope.get(REQUEST_ID_KEY),
                scope.get("method", ""),
                scope.get("path", ""),
                status,
                seconds,
                scope.get(MODEL_KEY),
                scope.get(ERROR_CODE_KEY),
                scope.get("client"),
            )
        )

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="modelport-access", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def close(self) -> None:
        """Write what is pending and stop (at shutdown)."""
        if not self._closed:
            self._closed = True
            self._wake.set()
            if self._thread is not None:
                self._thread.join(5)
            else:
                self._write()

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self.interval)
            self._write()
        self._write()

    def _write(self) -> None:
        # A few dozen lines per write: each write releases the GIL, so the event loop never
        # waits long behind this thread (a long formatting run would hold the GIL for up to
        # the interpreter's 5 ms switch interval, straight into request latency).
        entries = self._entries
        if _output is None:
            self._hand_to_logging()  # modelport is embedded: the host's logging decides
            return
        while entries:
            lines = [self._line(entries.popleft()) for _ in range(min(len(entries), _CHUNK))]
            self._emit("\n".join(lines) + "\n")

    def _hand_to_logging(self) -> None:
        logger = logging.getLogger(ACCESS_LOGGER)
        while self._entries:
            fields = self._fields(self._entries.popleft())
            logger.info(fields.pop("message"), extra=fields)

    def _emit(self, text: str) -> None:
        handler = _output
        if handler is None:
            return
        handler.acquire()  # no line of the logging thread's in the middle of ours
        try:
            handler.stream.write(text)
            handler.stream.flush()
        except (OSError, ValueError):  # stderr closed at exit: nothing left to tell
            pass
        finally:
            handler.release()

    def _line(self, entry: tuple[Any, ...]) -> str:
        fields = self._fields(entry)
        if _format == "text":
            return (
                f"{fields['time']} INFO {ACCESS_LOGGER}: {fields['message']} "
                f"{fields['duration_ms']} ms {fields['request_id']}"
            )
        return orjson.dumps(
            {"time": fields.pop("time"), "level": "info", "logger": ACCESS_LOGGER, **fields}
        ).decode()

    def _fields(self, entry: tuple[Any, ...]) -> dict[str, Any]:
        created, request_id, method, path, status, seconds, model, code, client = entry
        path = path[:300]
        fields: dict[str, Any] = {
            "time": datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds"),
            "message": f"{method} {path} {status}",
            "pid": self._pid,
            "request_id": request_id,
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": round(seconds * 1000, 3),
        }
        if model is not None:
            fields["model"] = model.name
            fields["version"] = model.version
        if code is not None:
            fields["code"] = code
        if client:
            fields["client"] = client[0]
        return fields
