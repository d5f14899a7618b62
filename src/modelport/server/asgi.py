"""What the bare ASGI endpoints (predict, score) share: reading a JSON body within its size
limit, and turning every refusal into the same envelope as the rest of the API
(:mod:`modelport.server.errors`). Finding the version that answers is the dataplane's
(:mod:`modelport.serving.dataplane`).

No framework request or response objects on these paths: they cost more than the model.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.types import Receive, Scope, Send

from modelport.errors import (
    InvalidInput,
    MalformedRequest,
    ModelportError,
    PayloadTooLarge,
    RequestTimeout,
)
from modelport.server.deadlines import Deadlines
from modelport.server.errors import (
    ERROR_CODE_KEY,
    HttpError,
    Refusal,
    http_refusal,
    modelport_refusal,
)
from modelport.serving.dataplane import JsonLimits, LoadedModel

__all__ = [
    "ENDPOINT_KEY",
    "JsonEndpoint",
    "MODEL_HEADER",
    "MODEL_KEY",
    "RequestLimits",
    "SCORED_KEY",
    "check_method_and_media_type",
    "model_label",
    "read_body",
    "refusal_for",
    "refuse",
    "send_json",
]

MODEL_HEADER = "x-model-version"  # "<name>:<version>" of the version that answered
SCORED_KEY = "modelport.scored"  # scope key: (inputs, outputs, entity), for the prediction log
ENDPOINT_KEY = "modelport.endpoint"  # scope key: "predict" or "score", for metrics
MODEL_KEY = "modelport.model"  # scope key: the LoadedModel that answered, for logs and metrics
_JSON_HEADERS = [(b"content-type", b"application/json")]


@dataclass(frozen=True, slots=True)
class RequestLimits:
    """What one predict or score request may cost: body bytes, records, JSON shape, time."""

    max_body_bytes: int = 10 * 1024 * 1024
    max_records: int = 10_000
    json: JsonLimits = field(default_factory=JsonLimits)
    timeout: float = 30.0


class JsonEndpoint(ABC):
    """A POST endpoint answering a JSON body with a model's answer: the checks, the body
    read within its limits, the time limit and every refusal are here; :meth:`answer` is
    the endpoint's own.
    """

    def __init__(self, limits: RequestLimits) -> None:
        self.limits = limits
        self.deadlines = Deadlines(limits.timeout)
        self.keep_scored = False  # the prediction log is on: leave what was scored on the scope

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        reading = True
        task = self.deadlines.enter()
        try:
            check_method_and_media_type(scope)
            body = await read_body(scope, receive, self.limits.max_body_bytes)
            if body is None:
                return  # the client went away
            reading = False
            answer, model = await self.answer(scope, body)
        except asyncio.CancelledError:
            if not self.deadlines.expired(task):
                raise  # the client went away, or the server is stopping
            task.uncancel()  # type: ignore[union-attr]  # expired() implies a task
            await refuse(scope, send, modelport_refusal(self._timeout(reading)))
            return
        except Exception as exc:
            refusal = refusal_for(exc, scope.get(MODEL_KEY))
            if refusal is None:
                raise
            await refuse(scope, send, refusal)
            return
        finally:
            self.deadlines.leave(task)
        await send_json(send, answer, model)

    def _timeout(self, reading: bool) -> RequestTimeout:
        limit = f"{self.limits.timeout:g} s"
        if reading:
            return RequestTimeout(f"the request body did not arrive within {limit}", reading=True)
        return RequestTimeout(f"the answer took longer than {limit}")

    @abstractmethod
    async def answer(self, scope: Scope, body: bytes) -> tuple[dict[str, Any], LoadedModel]:
        """The answer and the version that gave it; puts the version on the scope
        (``MODEL_KEY``) as soon as it is known, so refusals and logs name it."""


def model_label(model: LoadedModel) -> str:
    return f"{model.name}:{model.version}"


def check_method_and_media_type(scope: Scope) -> None:
    """Only ``POST`` with a JSON body (or none declared) gets further."""
    if scope["method"] != "POST":
        raise HttpError(
            405,
            "method_not_allowed",
            f"method {scope['method']} is not allowed here",
            {"allow": "POST"},
        )
    content_type = _header(scope, b"content-type")
    if content_type is None:
        return
    media = content_type.split(b";", 1)[0].strip().lower()
    if media == b"application/json" or (
        media.startswith(b"application/") and media.endswith(b"+json")
    ):
        return
    shown = content_type[:100].decode("latin-1")
    raise HttpError(
        415,
        "unsupported_media_type",
        f"send JSON (Content-Type: application/json), not {shown!r}",
    )


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes | None:
    """The whole body, refused with :class:`PayloadTooLarge` as soon as it exceeds ``limit``.

    The declared Content-Length is checked before reading; the bytes are counted while
    reading too, so a chunked body (or a lying header) cannot get past the limit.
    ``None`` when the client disconnected before sending it all.
    """
    declared = _header(scope, b"content-length")
    if declared is not None:
        try:
            length = int(declared)
        except ValueError:
            raise MalformedRequest("the Content-Length header is not a number") from None
        if length > limit:
            raise PayloadTooLarge(f"the body is {length} bytes, above the limit of {limit}")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def refusal_for(error: Exception, model: LoadedModel | None) -> Refusal | None:
    """The answer to an error the endpoint expects; ``None`` for a real fault (re-raise it:
    the request context logs it and answers a bare 500)."""
    if isinstance(error, InvalidInput):
        headers = {} if model is None else {MODEL_HEADER: model_label(model)}
        return modelport_refusal(error, headers)
    if isinstance(error, ModelportError):
        return modelport_refusal(error)
    if isinstance(error, HttpError):
        return http_refusal(error)
    if isinstance(error, RecursionError):  # a value nested a thousand levels deep
        return modelport_refusal(MalformedRequest("the request body is nested too deeply"))
    return None


async def refuse(scope: Scope, send: Send, refusal: Refusal) -> None:
    scope[ERROR_CODE_KEY] = refusal.code
    headers = [*_JSON_HEADERS]
    headers += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in refusal.headers.items()]
    await _send(send, refusal.status, orjson.dumps(refusal.envelope), headers)


async def send_json(send: Send, answer: Any, model: LoadedModel) -> None:
    """A 200 with ``answer`` as JSON and the header naming the version that answered."""
    headers = [*_JSON_HEADERS, (MODEL_HEADER.encode(), model_label(model).encode())]
    await _send(send, 200, orjson.dumps(answer), headers)


async def _send(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    headers.append((b"content-length", str(len(body)).encode("ascii")))
    start: dict[str, Any] = {"type": "http.response.start", "status": status, "headers": headers}
    await send(start)
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None
