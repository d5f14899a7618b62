"""Errors as HTTP: one envelope, one status per error code.

Domain errors (:mod:`modelport.errors`) know nothing of HTTP; this module is the only
place their codes meet status codes. Every refusal has the same shape::

    {"success": false, "code": "invalid_input", "message": "...",
     "errors": [{"record": 0, "field": "age", "reason": "..."}]}
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from modelport.errors import (
    MAX_LISTED_ERRORS,
    AlreadyExists,
    ConfigurationError,
    Conflict,
    EvaluationError,
    FeatureSourceUnavailable,
    FieldError,
    Forbidden,
    GatedAlias,
    InUse,
    InvalidInput,
    InvalidName,
    MalformedRequest,
    ModelportError,
    NotFound,
    PackageError,
    PayloadTooLarge,
    PromotionRefused,
    RateLimited,
    RegistryError,
    RequestTimeout,
    Unauthenticated,
)
from modelport.server.context import REQUEST_ID

__all__ = [
    "ERROR_CODE_KEY",
    "HttpError",
    "Refusal",
    "error_response",
    "http_refusal",
    "install_error_handlers",
    "json_response",
    "modelport_refusal",
    "refusal",
    "status_for",
]

logger = logging.getLogger("modelport.server")


_STATUS: dict[type[ModelportError], int] = {
    Unauthenticated: 401,
    Forbidden: 403,
    RateLimited: 429,
    RequestTimeout: 503,  # 408 while the body was still arriving: see status_for
    MalformedRequest: 400,
    PayloadTooLarge: 413,
    InvalidInput: 422,
    NotFound: 404,
    InvalidName: 400,
    AlreadyExists: 409,
    Conflict: 409,
    InUse: 409,
    GatedAlias: 409,
    FeatureSourceUnavailable: 503,  # names the source: the operator's lead, not an internal
    PromotionRefused: 422,
    EvaluationError: 422,
    PackageError: 503,  # the version exists but cannot be served: not the client's doing
    RegistryError: 503,
    ConfigurationError: 500,
}
_SERVER_SIDE: dict[type, str] = {
    PackageError: "this model version cannot be served right now; the server log says why",
    RegistryError: "the model registry is unavailable; try again shortly",
    RequestTimeout: "the answer took longer than the server allows; try again shortly",
}
_HTTP_CODES = {
    400: "malformed_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


class HttpError(Exception):
    """A refusal that only exists in HTTP (wrong media type, unknown route...)."""

    def __init__(
        self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def status_for(error: ModelportError) -> int:
    if isinstance(error, RequestTimeout) and error.reading:
        return 408
    for cls in type(error).__mro__:
        status = _STATUS.get(cls)
        if status is not None:
            return status
    return 500


ERROR_CODE_KEY = "modelport.error_code"  # scope key: the refusal's code, for logs and metrics


def json_response(
    data: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps(data), status_code=status, headers=headers, media_type="application/json"
    )


@dataclass(frozen=True, slots=True)
class Refusal:
    """An error answer: status, envelope and headers, for any way of sending it."""

    status: int
    code: str
    envelope: dict[str, Any]
    headers: dict[str, str]

    def response(self) -> Response:
        return json_response(self.envelope, self.status, self.headers)


def refusal(
    status: int,
    code: str,
    message: str,
    errors: Sequence[FieldError] = (),
    headers: Mapping[str, str] | None = None,
) -> Refusal:
    listed = [e.to_dict() for e in errors[:MAX_LISTED_ERRORS]]
    if len(errors) > MAX_LISTED_ERRORS:
        message = f"{message} ({len(errors)} errors, the first {MAX_LISTED_ERRORS} listed)"
    envelope = {"success": False, "code": code, "message": message, "errors": listed}
    return Refusal(status, code, envelope, dict(headers or {}))


def error_response(
    status: int,
    code: str,
    message: str,
    errors: Sequence[FieldError] = (),
    headers: Mapping[str, str] | None = None,
) -> Response:
    return refusal(status, code, message, errors, headers).response()


def modelport_refusal(error: ModelportError, headers: Mapping[str, str] | None = None) -> Refusal:
    status = status_for(error)
    message = error.message
    if status >= 500:  # the server's trouble: details (paths, causes) stay in the log
        logger.warning("%s (%s): %s", status, error.code, error)
        message = next(
            (_SERVER_SIDE[c] for c in type(error).__mro__ if c in _SERVER_SIDE), "internal error"
        )
        if isinstance(error, FeatureSourceUnavailable):  # the name, not the database's reply
            message = (
                f"feature source {error.source!r} is unavailable or too slow; "
                "try again shortly (the server log says why)"
            )
    extra = dict(headers or {})
    if isinstance(error, Unauthenticated):
        extra["www-authenticate"] = 'Bearer realm="modelport"'
    elif isinstance(error, RateLimited):
        extra["retry-after"] = str(max(1, math.ceil(error.retry_after)))
    elif isinstance(error, RequestTimeout) and error.reading:
        extra["connection"] = "close"
    if isinstance(error, PayloadTooLarge):
        extra["connection"] = "close"  # the rest of the body is never read
    answer = refusal(status, error.code, message, error.errors, extra)
    if status >= 500:  # the id to quote to the operator: the log line above carries it too
        answer.envelope["request_id"] = REQUEST_ID.get()
    return answer


def http_refusal(error: HttpError) -> Refusal:
    return refusal(error.status, error.code, error.message, headers=error.headers)


async def _modelport_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, ModelportError):  # pragma: no cover - registered for this type
        raise exc
    request.scope[ERROR_CODE_KEY] = exc.code
    return modelport_refusal(exc).response()


async def _http_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, HttpError):  # pragma: no cover
        raise exc
    request.scope[ERROR_CODE_KEY] = exc.code
    return http_refusal(exc).response()


async def _starlette_http_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, HTTPException):  # pragma: no cover
        raise exc
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    request.scope[ERROR_CODE_KEY] = code
    message = {
        404: f"no route {request.url.path[:200]!r}",
        405: f"method {request.method} is not allowed here",
    }.get(exc.status_code, str(exc.detail))
    return error_response(exc.status_code, code, message, headers=exc.headers)


async def _validation_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, RequestValidationError):  # pragma: no cover
        raise exc
    errors = [
        FieldError(None, ".".join(str(p) for p in e.get("loc", ())), str(e.get("msg", "")))
        for e in exc.errors()
    ]
    request.scope[ERROR_CODE_KEY] = "malformed_request"
    return error_response(400, "malformed_request", "the request is malformed", errors)


def install_error_handlers(app: FastAPI) -> None:
    """Map every error an endpoint can raise to the envelope (unexpected ones: middleware)."""
    app.add_exception_handler(ModelportError, _modelport_error)
    app.add_exception_handler(HttpError, _http_error)
    app.add_exception_handler(HTTPException, _starlette_http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
