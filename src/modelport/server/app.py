"""The HTTP app: ``create_app(settings, registry)``, and ``factory`` for uvicorn workers.

    uvicorn.run("modelport.server.app:factory", factory=True, workers=4)

Each worker process builds its own app from ``MODELPORT_*`` environment settings and
loads its own models. Startup does not wait for models: the poller loads every
production version in the background and ``/readyz`` says when it is done.

The app is two apps behind one door: predict and score requests go straight to the bare
ASGI endpoints of :mod:`modelport.server.predict` (the hot path) and
:mod:`modelport.server.score`; everything else (health, listings, metrics, OpenAPI) to
FastAPI. Both sit inside the same request context: request id, access log, metrics.
Every route is an adapter over the worker's dataplane (:mod:`modelport.serving.dataplane`):
decode, authenticate, call it, encode.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from anyio import to_thread
from fastapi import FastAPI, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from modelport.errors import Forbidden
from modelport.predlog import PredictionLogSettings, open_prediction_log
from modelport.security.principals import ANONYMOUS
from modelport.server.asgi import ENDPOINT_KEY, RequestLimits
from modelport.server.auth import PRINCIPAL_KEY, Authenticator, AuthMiddleware, principal_of
from modelport.server.context import RequestContextMiddleware, RequestObserver
from modelport.server.errors import install_error_handlers
from modelport.server.limits import BodyLimitMiddleware
from modelport.server.logs import AccessLog, configure_logging
from modelport.server.metrics import (
    CONTENT_TYPE,
    ServerMetrics,
    forget_this_process,
    render_metrics,
)
from modelport.server.openapi import ModelDocs
from modelport.server.predict import ROUTE_KEY, PredictEndpoint, match_predict
from modelport.server.predictions import PredictionLogObserver
from modelport.server.routes import add_routes
from modelport.server.score import SCORE_PATH, ScoreEndpoint
from modelport.serving.dataplane import Dataplane, JsonLimits
from modelport.settings import Settings, modelport_version

if TYPE_CHECKING:
    from modelport.registry import Registry

__all__ = ["ModelportAPI", "ModelportApp", "create_app", "factory"]

_DESCRIPTION = """Predictions from registered modelport models.

Every prediction body is one JSON record (an object) or an array of records; every
refusal says exactly why, naming the record and the field. See `docs/api.md`."""


class ModelportAPI(FastAPI):
    """FastAPI whose OpenAPI document carries every registered model's contract."""

    def __init__(
        self, dataplane: Dataplane, docs: ModelDocs, authenticated: bool, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.dataplane = dataplane
        self.model_docs = docs
        self.authenticated = authenticated

    def openapi(self) -> dict[str, Any]:
        document = self.model_docs.document(super().openapi(), self.dataplane.catalog)
        if self.authenticated:  # clients and tools (Swagger UI, schemathesis) send a bearer
            schemes = document.setdefault("components", {}).setdefault("securitySchemes", {})
            schemes["bearer"] = {
                "type": "http",
                "scheme": "bearer",
                "description": "A JWT or an API key (mpk_...); see docs/security.md.",
            }
            document["security"] = [{"bearer": []}]
        return document


class ModelportApp:
    """The ASGI app: predict and score paths to their bare endpoints, the rest to FastAPI."""

    def __init__(
        self,
        api: ModelportAPI,
        predict: PredictEndpoint,
        score: ScoreEndpoint,
        observers: list[RequestObserver],
        authenticator: Authenticator,
    ) -> None:
        self.api = api
        self.dataplane = api.dataplane
        # request context outermost: a refusal at the door has a request id and is logged;
        # with nothing to check at the door, the hot path does not pass through it
        self._open = not (authenticator.enabled or authenticator.limiter is not None)
        guarded: tuple[ASGIApp, ASGIApp] = (predict, score)
        if not self._open:
            guarded = (AuthMiddleware(predict, authenticator), AuthMiddleware(score, authenticator))
        self._predict = RequestContextMiddleware(guarded[0], observers)
        self._score = RequestContextMiddleware(guarded[1], observers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if self._open:  # authentication off: everyone is the anonymous principal
                scope[PRINCIPAL_KEY] = ANONYMOUS
            route = match_predict(scope["path"])
            if route is not None:
                scope[ROUTE_KEY] = route
                scope[ENDPOINT_KEY] = "predict"
                await self._predict(scope, receive, send)
                return
            if scope["path"] == SCORE_PATH:
                scope[ENDPOINT_KEY] = "score"
                await self._score(scope, receive, send)
                return
        await self.api(scope, receive, send)


def create_app(settings: Settings | None = None, registry: Registry | None = None) -> ModelportApp:
    """The app serving every model of ``registry`` (by default the one ``settings`` names)."""
    settings = settings or Settings()
    observers: list[RequestObserver] = []
    metrics = ServerMetrics() if settings.metrics else None
    dataplane = Dataplane.from_settings(settings, registry, metrics)
    authenticator = Authenticator.from_settings(settings, dataplane.registry)
    if metrics is not None:
        observers.append(metrics.request)
        metrics.watch_cache(dataplane.enricher.cache)
    access_log = AccessLog() if settings.access_log else None
    if access_log is not None:
        observers.append(access_log)
    # its own settings (MODELPORT_PREDICTION_LOG_*): see docs/prediction-log.md
    prediction_log = open_prediction_log(PredictionLogSettings(), settings.resolved_database_url)
    if prediction_log is not None:
        observers.append(PredictionLogObserver(prediction_log))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        dataplane.start()
        try:
            yield
        finally:
            await to_thread.run_sync(dataplane.stop)
            if prediction_log is not None:  # flushes: every answered record is written
                await to_thread.run_sync(prediction_log.close)
            forget_this_process()
            if access_log is not None:
                access_log.close()

    api = ModelportAPI(
        dataplane,
        ModelDocs(settings.max_records),
        authenticator.enabled,
        title="modelport",
        version=modelport_version(),
        description=_DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    # added last = outermost: request context, then authentication, then the body limit
    api.add_middleware(
        BodyLimitMiddleware,
        max_body_bytes=settings.max_body_bytes,
        max_package_bytes=settings.max_package_bytes,
    )
    api.add_middleware(AuthMiddleware, authenticator=authenticator)
    api.add_middleware(RequestContextMiddleware, observers=observers)
    install_error_handlers(api)
    add_routes(api, dataplane)
    if settings.admin_api:
        # imported only when on: the gates pull in scikit-learn's metrics (~80 MB a worker)
        from modelport.server.admin import add_admin_routes

        add_admin_routes(api, dataplane.registry, settings.promotion_data_dir)
    if metrics is not None:

        @api.get(
            "/metrics",
            tags=["operations"],
            summary="Prometheus metrics (the metrics or admin scope)",
            response_class=Response,
            responses={200: {"content": {CONTENT_TYPE: {"schema": {"type": "string"}}}}},
        )
        async def prometheus(request: Request) -> Response:
            principal = principal_of(request.scope)
            if principal is None or not principal.may_read_metrics():
                raise Forbidden("reading metrics needs the metrics or admin scope")
            body = await to_thread.run_sync(render_metrics, metrics)
            return Response(body, media_type=CONTENT_TYPE)

    limits = RequestLimits(
        max_body_bytes=settings.max_body_bytes,
        max_records=settings.max_records,
        json=JsonLimits(settings.max_json_depth, settings.max_string_length),
        timeout=settings.request_timeout_seconds,
    )
    predict = PredictEndpoint(dataplane, limits)
    score = ScoreEndpoint(dataplane, limits)
    predict.keep_scored = score.keep_scored = prediction_log is not None
    return ModelportApp(api, predict, score, observers, authenticator)


def factory() -> ModelportApp:
    """Build the app from the environment (``MODELPORT_*``): what each uvicorn worker calls."""
    settings = Settings()
    configure_logging(settings.log_format, settings.log_level)
    return create_app(settings)
