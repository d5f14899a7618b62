"""The documented FastAPI routes: health, readiness and model listings.

Predict requests never come here: :mod:`modelport.server.predict` answers them on the
hot path. Anything that may touch the registry runs in a worker thread.
"""

from __future__ import annotations

from typing import Any

from anyio import to_thread
from fastapi import FastAPI, Request
from starlette.responses import Response

from modelport.server.auth import principal_of
from modelport.server.errors import json_response
from modelport.serving.dataplane import Dataplane

__all__ = ["add_routes"]


def add_routes(app: FastAPI, dataplane: Dataplane) -> None:
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
        principal = principal_of(request.scope)
        readiness = await to_thread.run_sync(dataplane.readiness, principal)
        body: dict[str, Any] = {
            "success": readiness.ready,
            "message": "ready" if readiness.ready else "not ready",
        }
        if principal is not None:  # with authentication on, no details for strangers
            body |= {
                "reasons": readiness.reasons,
                "failed": readiness.failed,
                "serving": readiness.serving,
            }
        if not readiness.ready:
            body["code"] = "not_ready"
        return json_response(body, 200 if readiness.ready else 503)

    @app.get(
        "/v1/models",
        tags=["models"],
        summary="Every model the credentials may use, its versions and aliases",
    )
    async def list_models(request: Request) -> Response:
        models = await to_thread.run_sync(dataplane.models, principal_of(request.scope))
        return json_response({"success": True, "message": "ok", "models": models})

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
        principal = principal_of(request.scope)
        model = await to_thread.run_sync(dataplane.model_metadata, name, principal)
        return json_response({"success": True, "message": "ok", "model": model})
