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
micro-batcher like any predict request's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.types import Scope

from modelport.errors import FieldError, InvalidInput, MalformedRequest
from modelport.orchestrate import CoalescingEnricher, OrchestrationSpec, assemble_async
from modelport.server.asgi import MODEL_KEY, SCORED_KEY, JsonEndpoint, RequestLimits, find_model
from modelport.server.auth import require_predict
from modelport.serving import JsonLimits, LoadedModel, ServingService, decode_json
from modelport.serving.batching import Batchers

__all__ = ["SCORE_PATH", "ScoreEndpoint", "ScoreRequest", "read_score_request"]

SCORE_PATH = "/v1/score"
_HYPHENATED_MODEL = "model-id"


@dataclass(frozen=True, slots=True)
class ScoreRequest:
    model: str
    alias: str | None
    entity: dict[str, Any]  # empty in the hyphenated form until the model's spec splits it
    inputs: dict[str, Any]


class ScoreEndpoint(JsonEndpoint):
    """Resolve, look up, assemble, batch; an ASGI app for ``SCORE_PATH``."""

    def __init__(
        self,
        service: ServingService,
        batchers: Batchers,
        enricher: CoalescingEnricher,
        limits: RequestLimits,
    ) -> None:
        super().__init__(limits)
        self.service = service
        self.batchers = batchers
        self.enricher = enricher

    async def answer(self, scope: Scope, body: bytes) -> tuple[dict[str, Any], LoadedModel]:
        request = read_score_request(body, self.limits.json)
        require_predict(scope, request.model)
        model = await find_model(self.service, request.model, request.alias)
        scope[MODEL_KEY] = model
        spec = _spec(model)
        entity, inputs = split_entity(spec, request)
        records = await assemble_async(spec, self.enricher, [entity], [inputs])
        try:
            prediction = (await self.batchers.for_model(model).predict(records))[0]
        except InvalidInput as exc:
            raise _name_sources(exc, spec) from None
        if self.keep_scored:
            scope[SCORED_KEY] = (records, [prediction], entity)
        answer = {
            "success": True,
            "model": {"name": model.name, "version": model.version},
            "entity": entity,
            "score": prediction.get("score", prediction.get("value")),
            "decision": prediction.get("decision"),
            "rule": prediction.get("rule"),
            "confidence": prediction.get("confidence"),
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
        return ScoreRequest(_text(name, "model-id"), _alias(alias), {}, flat)
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
        _text(data.get("model"), "model"), _alias(data.get("alias")), entity, inputs
    )


def split_entity(
    spec: OrchestrationSpec, request: ScoreRequest
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The entity's keys and the request-time inputs, checked against the model's spec."""
    entity, inputs = request.entity, dict(request.inputs)
    if not entity:  # the hyphenated form: the spec says which fields are keys
        entity = {k: inputs.pop(k) for k in spec.entity if k in inputs}
    missing = [k for k in spec.entity if entity.get(k) is None]
    unknown = sorted(set(entity) - set(spec.entity))
    if missing or unknown:
        errors = [FieldError(None, k, "missing: an entity key of this model") for k in missing]
        errors += [FieldError(None, k, "not an entity key of this model") for k in unknown]
        raise InvalidInput(f"the model identifies entities by {', '.join(spec.entity)}", errors)
    return entity, inputs


def _name_sources(refused: InvalidInput, spec: OrchestrationSpec) -> InvalidInput:
    """A refusal whose fields came from a source says so: the caller did not send them and
    cannot correct them (the model was packaged for a narrower range than the source holds)."""
    errors = []
    for error in refused.errors:
        source = spec.inputs.get(error.field or "")
        if source is not None:
            reason = f"{error.reason} (the value in source {source.source!r} for this entity)"
            error = FieldError(error.record, error.field, reason)
        errors.append(error)
    if errors == refused.errors:
        return refused
    return InvalidInput("the entity's data does not match the model's contract", errors)


def _spec(model: LoadedModel) -> OrchestrationSpec:
    if model.orchestration is None:
        raise InvalidInput(
            f"model {model.name!r} does not declare where its inputs come from, so it cannot "
            f"score by entity; send its inputs to /v1/models/{model.name}/predict"
        )
    return model.orchestration


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value:
        raise MalformedRequest(f"{field} must be the model's name")
    return value


def _alias(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise MalformedRequest("alias must be a string")
    return value
