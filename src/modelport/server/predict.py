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

from starlette.types import Scope

from modelport.server.asgi import (
    MODEL_HEADER,
    MODEL_KEY,
    SCORED_KEY,
    JsonEndpoint,
    RequestLimits,
    find_model,
)
from modelport.server.auth import require_predict
from modelport.serving import LoadedModel, ServingService, parse_records
from modelport.serving.batching import Batchers

__all__ = [
    "MODEL_HEADER",
    "MODEL_KEY",
    "ROUTE_KEY",
    "SCORED_KEY",
    "PredictEndpoint",
    "PredictRoute",
    "match_predict",
]

ROUTE_KEY = "modelport.predict"  # scope key: the matched PredictRoute
_PREFIX = "/v1/models/"


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


class PredictEndpoint(JsonEndpoint):
    """Resolve, decode, batch; an ASGI app for the scopes ``match_predict`` took."""

    def __init__(self, service: ServingService, batchers: Batchers, limits: RequestLimits) -> None:
        super().__init__(limits)
        self.service = service
        self.batchers = batchers

    async def answer(self, scope: Scope, body: bytes) -> tuple[dict[str, Any], LoadedModel]:
        route: PredictRoute = scope[ROUTE_KEY]
        require_predict(scope, route.name)
        model = await find_model(self.service, route.name, route.alias, route.version)
        scope[MODEL_KEY] = model
        records = parse_records(body, self.limits.max_records, self.limits.json)
        predictions = await self.batchers.for_model(model).predict(records.items)
        if self.keep_scored:
            scope[SCORED_KEY] = (records.items, predictions, None)
        answer = {
            "success": True,
            "message": "ok",
            "model": {"name": model.name, "version": model.version},
            "prediction": predictions[0] if records.single else predictions,
        }
        return answer, model
