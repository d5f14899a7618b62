"""``POST /v1/score``: score an entity by id. The model's package says which inputs come
from which feature source; the caller sends only the entity's keys and any request-time
inputs.

    {"model": "loan-by-customer", "entity": {"customer_id": 17}, "inputs": {"loan_amount": 5000}}
    {"model-id": "loan-by-customer", "customer-id": 17, "loan-amount": 5000}   # the same

The answer's shape does not depend on the model: ``model``, ``entity``, ``score`` (the
positive-class probability, or the regression value), ``decision``, ``rule``,
``confidence`` and the full ``prediction``. An unknown entity is ``404 entity_not_found``;
a source that is down or too slow is ``503 feature_source_unavailable`` naming it; never a
partial or default-filled score.
"""

from __future__ import annotations

from typing import Any

import orjson
from anyio import to_thread
from fastapi import FastAPI, Request
from starlette.responses import Response

from modelport.errors import FieldError, InvalidInput, MalformedRequest, PayloadTooLarge
from modelport.orchestrate import Enricher, assemble
from modelport.server.errors import json_response
from modelport.server.predict import MODEL_KEY
from modelport.server.predictions import scored
from modelport.serving import ServingService

__all__ = ["add_score_route", "read_score_request"]

_HYPHENATED_MODEL = "model-id"


def add_score_route(
    app: FastAPI,
    service: ServingService,
    enricher: Enricher,
    max_body_bytes: int,
    keep_scored: bool = False,
) -> None:
    @app.post(
        "/v1/score",
        tags=["orchestration"],
        summary="Score an entity by id: inputs looked up in the model's feature sources",
        responses={
            404: {"description": "Unknown model or entity (`entity_not_found`)"},
            503: {"description": "A feature source is down or too slow"},
        },
    )
    async def score(request: Request) -> Response:
        body = await request.body()
        if len(body) > max_body_bytes:
            raise PayloadTooLarge(f"the body exceeds {max_body_bytes} bytes")
        name, alias, entity, inputs = read_score_request(body)
        answer, record = await to_thread.run_sync(
            score_entity, service, enricher, name, alias, entity, inputs
        )
        request.scope[MODEL_KEY] = answer.pop("_model")
        if keep_scored:
            scored(request.scope, [record], [answer["prediction"]], answer["entity"])
        version = f"{answer['model']['name']}:{answer['model']['version']}"
        return json_response(answer, headers={"x-model-version": version})


def read_score_request(body: bytes) -> tuple[str, str | None, dict[str, Any], dict[str, Any]]:
    """Model name, alias, entity and inputs from either form of the request body."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise MalformedRequest("the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise MalformedRequest("the body must be a JSON object")
    if _HYPHENATED_MODEL in data:
        flat = {str(k).replace("-", "_"): v for k, v in data.items()}
        name = flat.pop("model_id")
        alias = flat.pop("alias", None)
        return _text(name, "model-id"), _alias(alias), {}, flat  # split by the model's spec
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
    return _text(data.get("model"), "model"), _alias(data.get("alias")), entity, inputs


def score_entity(
    service: ServingService,
    enricher: Enricher,
    name: str,
    alias: str | None,
    entity: dict[str, Any],
    inputs: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The answer for one entity and the record it scored (after enrichment): look up,
    derive, score, decide. Blocking: run it in a thread."""
    model = service.find(name, alias, None)
    spec = model.orchestration
    if spec is None:
        raise InvalidInput(
            f"model {name!r} does not declare where its inputs come from, so it cannot score "
            f"by entity; send its inputs to /v1/models/{name}/predict"
        )
    if not entity:  # the hyphenated form: the spec says which fields are keys
        entity = {k: inputs.pop(k) for k in spec.entity if k in inputs}
    missing = [k for k in spec.entity if entity.get(k) is None]
    unknown = sorted(set(entity) - set(spec.entity))
    if missing or unknown:
        errors = [FieldError(None, k, "missing: an entity key of this model") for k in missing]
        errors += [FieldError(None, k, "not an entity key of this model") for k in unknown]
        raise InvalidInput(
            f"model {name!r} identifies entities by {', '.join(spec.entity)}", errors
        )
    records = assemble(spec, enricher, [entity], [inputs])
    prediction = model.predict(records)[0]
    answer = {
        "success": True,
        "model": {"name": model.name, "version": model.version},
        "entity": entity,
        "score": prediction.get("score", prediction.get("value")),
        "decision": prediction.get("decision"),
        "rule": prediction.get("rule"),
        "confidence": prediction.get("confidence"),
        "prediction": prediction,
        "_model": model,  # for the scope (metrics, logs): taken out before answering
    }
    return answer, records[0]


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value:
        raise MalformedRequest(f"{field} must be the model's name")
    return value


def _alias(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise MalformedRequest("alias must be a string")
    return value
