"""Decode a prediction request body: one JSON record, or a JSON array of records.

Transport-neutral: bytes in, records out. Every refusal is a :class:`MalformedRequest`
(the body is not a record or a list of records at all); whether the records fit a
model's contract is the validator's business, later.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from modelport.errors import MAX_LISTED_ERRORS, FieldError, MalformedRequest

__all__ = ["JsonLimits", "Records", "decode_json", "parse_records"]


@dataclass(frozen=True, slots=True)
class JsonLimits:
    """How deep a body may nest and how long its strings (and keys) may be.

    The body's size is limited before it is read; these stop what fits in that size but
    costs more than it should: a 10 MB string in one field, objects nested thousands deep.
    """

    max_depth: int = 32
    max_string: int = 10_000


def decode_json(body: bytes, limits: JsonLimits) -> Any:
    """The JSON value of ``body``, refused with :class:`MalformedRequest` if it is not JSON
    or goes past ``limits``."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedRequest(f"the request body is not valid JSON: {exc}") from None
    # Each level of nesting takes an opening bracket and each character a byte at least,
    # so a small body (one record, most requests) is within both limits without a walk.
    if len(body) > limits.max_string or body.count(b"{") + body.count(b"[") > limits.max_depth:
        _check_limits(data, limits)
    return data


def _check_limits(data: Any, limits: JsonLimits) -> None:
    # Iterative and flat-first: a body of scalar records costs one pass over its values.
    pending = [(data, 1)]
    max_depth, max_string = limits.max_depth, limits.max_string
    while pending:
        value, depth = pending.pop()
        if depth > max_depth:
            raise MalformedRequest(f"the request body nests deeper than {max_depth} levels")
        if value.__class__ is dict:
            for key, item in value.items():
                if len(key) > max_string:
                    raise MalformedRequest(f"a key is longer than {max_string} characters")
                kind = item.__class__
                if kind is str:
                    if len(item) > max_string:
                        raise MalformedRequest(
                            f"field {key[:64]!r} holds a string longer than {max_string} characters"
                        )
                elif kind is dict or kind is list:
                    pending.append((item, depth + 1))
        elif value.__class__ is list:
            for item in value:
                kind = item.__class__
                if kind is str:
                    if len(item) > max_string:
                        raise MalformedRequest(
                            f"the body holds a string longer than {max_string} characters"
                        )
                elif kind is dict or kind is list:
                    pending.append((item, depth + 1))
        elif value.__class__ is str and len(value) > max_string:
            raise MalformedRequest(f"the body is a string longer than {max_string} characters")


@dataclass(frozen=True, slots=True)
class Records:
    """The decoded records; ``single`` when the body was one object rather than a list."""

    items: list[dict[str, Any]]
    single: bool


def parse_records(body: bytes, max_records: int, limits: JsonLimits | None = None) -> Records:
    """Decode ``body`` (UTF-8 JSON) into records, or say exactly why it is not records."""
    if not body.strip():
        raise MalformedRequest("the request body is empty: send a JSON object or array")
    data = decode_json(body, limits or _DEFAULT_LIMITS)
    if isinstance(data, dict):
        return Records([data], single=True)
    if not isinstance(data, list):
        kind = _kind(data)
        raise MalformedRequest(
            f"expected a JSON object or an array of objects, got {kind}",
            [FieldError(None, None, f"expected an object or an array of objects, got {kind}")],
        )
    if not data:
        raise MalformedRequest("the array of records is empty: send at least one record")
    if len(data) > max_records:
        raise MalformedRequest(
            f"too many records: {len(data)} in one request, at most {max_records} are accepted"
        )
    bad = [i for i, item in enumerate(data) if not isinstance(item, dict)]
    if bad:
        errors = [
            FieldError(i, None, f"expected a JSON object, got {_kind(data[i])}")
            for i in bad[:MAX_LISTED_ERRORS]
        ]
        raise MalformedRequest(f"{len(bad)} of {len(data)} array items are not objects", errors)
    return Records(data, single=False)


_DEFAULT_LIMITS = JsonLimits()


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"
