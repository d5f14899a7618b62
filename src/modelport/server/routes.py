"""The v1 routes: thin adapters from HTTP to :class:`~modelport.serving.ServingService`.

Predict routes are plain Starlette routes: the body is read as bytes (size-checked while
it streams in), decoded with orjson, validated by the version's compiled validator and
answered with orjson, with no pydantic model or dependency injection on the way.
Scoring runs inline when the version's measured cost says it takes well under a
millisecond, otherwise in a worker thread so the event loop keeps answering.
"""

from __future__ import annotations

from typing import Any

from anyio import to_thread
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from modelport.errors import InvalidInput, MalformedRequest, PayloadTooLarge
from modelport.server.errors import HttpError, json_response, modelport_error_response
from modelport.serving import LoadedModel, ServingService, parse_records, version_number

__all__ = ["INLINE_SECONDS", "add_routes", "read_body"]

INLINE_SECONDS = 0.0005  # score inline when the estimate is below this; else in a thread
MODEL_HEADER = "x-model-version"  # "<name>:<version>" of the version that answered


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refused with :class:`PayloadTooLarge` as soon as it exceeds ``limit``.

    The declared Content-Length is checked before reading; the bytes are counted while
    reading too, so a chunked body (or a lying header) cannot get past the limit.
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            length = int(declared)
        except ValueError:
            raise MalformedRequest("the Content-Length header is not a number") from None
        if length > limit:
            raise PayloadTooLarge(f"the body is {length} bytes, above the limit of {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _check_media_type(request: Request) -> None:
    content_type = request.headers.get("content-type")
    if content_type is None:
        return
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    ):
        return
    raise HttpError(
        415,
        "unsupported_media_type",
        f"send JSON (Content-Type: application/json), not {content_type[:100]!r}",
    )


class Predictor:
    """The three predict routes share this: resolve, read, decode, score, answer."""

    def __init__(self, service: ServingService, max_body_bytes: int, max_records: int) -> None:
        self.service = service
        self.max_body_bytes = max_body_bytes
        self.max_records = max_records

    async def production(self, request: Request) -> Response:
        return await self.answer(request, request.path_params["name"], None, None)

    async def alias(self, request: Request) -> Response:
        params = request.path_params
        return await self.answer(request, params["name"], params["alias"], None)

    async def version(self, request: Request) -> Response:
        params = request.path_params
        return await self.answer(request, params["name"], None, params["version"])

    async def answer(
        self, request: Request, name: str, alias: str | None, version: str | None
    ) -> Response:
        _check_media_type(request)
        body = await read_body(request, self.max_body_bytes)
        number = None if version is None else version_number(version)
        model = None
        if version is None or number is not None:
            model = self.service.cached(name, alias, number)
        if model is None:
            wanted = version if number is None else number
            model = await to_thread.run_sync(self.service.find, name, alias, wanted)
        records = parse_records(body, self.max_records)
        try:
            if model.estimated_seconds(len(records.items)) <= INLINE_SECONDS:
                predictions = model.predict(records.items)
            else:
                predictions = await to_thread.run_sync(model.predict, records.items)
        except InvalidInput as exc:
            return modelport_error_response(exc, {MODEL_HEADER: _label(model)})
        except RecursionError:  # a value nested a thousand levels deep
            raise MalformedRequest("the request body is nested too deeply") from None
        return json_response(
            {
                "success": True,
                "message": "ok",
                "model": {"name": model.name, "version": model.version},
                "prediction": predictions[0] if records.single else predictions,
            },
            headers={MODEL_HEADER: _label(model)},
        )


def _label(model: LoadedModel) -> str:
    return f"{model.name}:{model.version}"


def add_routes(
    app: FastAPI, service: ServingService, max_body_bytes: int, max_records: int
) -> None:
    """Health, readiness, model listings (FastAPI, documented) and predict routes (Starlette)."""
    predictor = Predictor(service, max_body_bytes, max_records)
    base = "/v1/models/{name}"
    app.router.routes.extend(
        [
            Route(f"{base}/predict", predictor.production, methods=["POST"]),
            Route(f"{base}/aliases/{{alias}}/predict", predictor.alias, methods=["POST"]),
            Route(f"{base}/versions/{{version}}/predict", predictor.version, methods=["POST"]),
        ]
    )

    @app.get("/healthz", tags=["operations"], summary="The process is alive")
    async def healthz() -> Response:
        return json_response({"success": True, "message": "alive"})

    @app.get(
        "/readyz",
        tags=["operations"],
        summary="Ready to serve: registry reachable, production models loaded and warm",
        responses={503: {"description": "Not ready; `reasons` says why"}},
    )
    async def readyz() -> Response:
        readiness = await to_thread.run_sync(service.readiness)
        body: dict[str, Any] = {
            "success": readiness.ready,
            "message": "ready" if readiness.ready else "not ready",
            "reasons": readiness.reasons,
            "failed": readiness.failed,
            "serving": _serving(service),
        }
        if not readiness.ready:
            body["code"] = "not_ready"
        return json_response(body, 200 if readiness.ready else 503)

    @app.get("/v1/models", tags=["models"], summary="Every model, its versions and aliases")
    async def list_models() -> Response:
        models = await to_thread.run_sync(service.models)
        return json_response({"success": True, "message": "ok", "models": models})

    @app.get(
        "/v1/models/{name}",
        tags=["models"],
        summary="One model, its versions and aliases",
        responses={404: {"description": "No such model (`model_not_found`)"}},
    )
    async def get_model(name: str) -> Response:
        model = await to_thread.run_sync(service.model, name)
        return json_response({"success": True, "message": "ok", "model": model})


def _serving(service: ServingService) -> dict[str, dict[str, int]]:
    serving: dict[str, dict[str, int]] = {}
    for (name, alias), version in sorted(service.serving().items()):
        serving.setdefault(name, {})[alias] = version
    return serving
