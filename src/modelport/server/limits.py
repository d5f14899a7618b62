"""The body-size limit of the FastAPI routes (admin, listings), as a pure ASGI middleware.

Predict and score read their bodies themselves, within the same limit
(:func:`modelport.server.asgi.read_body`); this covers everything else, so no route can be
made to buffer an unbounded body. A package upload (``POST /v1/admin/.../versions``) may
be larger: ``max_package_bytes``.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from modelport.errors import MalformedRequest, PayloadTooLarge
from modelport.server.asgi import refuse
from modelport.server.errors import modelport_refusal

__all__ = ["BodyLimitMiddleware", "is_upload"]


def is_upload(scope: Scope) -> bool:
    """A package upload: ``POST /v1/admin/models/{name}/versions``."""
    path: str = scope["path"]
    return (
        scope["method"] == "POST" and path.startswith("/v1/admin/") and path.endswith("/versions")
    )


class BodyTooLarge(HTTPException):
    """A body found over the limit while it is read (no Content-Length: chunked). An
    HTTPException, because FastAPI turns any other error raised while it reads a body
    into "400 There was an error parsing the body"."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            413, f"the body exceeds the limit of {limit} bytes", headers={"connection": "close"}
        )


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int, max_package_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_package_bytes = max_package_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_package_bytes if is_upload(scope) else self.max_body_bytes
        try:
            declared = _content_length(scope)
        except MalformedRequest as refused:
            await refuse(scope, send, modelport_refusal(refused))
            return
        if declared is not None and declared > limit:
            too_large = PayloadTooLarge(f"the body is {declared} bytes, above the limit of {limit}")
            await refuse(scope, send, modelport_refusal(too_large))
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counted, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                raise MalformedRequest("the Content-Length header is not a number") from None
    return None
