"""What the registry's mixins stand on: its transactions, provided by
:class:`~modelport.registry.Registry` (``_write`` runs ``work`` in one write transaction,
retried on conflict; ``_reading`` opens a read-only session)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TypeVar

from sqlalchemy.orm import Session

__all__ = ["Transactions"]

T = TypeVar("T")


class Transactions:
    def _write(self, work: Callable[[Session], T]) -> T:
        raise NotImplementedError

    def _reading(self) -> AbstractContextManager[Session]:
        raise NotImplementedError
