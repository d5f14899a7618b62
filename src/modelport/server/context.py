"""Per-request context: a request id on every response, and no stack trace ever sent.

A pure ASGI middleware (no per-request task or body copy). The client's ``X-Request-ID``
is echoed if it is a short safe token; otherwise one is generated, and it is visible to
every log line written while the request runs (:data:`REQUEST_ID`). An exception nothing
else handled is logged with the request id and answered with a bare 500 envelope. When
the answer has gone out, observers (access log, metrics) hear of it.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Sequence
from contextvars import ContextVar

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "REQUEST_ID",
    "REQUEST_ID_HEADER",
    "REQUEST_ID_KEY",
    "RequestContextMiddleware",
    "RequestObserver",
]

logger = logging.getLogger("modelport.server")

REQUEST_ID_HEADER = "x-request-id"
_HEADER = REQUEST_ID_HEADER.encode("latin-1")
_SAFE_ID = re.compile(rb"[A-Za-z0-9._:-]{1,64}")
REQUEST_ID_KEY = "modelport.request_id"  # scope key
REQUEST_ID: ContextVar[str | None] = ContextVar("modelport_request_id", default=None)

RequestObserver = Callable[[Scope, int, float], None]
"""Told ``(scope, status, seconds)`` once a request has been answered (status 0: no answer)."""


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, observers: Sequence[RequestObserver] = ()) -> None:
        self.app = app
        self.observers = tuple(observers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        request_id = _incoming_id(scope) or os.urandom(8).hex().encode("ascii")
        text_id = request_id.decode("ascii")
        scope[REQUEST_ID_KEY] = text_id
        REQUEST_ID.set(text_id)  # each request runs in its own task: the value stays its own
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (_HEADER, request_id)]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            logger.exception(
                "unhandled error answering %s %s (request %s)",
                scope.get("method"),
                scope.get("path"),
                text_id,
            )
            if status:
                raise  # the response is under way: all the server can do is drop the connection
            await _internal_error(send_with_id, text_id)
        finally:
            if self.observers:
                seconds = time.perf_counter() - began
                for observe in self.observers:
                    observe(scope, status, seconds)


def _incoming_id(scope: Scope) -> bytes | None:
    for name, value in scope["headers"]:
        if name == _HEADER:
            return value if _SAFE_ID.fullmatch(value) else None
    return None


async def _internal_error(send: Send, request_id: str) -> None:
    body = orjson.dumps(
        {
            "success": False,
            "code": "internal_error",
            "message": "internal error",
            "request_id": request_id,
        }
    )
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode("ascii")),
    ]
    await send({"type": "http.response.start", "status": 500, "headers": headers})
    await send({"type": "http.response.body", "body": body})
