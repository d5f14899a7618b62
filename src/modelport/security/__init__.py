"""Who is asking, and may they: principals and scopes, JWTs, API keys, rate limits.

Transport-neutral: the HTTP server (:mod:`modelport.server.auth`) reads credentials from
headers and asks this package; nothing here knows about HTTP.
"""

from typing import TYPE_CHECKING, Any

from modelport.security.api_keys import API_KEY_PREFIX, ApiKey, ApiKeyVerifier, new_api_key
from modelport.security.principals import ANONYMOUS, Principal, check_scopes, read_scopes
from modelport.security.rate_limit import RateLimiter

if TYPE_CHECKING:
    from modelport.security.tokens import TokenVerifier, issue_token

__all__ = [
    "ANONYMOUS",
    "API_KEY_PREFIX",
    "ApiKey",
    "ApiKeyVerifier",
    "Principal",
    "RateLimiter",
    "TokenVerifier",
    "check_scopes",
    "issue_token",
    "new_api_key",
    "read_scopes",
]


def __getattr__(name: str) -> Any:
    # PyJWT is imported only where tokens are used: a server without JWT auth never needs it
    if name in ("TokenVerifier", "issue_token"):
        from modelport.security import tokens

        return getattr(tokens, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
