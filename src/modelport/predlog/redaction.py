"""Keeping personal data out of the prediction log: drop some fields, hash others.

Inputs after enrichment can hold what must not be stored in plain form (a name, an e-mail
address, a customer number). ``drop`` removes a field from ``inputs`` and ``entity``;
``hash`` replaces its value with a keyed SHA-256 (HMAC-SHA256, the salt as key, hex), so
records of the same customer can still be joined and counted but the id cannot be read
back, nor found by hashing every likely id without the salt. A hashed field of a string
value is hashed as its UTF-8 text, any other value as its JSON text, so ``42`` and ``"42"``
hash alike (an id is often a number in one system and a string in the next). ``None``
stays ``None``. Only top-level keys are matched.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from collections.abc import Iterable
from typing import Any

import orjson

from modelport.predlog.record import PredictionRecord

__all__ = ["Redactor"]


class Redactor:
    """Applies ``drop`` and ``hash`` to the ``inputs`` and ``entity`` of records."""

    def __init__(
        self, drop: Iterable[str] = (), hash: Iterable[str] = (), salt: str | bytes = b""
    ) -> None:
        self.drop = frozenset(drop)
        self.hash = frozenset(hash) - self.drop
        key = salt.encode() if isinstance(salt, str) else salt
        if self.hash and not key:
            raise ValueError(
                "hashing fields needs a salt: without one, an id is found back by hashing "
                "every likely id"
            )
        self._key = key
        self._touched = self.drop | self.hash

    @property
    def active(self) -> bool:
        """Whether this redactor changes anything."""
        return bool(self._touched)

    def hash_value(self, value: Any) -> str | None:
        """The hex digest a hashed field's ``value`` is logged as (to join with it later)."""
        if value is None:
            return None
        text = value.encode() if isinstance(value, str) else orjson.dumps(value, default=str)
        return hmac.new(self._key, text, hashlib.sha256).hexdigest()

    def apply(self, record: PredictionRecord) -> PredictionRecord:
        """``record`` with its fields dropped and hashed (itself when nothing applies)."""
        if not self._touched:
            return record
        inputs = self._fields(record.inputs)
        entity = None if record.entity is None else self._fields(record.entity)
        if inputs is record.inputs and entity is record.entity:
            return record
        return dataclasses.replace(record, inputs=inputs, entity=entity)

    def _fields(self, fields: dict[str, Any]) -> dict[str, Any]:
        if self._touched.isdisjoint(fields):
            return fields
        return {
            key: self.hash_value(value) if key in self.hash else value
            for key, value in fields.items()
            if key not in self.drop
        }
