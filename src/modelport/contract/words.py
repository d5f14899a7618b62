"""How the contract words values in its reasons: numbers as people write them, short excerpts."""

from __future__ import annotations

import math
import reprlib
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["describe", "format_number", "listed", "outside_range", "short"]

_SHOWN_CATEGORIES = 10


def format_number(value: float) -> str:
    """Numbers as people write them: ``10.9``, ``-5``, ``1e+06``."""
    if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def outside_range(
    values: np.ndarray, minimum: float | None, maximum: float | None, what: str
) -> dict[int, str]:
    """Row -> ``"-5 is below the minimum 0"`` for the values outside ``[minimum, maximum]``
    (``what``: ``"minimum"`` or ``"expected minimum"`` wording; NaN is never outside)."""
    reasons: dict[int, str] = {}
    limits = ((minimum, np.less, "below"), (maximum, np.greater, "above"))
    with np.errstate(invalid="ignore"):
        for limit, beyond, side in limits:
            if limit is None:
                continue
            bound = what.replace("minimum", "maximum") if side == "above" else what
            for index in np.flatnonzero(beyond(values, limit)):
                reasons.setdefault(
                    int(index),
                    f"{format_number(values[index])} is {side} the {bound} {format_number(limit)}",
                )
    return reasons


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
