"""Principals and scopes: who made a request, and what they may do.

Scopes are plain strings, the same in JWTs (the ``scope`` claim, space-separated as in
OAuth 2.0, or a list) and in API keys:

    predict:<model>   score with one model (any alias or version of it)
    predict:*         score with every model
    metrics           read /metrics
    admin             everything: register, promote, move aliases, delete, and the above

A token may carry scopes of other systems (``openid``, ``email``): they are ignored. What
modelport itself issues (API keys, development tokens) must name only scopes above.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from modelport.errors import InvalidName

__all__ = [
    "ADMIN",
    "ANONYMOUS",
    "METRICS",
    "Principal",
    "check_scopes",
    "read_scopes",
]

ADMIN = "admin"
METRICS = "metrics"
_PREDICT_ANY = "predict:*"
_SCOPE = re.compile(r"admin|metrics|predict:(?:\*|[a-z0-9](?:[a-z0-9_-]{0,62}[a-z0-9])?)")


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: ``subject`` (a JWT's ``sub``, an API key's name) and scopes.

    ``expires_at`` (UNIX seconds) is when the credentials stop being valid, if they do.
    """

    subject: str
    scopes: frozenset[str]
    method: str  # "jwt", "apikey" or "none" (authentication is off)
    expires_at: float | None = None

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.scopes

    def may_predict(self, model: str) -> bool:
        scopes = self.scopes
        return ADMIN in scopes or _PREDICT_ANY in scopes or f"predict:{model}" in scopes

    def may_read_metrics(self) -> bool:
        return ADMIN in self.scopes or METRICS in self.scopes

    @property
    def actor(self) -> str:
        """How the audit trail names this principal."""
        if self.method == "none":
            return "http (no authentication)"
        return f"{self.subject} ({self.method})"[:128]


ANONYMOUS = Principal("anonymous", frozenset({ADMIN}), "none")
"""Every caller when authentication is off: the server trusts its network."""


def read_scopes(claim: object) -> frozenset[str]:
    """The modelport scopes in a token's ``scope`` claim (a string or a list); others dropped."""
    if isinstance(claim, str):
        parts: Iterable[object] = claim.split()
    elif isinstance(claim, list | tuple):
        parts = claim
    else:
        return frozenset()
    return frozenset(p for p in parts if isinstance(p, str) and _SCOPE.fullmatch(p))


def check_scopes(scopes: Iterable[str]) -> list[str]:
    """Scopes for credentials modelport issues: every one must be a modelport scope."""
    checked = sorted({s.strip() for s in scopes if s.strip()})
    bad = [s for s in checked if not _SCOPE.fullmatch(s)]
    if bad:
        raise InvalidName(
            f"unknown scope {', '.join(repr(b) for b in bad)}: use admin, metrics, predict:* "
            "or predict:<model name>"
        )
    if not checked:
        raise InvalidName("give at least one scope (admin, metrics, predict:* or predict:NAME)")
    return checked
