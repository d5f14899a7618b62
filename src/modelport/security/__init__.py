"""Who is asking, and may they: principals and scopes, JWTs, API keys, rate limits.

Transport-neutral: the HTTP server (:mod:`modelport.server.auth`) reads credentials from
headers and asks this package; nothing here knows about HTTP. JWTs are in
:mod:`modelport.security.tokens`, which needs PyJWT (the ``server`` extra); what is here
needs only the core install (the registry keeps API keys).
"""

from modelport.security.api_keys import API_KEY_PREFIX, ApiKey, ApiKeyVerifier, new_api_key
from modelport.security.principals import ANONYMOUS, Principal, check_scopes, read_scopes
from modelport.security.rate_limit import RateLimiter

__all__ = [
    "ANONYMOUS",
    "API_KEY_PREFIX",
    "ApiKey",
    "ApiKeyVerifier",
    "Principal",
    "RateLimiter",
    "check_scopes",
    "new_api_key",
    "read_scopes",
]
