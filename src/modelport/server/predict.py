"""``POST /v1/models/.../predict``: the hot path, as a bare ASGI endpoint.

Every request pays only for what it needs: the path is split (no route table), the body
is read straight from the ASGI channel (size-checked while it streams in), decoded with
orjson, and handed with its model version to that version's micro-batcher, which
validates and scores it together with whatever else arrived meanwhile. No framework
request or response objects, no dependency injection, no exception-middleware layers.
Errors become the same envelope as everywhere else (:mod:`modelport.server.errors`).

    /v1/models/{name}/predict                     the production alias
    /v1/models/{name}/aliases/{alias}/predict     an alias
    /v1/models/{name}/versions/{version}/predict  a version
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from anyio import to_thread
from starlette.types import Receive, Scope, Send

from modelport.errors import InvalidInput, MalformedRequest, ModelportError, PayloadTooLarge
from modelport.server.errors import (
    ERROR_CODE_KEY,
    HttpError,
    Refusal,
    http_refusal,
    modelport_refusal,
)
from modelport.serving import LoadedModel, ServingService, parse_records, version_number
from modelport.serving.batching import Batchers

__all__ = [
    "MODEL_HEADER",
    "MODEL_KEY",
    "SCORED_KEY",
    "PredictEndpoint",
    "PredictRoute",
    "match_predict",
]

MODEL_HEADER = "x-model-version"  # "<name>:<version>" of the version that answered
SCORED_KEY = "modelport.scored"  # scope key: (inputs, outputs, entity), for the prediction log
MODEL_KEY = "modelport.model"  # scope key: the LoadedModel that answered, for logs and metrics
ROUTE_KEY = "modelport.predict"  # scope key: the matched PredictRoute
_PREFIX = "/v1/models/"
_JSON_HEADERS = [(b"content-type", b"application/json")]


@dataclass(frozen=True, slots=True)
class PredictRoute:
    name: str
    alias: str | None = None
    version: str | None = None  # the raw URL segment


def match_predict(path: str) -> PredictRoute | None:
    """The predict route ``path`` names, or ``None`` if it is not a predict path."""
    if not path.startswith(_PREFIX) or not path.endswith("/predict"):
        return None
    parts = path[len(_PREFIX) : -len("/predict")].split("/")
    if not all(parts):
        return None
    if len(parts) == 1:
        return PredictRoute(parts[0])
    if len(parts) == 3 and parts[1] == "aliases":
        return PredictRoute(parts[0], alias=parts[2])
    if len(parts) == 3 and parts[1] == "versions":
        return PredictRoute(parts[0], version=parts[2])
    return None


class PredictEndpoint:
    """Resolve, read, decode, batch, answer; an ASGI app for the scopes ``match_predict`` took."""

    def __init__(
        self, service: ServingService, batchers: Batchers, max_body_bytes: int, max_records: int
    ) -> None:
        self.service = service
        self.batchers = batchers
        self.max_body_bytes = max_body_bytes
        self.max_records = max_records
        self.keep_scored = False  # the prediction log is on: leave what was scored on the scope

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route: PredictRoute = scope[ROUTE_KEY]
        model: LoadedModel | None = None
        try:
            if scope["method"] != "POST":
                raise HttpError(
                    405,
                    "method_not_allowed",
                    f"method {scope['method']} is not allowed here",
                    {"allow": "POST"},
                )
            _check_media_type(scope)
            body = await _read_body(scope, receive, self.max_body_bytes)
            if body is None:
                return  # the client went away
            model = await self._model(route)
            scope[MODEL_KEY] = model
            records = parse_records(body, self.max_records)
            predictions = await self.batchers.for_model(model).predict(records.items)
            if self.keep_scored:
                scope[SCORED_KEY] = (records.items, predictions, None)
        except InvalidInput as exc:
            headers = {} if model is None else {MODEL_HEADER: _label(model)}
            await _refuse(scope, send, modelport_refusal(exc, headers))
            return
        except ModelportError as exc:
            await _refuse(scope, send, modelport_refusal(exc))
            return
        except HttpError as exc:
            await _refuse(scope, send, http_refusal(exc))
            return
        except RecursionError:  # a value nested a thousand levels deep
            error = MalformedRequest("the request body is nested too deeply")
            await _refuse(scope, send, modelport_refusal(error))
            return
        answer = {
            "success": True,
            "message": "ok",
            "model": {"name": model.name, "version": model.version},
            "prediction": predictions[0] if records.single else predictions,
        }
        answered_by = [*_JSON_HEADERS, (MODEL_HEADER.encode(), _label(model).encode())]
        await _send(send, 200, orjson.dumps(answer), answered_by)

    async def _model(self, route: PredictRoute) -> LoadedModel:
        """The loaded version answering ``route``: from memory, else through the registry."""
        number = None if route.version is None else version_number(route.version)
        if route.version is None or number is not None:
            model = self.service.cached(route.name, route.alias, number)
            if model is not None:
                return model
        wanted = route.version if number is None else number
        return await to_thread.run_sync(self.service.find, route.name, route.alias, wanted)


def _label(model: LoadedModel) -> str:
    return f"{model.name}:{model.version}"


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def _check_media_type(scope: Scope) -> None:
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


async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes | None:
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


async def _refuse(scope: Scope, send: Send, refusal: Refusal) -> None:
    scope[ERROR_CODE_KEY] = refusal.code
    headers = [*_JSON_HEADERS]
    headers += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in refusal.headers.items()]
    await _send(send, refusal.status, orjson.dumps(refusal.envelope), headers)


async def _send(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    headers.append((b"content-length", str(len(body)).encode("ascii")))
    start: dict[str, Any] = {"type": "http.response.start", "status": status, "headers": headers}
    await send(start)
    await send({"type": "http.response.body", "body": body})
