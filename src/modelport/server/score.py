"""``POST /v1/score``: score an entity by id, as a bare ASGI endpoint beside predict.

The model's package says which inputs come from which feature source; the caller sends
only the entity's keys and any request-time inputs:

    {"model": "loan-by-customer", "entity": {"customer_id": 17}, "inputs": {"loan_amount": 5000}}
    {"model-id": "loan-by-customer", "customer-id": 17, "loan-amount": 5000}   # the same

The answer's shape does not depend on the model: ``model``, ``entity``, ``score`` (the
positive-class probability, or the regression value), ``decision``, ``rule``,
``confidence`` and the full ``prediction``. An unknown entity is ``404 entity_not_found``;
a source that is down or too slow is ``503 feature_source_unavailable`` naming it; never a
partial or default-filled score.

A request costs what predict costs plus the lookup: a cache hit is answered on the event
loop; misses of concurrent requests are fetched together, one query per source
(:mod:`modelport.orchestrate.coalesce`); the assembled record joins the version's
micro-batcher like any predict request's. All of that is the dataplane's
(:meth:`~modelport.serving.dataplane.Dataplane.score_entity`); this module decodes the
body and encodes the answer.
"""

from __future__ import annotations

from typing import Any

from starlette.types import Scope

from modelport.errors import MalformedRequest
from modelport.server.asgi import MODEL_KEY, SCORED_KEY, JsonEndpoint, RequestLimits
from modelport.server.auth import PRINCIPAL_KEY
from modelport.serving.dataplane import (
    Dataplane,
    JsonLimits,
    LoadedModel,
    ScoreRequest,
    decode_json,
)

__all__ = ["SCORE_PATH", "ScoreEndpoint", "ScoreRequest", "read_score_request"]

SCORE_PATH = "/v1/score"
_HYPHENATED_MODEL = "model-id"


class ScoreEndpoint(JsonEndpoint):
    """Decode, call the dataplane, encode; an ASGI app for ``SCORE_PATH``."""

    def __init__(self, dataplane: Dataplane, limits: RequestLimits) -> None:
        super().__init__(limits)
        self.dataplane = dataplane

    async def answer(self, scope: Scope, body: bytes) -> tuple[dict[str, Any], LoadedModel]:
        request = read_score_request(body, self.limits.json)
        principal = scope.get(PRINCIPAL_KEY)
        dataplane = self.dataplane
        model = dataplane.cached(request, principal)  # resolved first: refusals name it
        if model is None:
            model = await dataplane.resolve(request, principal)
        scope[MODEL_KEY] = model
        scored = await dataplane.score_entity(request, principal, resolved=model)
        prediction = scored.answer
        if self.keep_scored:
            scope[SCORED_KEY] = ([scored.record], [prediction], scored.entity)
        answer = {
            "success": True,
            "model": {"name": model.name, "version": model.version},
            "entity": scored.entity,
            "score": scored.score,
            "decision": scored.decision,
            "rule": scored.rule,
            "confidence": scored.confidence,
            "prediction": prediction,
        }
        return answer, model


def read_score_request(body: bytes, limits: JsonLimits | None = None) -> ScoreRequest:
    """Model name, alias, entity and inputs from either form of the request body."""
    data = decode_json(body, limits or JsonLimits())
    if not isinstance(data, dict):
        raise MalformedRequest("the body must be a JSON object")
    if _HYPHENATED_MODEL in data:
        flat = {str(k).replace("-", "_"): v for k, v in data.items()}
        name = flat.pop("model_id")
        alias = flat.pop("alias", None)
        return ScoreRequest(_text(name, "model-id"), _alias(alias), inputs=flat)
    unknown = sorted(set(data) - {"model", "alias", "entity", "inputs"})
    if unknown:
        raise MalformedRequest(
            f"unknown fields {', '.join(unknown)}: send model, entity and optionally inputs "
            "and alias (or the hyphenated form with model-id)"
        )
    entity = data.get("entity")
    inputs = data.get("inputs") or {}
    if not isinstance(entity, dict) or not entity:
        raise MalformedRequest("entity must be an object of the entity's keys")
    if not isinstance(inputs, dict):
        raise MalformedRequest("inputs must be an object")
    return ScoreRequest(
        _text(data.get("model"), "model"), _alias(data.get("alias")), entity=entity, inputs=inputs
    )


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value:
        raise MalformedRequest(f"{field} must be the model's name")
    return value


def _alias(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise MalformedRequest("alias must be a string")
    return value
