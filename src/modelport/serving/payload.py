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

__all__ = ["Records", "parse_records"]


@dataclass(frozen=True, slots=True)
class Records:
    """The decoded records; ``single`` when the body was one object rather than a list."""

    items: list[dict[str, Any]]
    single: bool


def parse_records(body: bytes, max_records: int) -> Records:
    """Decode ``body`` (UTF-8 JSON) into records, or say exactly why it is not records."""
    if not body.strip():
        raise MalformedRequest("the request body is empty: send a JSON object or array")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedRequest(f"the request body is not valid JSON: {exc}") from None
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
