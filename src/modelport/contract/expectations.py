"""Expectations: what the sample showed, as opposed to what the domain allows.

A hard limit (a declared bound, the sign the sample proves, a closed list of categories)
refuses a record. An expectation (the sample's range, the categories it showed for a
field whose model scores unseen ones) never does: a value outside it is scored, and the
answer carries a :class:`FieldWarning` naming the record, the field, the value and the
expectation. See ``docs/contract.md``.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from typing import Any

import numpy as np

from modelport.contract.fields import FieldSpec, UnknownCategoryPolicy
from modelport.contract.words import listed, outside_range, short

__all__ = [
    "FieldWarning",
    "categories_outside_expectations",
    "numbers_outside_expectations",
    "unwarned_categories",
    "unwarned_range",
]


@dataclass(frozen=True, slots=True)
class FieldWarning:
    """One value of an accepted record outside what the sample showed; it was scored.

    ``record`` indexes the input rows, exactly like :attr:`modelport.errors.FieldError.record`.
    """

    record: int
    field: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"record": self.record, "field": self.field, "reason": self.reason}

    def __str__(self) -> str:
        return f"record {self.record}, {self.field}: {self.reason}"


def numbers_outside_expectations(
    spec: FieldSpec, values: np.ndarray, skip: Container[int]
) -> dict[int, str]:
    """Row -> reason for the values outside the expected range (NaN, missing, is never)."""
    outside = outside_range(
        values, spec.expected_minimum, spec.expected_maximum, "expected minimum"
    )
    return {row: f"{reason} {_SAMPLE_RANGE}" for row, reason in outside.items() if row not in skip}


def categories_outside_expectations(
    spec: FieldSpec, values: np.ndarray, policy: UnknownCategoryPolicy, skip: Container[int]
) -> dict[int, str]:
    """Row -> reason for the strings outside the categories a value may take unwarned.

    A value outside ``categories`` is the validator's to refuse under
    ``unknown_categories=reject``; under ``allow`` it is scored and warned about here.
    A value outside ``expected_categories`` (the sample's, for a model that scores unseen
    categories) is always scored and warned about.
    """
    checks: list[tuple[frozenset[str], str]] = []
    if spec.categories is not None and policy is UnknownCategoryPolicy.ALLOW:
        known = f"known categories ({listed(spec.categories)})"
        checks.append((frozenset(spec.categories), f"{known}: {_ALLOWED}"))
    if spec.expected_categories is not None:
        expected = f"expected categories ({listed(spec.expected_categories)})"
        checks.append((frozenset(spec.expected_categories), f"{expected}: {_UNSEEN}"))
    reasons: dict[int, str] = {}
    if not checks:
        return reasons
    for row, value in enumerate(values):
        if value is None or row in skip:
            continue
        for allowed, words in checks:
            if value not in allowed:
                reasons[row] = f"{short(value)} is not one of the {words}"
                break
    return reasons


def unwarned_categories(spec: FieldSpec) -> frozenset[str] | None:
    """The strings that pass with neither a refusal nor a warning (``None``: any string)."""
    sets = [frozenset(c) for c in (spec.categories, spec.expected_categories) if c is not None]
    if not sets:
        return None
    return frozenset.intersection(*sets)


def unwarned_range(spec: FieldSpec) -> tuple[float | None, float | None]:
    """The tighter of the hard and the expected bounds on each side."""
    low = _tighter(spec.minimum, spec.expected_minimum, max)
    high = _tighter(spec.maximum, spec.expected_maximum, min)
    return low, high


def _tighter(hard: float | None, expected: float | None, pick: Any) -> float | None:
    if hard is None:
        return expected
    if expected is None:
        return hard
    return float(pick(hard, expected))


_SAMPLE_RANGE = "(the sample's range; scored, not refused)"
_UNSEEN = "scored as a category the model never saw"
_ALLOWED = "passed to the model (unknown_categories=allow)"
