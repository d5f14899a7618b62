"""Expectations: what the sample showed, as opposed to what the domain allows.

A hard limit (a declared bound, the sign the sample proves, a closed list of categories)
refuses a record. An expectation (the sample's range, the categories it showed for a
field whose model scores unseen ones) never does: a value outside it is scored, and the
answer carries a :class:`FieldWarning` naming the record, the field, the value and the
expectation. See ``docs/contract.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["FieldWarning"]


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
