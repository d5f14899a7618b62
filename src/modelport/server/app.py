"""The HTTP app: ``create_app(settings, registry)``, and ``factory`` for uvicorn workers.

    uvicorn.run("modelport.server.app:factory", factory=True, workers=4)

Each worker process builds its own app from ``MODELPORT_*`` environment settings and
loads its own models. Startup does not wait for models: the poller loads every
production version in the background and ``/readyz`` says when it is done.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from anyio import to_thread
from fastapi import FastAPI

from modelport.server.context import RequestContextMiddleware
from modelport.server.errors import install_error_handlers
from modelport.server.openapi import ModelDocs
from modelport.server.routes import add_routes
from modelport.serving import ServingService
from modelport.settings import Settings, modelport_version

if TYPE_CHECKING:
    from modelport.registry import Registry

__all__ = ["ModelportAPI", "create_app", "factory"]

_DESCRIPTION = """Predictions from registered modelport models.

Every prediction body is one JSON record (an object) or an array of records; every
refusal says exactly why, naming the record and the field. See `docs/api.md`."""


class ModelportAPI(FastAPI):
    """FastAPI whose OpenAPI document carries every registered model's contract."""

    def __init__(self, service: ServingService, docs: ModelDocs, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.service = service
        self.model_docs = docs

    def openapi(self) -> dict[str, Any]:
        return self.model_docs.document(super().openapi(), self.service.catalog)


def create_app(settings: Settings | None = None, registry: Registry | None = None) -> ModelportAPI:
    """The app serving every model of ``registry`` (by default the one ``settings`` names)."""
    settings = settings or Settings()
    service = ServingService.from_settings(settings, registry)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service.start()
        try:
            yield
        finally:
            await to_thread.run_sync(service.stop)

    app = ModelportAPI(
        service,
        ModelDocs(settings.max_records),
        title="modelport",
        version=modelport_version(),
        description=_DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.add_middleware(RequestContextMiddleware)
    install_error_handlers(app)
    add_routes(app, service, settings.max_body_bytes, settings.max_records)
    return app


def factory() -> ModelportAPI:
    """Build the app from the environment (``MODELPORT_*``): what each uvicorn worker calls."""
    return create_app(Settings())
