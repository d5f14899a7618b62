"""The documented FastAPI routes: health, readiness and model listings.

Predict requests never come here: :mod:`modelport.server.predict` answers them on the
hot path. Anything that may touch the registry runs in a worker thread.
"""

from __future__ import annotations

from typing import Any

from anyio import to_thread
from fastapi import FastAPI, Request
from starlette.responses import Response

from modelport.server.auth import principal_of, require_predict
from modelport.server.errors import json_response
from modelport.serving import ServingService

__all__ = ["add_routes"]


def add_routes(app: FastAPI, service: ServingService) -> None:
    """Health, readiness and model listings (predict: :mod:`modelport.server.predict`)."""

    @app.get("/healthz", tags=["operations"], summary="The process is alive")
    async def healthz() -> Response:
        return json_response({"success": True, "message": "alive"})

    @app.get(
        "/readyz",
        tags=["operations"],
        summary="Ready to serve: registry reachable, production models loaded and warm",
        responses={503: {"description": "Not ready; `reasons` says why"}},
    )
    async def readyz(request: Request) -> Response:
        readiness = await to_thread.run_sync(service.readiness)
        body: dict[str, Any] = {
            "success": readiness.ready,
            "message": "ready" if readiness.ready else "not ready",
        }
        principal = principal_of(request.scope)
        if principal is not None:  # with authentication on, no details for strangers
            # operators (admin, metrics) see every model; a client only those it may use
            may_see = (lambda _: True) if principal.may_read_metrics() else principal.may_predict
            shown = readiness.seen_by(may_see)
            serving = {m: a for m, a in _serving(service).items() if may_see(m)}
            body |= {"reasons": shown.reasons, "failed": shown.failed, "serving": serving}
        if not readiness.ready:
            body["code"] = "not_ready"
        return json_response(body, 200 if readiness.ready else 503)

    @app.get(
        "/v1/models",
        tags=["models"],
        summary="Every model the credentials may use, its versions and aliases",
    )
    async def list_models(request: Request) -> Response:
        principal = principal_of(request.scope)
        models = await to_thread.run_sync(service.models)
        visible = [m for m in models if principal is not None and principal.may_predict(m["name"])]
        return json_response({"success": True, "message": "ok", "models": visible})

    @app.get(
        "/v1/models/{name}",
        tags=["models"],
        summary="One model, its versions and aliases",
        responses={
            403: {"description": "The credentials may not use this model (`forbidden`)"},
            404: {"description": "No such model (`model_not_found`)"},
        },
    )
    async def get_model(name: str, request: Request) -> Response:
        require_predict(request.scope, name)
        model = await to_thread.run_sync(service.model, name)
        return json_response({"success": True, "message": "ok", "model": model})


def _serving(service: ServingService) -> dict[str, dict[str, int]]:
    serving: dict[str, dict[str, int]] = {}
    for (name, alias), version in sorted(service.serving().items()):
        serving.setdefault(name, {})[alias] = version
    return serving
