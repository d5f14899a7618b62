"""The OpenAPI document: FastAPI's for the fixed routes, plus one set of paths per model.

Each registered model gets concrete predict paths whose request schema is its
contract's JSON Schema (one record, or an array of records), and whose response schema
follows its task. The model paths are rebuilt whenever the serving catalog changes
(the poller notices new versions and alias moves), never per request.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

from modelport.serving.dataplane import Catalog, ModelInfo, VersionInfo

__all__ = ["ModelDocs"]

_REF = "#/components/schemas/"
_ERROR_STATUSES = {
    "400": "Malformed body (`malformed_request`)",
    "404": "Unknown model, alias or version",
    "413": "Body above the size limit (`payload_too_large`)",
    "415": "Content-Type is not JSON (`unsupported_media_type`)",
    "422": "Records break the contract (`invalid_input`); every error names record and field",
    "503": "The version cannot be loaded, or the registry is unavailable",
}
_COMMON: dict[str, Any] = {
    "FieldError": {
        "type": "object",
        "properties": {
            "record": {"type": ["integer", "null"]},
            "field": {"type": ["string", "null"]},
            "reason": {"type": "string"},
        },
        "required": ["record", "field", "reason"],
    },
    "ErrorResponse": {
        "type": "object",
        "properties": {
            "success": {"const": False},
            "code": {"type": "string"},
            "message": {"type": "string"},
            "errors": {"type": "array", "items": {"$ref": f"{_REF}FieldError"}},
        },
        "required": ["success", "code", "message", "errors"],
    },
    "ModelName": {
        "type": "object",
        "properties": {"name": {"type": "string"}, "version": {"type": "integer"}},
        "required": ["name", "version"],
    },
    "AnyRecord": {"type": "object", "description": "One record: field name to value"},
    "AnyPrediction": {"type": "object"},
}


class ModelDocs:
    """Adds per-model paths to a base document; cached per catalog generation."""

    def __init__(self, max_records: int) -> None:
        self.max_records = max_records
        self._cache: tuple[int, int, dict[str, Any]] | None = None
        self._lock = threading.Lock()

    def document(self, base: dict[str, Any], catalog: Catalog) -> dict[str, Any]:
        with self._lock:
            if self._cache and self._cache[:2] == (id(base), catalog.generation):
                return self._cache[2]
            doc = copy.deepcopy(base)
            schemas = doc.setdefault("components", {}).setdefault("schemas", {})
            schemas.update(copy.deepcopy(_COMMON))
            paths = doc.setdefault("paths", {})
            paths.update(self._generic_paths())
            for model in catalog.models.values():
                paths.update(self._model_paths(model, schemas))
            self._cache = (id(base), catalog.generation, doc)
            return doc

    def _generic_paths(self) -> dict[str, Any]:
        base = "/v1/models/{name}"
        name = _param("name", "Model name")
        alias = _param("alias", "Alias, e.g. staging")
        version = _param("version", "Version number", integer=True)
        generic = _request("AnyRecord", self.max_records)
        return {
            "/v1/score": _SCORE_OPERATION,
            f"{base}/predict": self._operation(
                "any model, production alias", generic, "AnyPrediction", [name]
            ),
            f"{base}/aliases/{{alias}}/predict": self._operation(
                "any model, by alias", generic, "AnyPrediction", [name, alias]
            ),
            f"{base}/versions/{{version}}/predict": self._operation(
                "any model, by version", generic, "AnyPrediction", [name, version]
            ),
        }

    def _model_paths(self, model: ModelInfo, schemas: dict[str, Any]) -> dict[str, Any]:
        paths: dict[str, Any] = {}
        components = {v.version: self._components(v, schemas) for v in model.versions}
        base = f"/v1/models/{model.name}"
        for info in model.versions:
            names = components.get(info.version)
            if names is not None:
                operation = self._operation(
                    f"{model.name} version {info.version}",
                    _request(names[0], self.max_records),
                    names[1],
                    [],
                    model.name,
                )
                paths[f"{base}/versions/{info.version}/predict"] = operation
        for alias, number in model.aliases.items():
            names = components.get(number)
            if names is None:
                continue
            operation = self._operation(
                f"{model.name} at alias {alias} (now version {number})",
                _request(names[0], self.max_records),
                names[1],
                [],
                model.name,
            )
            paths[f"{base}/aliases/{alias}/predict"] = operation
            if alias == "production":
                paths[f"{base}/predict"] = operation
        return paths

    @staticmethod
    def _components(info: VersionInfo, schemas: dict[str, Any]) -> tuple[str, str] | None:
        if info.record_schema is None:
            return None
        prefix = f"{info.name}.v{info.version}"
        schemas[f"{prefix}.Record"] = info.record_schema
        schemas[f"{prefix}.Prediction"] = _prediction_schema(info)
        return f"{prefix}.Record", f"{prefix}.Prediction"

    def _operation(
        self,
        summary: str,
        request: dict[str, Any],
        prediction: str,
        parameters: list[dict[str, Any]],
        tag: str = "predict",
    ) -> dict[str, Any]:
        one = {"$ref": f"{_REF}{prediction}"}
        response = {
            "type": "object",
            "properties": {
                "success": {"const": True},
                "message": {"type": "string"},
                "model": {"$ref": f"{_REF}ModelName"},
                "prediction": {"oneOf": [one, {"type": "array", "items": one}]},
            },
            "required": ["success", "message", "model", "prediction"],
        }
        error = {"content": {"application/json": {"schema": {"$ref": f"{_REF}ErrorResponse"}}}}
        responses: dict[str, Any] = {
            "200": {
                "description": "One prediction for an object body, a list for an array body",
                "content": {"application/json": {"schema": response}},
            }
        }
        responses.update({s: {"description": d, **error} for s, d in _ERROR_STATUSES.items()})
        return {
            "post": {
                "tags": [tag],
                "summary": f"Predict: {summary}",
                "parameters": parameters,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": request}},
                },
                "responses": responses,
            }
        }


_SCORE_REQUEST = {
    "type": "object",
    "properties": {
        "model": {"type": "string", "description": "Model name"},
        "alias": {"type": "string", "description": "Alias (default: production)"},
        "entity": {
            "type": "object",
            "description": "The entity's keys, as the model's package names them",
            "examples": [{"customer_id": 17}],
        },
        "inputs": {
            "type": "object",
            "description": "Request-time inputs: those the package does not read from a source",
        },
    },
    "required": ["model", "entity"],
    "additionalProperties": False,
    "description": 'Also accepted flat and hyphenated: {"model-id": "loan-approval", '
    '"customer-id": 17, "loan-amount": 5000}',
}
_SCORE_ANSWER = {
    "type": "object",
    "properties": {
        "success": {"const": True},
        "model": {"$ref": f"{_REF}ModelName"},
        "entity": {"type": "object"},
        "score": {
            "type": ["number", "null"],
            "description": "Positive-class probability, or the value",
        },
        "decision": {"description": "The decision the package's rules reached, if it has rules"},
        "rule": {"type": ["object", "null"], "description": "The rule that fired"},
        "confidence": {"type": ["object", "null"]},
        "prediction": {"$ref": f"{_REF}AnyPrediction"},
    },
    "required": [
        "success",
        "model",
        "entity",
        "score",
        "decision",
        "rule",
        "confidence",
        "prediction",
    ],
}
_SCORE_ERRORS = {
    **_ERROR_STATUSES,
    "404": "Unknown model, or unknown entity (`entity_not_found`, naming entity and source)",
    "422": "Missing entity keys, a sourced input sent by the caller, or values outside the "
    "contract (`invalid_input`)",
    "503": "A feature source is down or too slow (`feature_source_unavailable`, naming it), "
    "or the version cannot be loaded",
}
_SCORE_OPERATION = {
    "post": {
        "tags": ["orchestration"],
        "summary": "Score an entity by id: inputs looked up in the model's feature sources",
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _SCORE_REQUEST}},
        },
        "responses": {
            "200": {
                "description": "The score, decision and confidence, in a shape no model changes",
                "content": {"application/json": {"schema": _SCORE_ANSWER}},
            },
            **{
                status: {
                    "description": text,
                    "content": {"application/json": {"schema": {"$ref": f"{_REF}ErrorResponse"}}},
                }
                for status, text in _SCORE_ERRORS.items()
            },
        },
    }
}


def _request(record: str, max_records: int) -> dict[str, Any]:
    one = {"$ref": f"{_REF}{record}"}
    many = {"type": "array", "items": one, "minItems": 1, "maxItems": max_records}
    return {"oneOf": [one, many]}


def _param(name: str, description: str, *, integer: bool = False) -> dict[str, Any]:
    schema = {"type": "integer", "minimum": 1} if integer else {"type": "string"}
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": schema,
    }


def _prediction_schema(info: VersionInfo) -> dict[str, Any]:
    if info.task == "regression":
        return {
            "type": "object",
            "properties": {"value": {"type": "number"}},
            "required": ["value"],
        }
    classes = [str(c) for c in info.classes or []]
    probabilities: dict[str, Any] = {
        "type": "object",
        "description": "Probability of each class",
        "properties": {c: {"type": "number", "minimum": 0, "maximum": 1} for c in classes},
    }
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "label": {"description": f"One of {classes}"},
            "probabilities": probabilities,
        },
        "required": ["label", "probabilities"],
    }
    if info.task == "binary":
        schema["properties"]["score"] = {
            "type": "number",
            "description": "Probability of the positive class",
        }
        schema["required"].append("score")
    return schema
