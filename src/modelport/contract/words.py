"""How the contract words values in its reasons: numbers as people write them, short excerpts."""

from __future__ import annotations

import math
import reprlib
from collections.abc import Sequence
from typing import Any

__all__ = ["describe", "format_number", "listed", "short"]

_SHOWN_CATEGORIES = 10


def format_number(value: float) -> str:
    """Numbers as people write them: ``10.9``, ``-5``, ``1e+06``."""
    if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def _short_repr() -> reprlib.Repr:
    # Bounded in depth and length: a client's 1,000-deep or 10 MB value costs nothing here.
    short = reprlib.Repr()
    short.maxlevel, short.maxstring, short.maxother = 2, 30, 30
    short.maxlist = short.maxdict = 4
    return short


_SHORT_REPR = _short_repr()
_KINDS = {
    bool: "boolean",
    str: "string",
    int: "number",
    float: "number",
    list: "array",
    dict: "object",
}


def short(value: Any) -> str:
    """A bounded ``repr`` of a client's value."""
    return _SHORT_REPR.repr(value)


def describe(value: Any) -> str:
    """``string 'abc'``, ``array [1, 2]``: the JSON kind and a short excerpt of a value."""
    kind = _KINDS.get(type(value), type(value).__name__)
    return f"{kind} {short(value)}"


def listed(categories: Sequence[str]) -> str:
    """``'a', 'b', ...``: the first few categories of a list, for a reason."""
    shown = ", ".join(repr(c) for c in categories[:_SHOWN_CATEGORIES])
    return shown + (", ..." if len(categories) > _SHOWN_CATEGORIES else "")
