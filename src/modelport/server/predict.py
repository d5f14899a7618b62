"""``POST /v1/models/.../predict``: the hot path, as a bare ASGI endpoint.

Every request pays only for what it needs: the path is split (no route table), the body
is read straight from the ASGI channel (size-checked while it streams in), decoded with
orjson, and handed with its model version to the dataplane
(:mod:`modelport.serving.dataplane`), whose micro-batcher validates and scores it together
with whatever else arrived meanwhile. No framework request or response objects, no
dependency injection, no exception-middleware layers.
Errors become the same envelope as everywhere else (:mod:`modelport.server.errors`).

    /v1/models/{name}/predict                     the production alias
    /v1/models/{name}/aliases/{alias}/predict     an alias
    /v1/models/{name}/versions/{version}/predict  a version
"""

from __future__ import annotations

from typing import Any

from starlette.types import Scope

from modelport.server.asgi import (
    MODEL_HEADER,
    MODEL_KEY,
    SCORED_KEY,
    JsonEndpoint,
    RequestLimits,
)
from modelport.server.auth import PRINCIPAL_KEY
from modelport.serving.dataplane import Dataplane, LoadedModel, RequestRef, parse_records

__all__ = [
    "MODEL_HEADER",
    "MODEL_KEY",
    "ROUTE_KEY",
    "SCORED_KEY",
    "PredictEndpoint",
    "match_predict",
]

ROUTE_KEY = "modelport.predict"  # scope key: the RequestRef the path names
_PREFIX = "/v1/models/"


def match_predict(path: str) -> RequestRef | None:
    """The model ``path`` names, or ``None`` if it is not a predict path."""
    if not path.startswith(_PREFIX) or not path.endswith("/predict"):
        return None
    parts = path[len(_PREFIX) : -len("/predict")].split("/")
    if not all(parts):
        return None
    if len(parts) == 1:
        return RequestRef(parts[0])
    if len(parts) == 3 and parts[1] == "aliases":
        return RequestRef(parts[0], alias=parts[2])
    if len(parts) == 3 and parts[1] == "versions":
        return RequestRef(parts[0], version=parts[2])
    return None


class PredictEndpoint(JsonEndpoint):
    """Decode, call the dataplane, encode; an ASGI app for the scopes ``match_predict`` took."""

    def __init__(self, dataplane: Dataplane, limits: RequestLimits) -> None:
        super().__init__(limits)
        self.dataplane = dataplane

    async def answer(self, scope: Scope, body: bytes) -> tuple[dict[str, Any], LoadedModel]:
        ref: RequestRef = scope[ROUTE_KEY]
        principal = scope.get(PRINCIPAL_KEY)
        dataplane = self.dataplane
        # resolved before the body is decoded: an unknown model is a 404 whatever the body,
        # and every later refusal (and the logs, and metrics) names the version
        model = dataplane.cached(ref, principal)
        if model is None:
            model = await dataplane.resolve(ref, principal)
        scope[MODEL_KEY] = model
        records = parse_records(body, self.limits.max_records, self.limits.json)
        result = await dataplane.predict(ref, records.items, principal, resolved=model)
        answers = result.answers
        if self.keep_scored:
            scope[SCORED_KEY] = (records.items, answers, None)
        answer = {
            "success": True,
            "message": "ok",
            "model": {"name": model.name, "version": model.version},
            "prediction": answers[0] if records.single else answers,
        }
        return answer, model
