"""Authentication and rate limits at the door: every request but the health probes.

    Authorization: Bearer <JWT>          MODELPORT_AUTH=jwt     (modelport.security.tokens)
    Authorization: Bearer mpk_...        MODELPORT_AUTH=apikey  (modelport.security.api_keys)
    X-API-Key: mpk_...                   the same, for clients that cannot set a bearer token

A request without valid credentials is answered 401 before anything else happens: its
body is not read and no route, model or version is looked at, so nothing about the
deployment leaks. A principal over its rate gets 429 with ``Retry-After``. The principal
is left on the scope (``PRINCIPAL_KEY``); its scopes are checked where what is asked for
is known (the dataplane for models, :func:`require_admin` here): 403 names the scope.

With authentication off (``MODELPORT_AUTH=none``) every caller is
:data:`~modelport.security.principals.ANONYMOUS`, and rate limits apply per client address.
"""

from __future__ import annotations

import contextlib
import time
from collections import OrderedDict
from typing import TYPE_CHECKING

from anyio import to_thread
from starlette.types import ASGIApp, Receive, Scope, Send

from modelport.errors import Forbidden, RateLimited, Unauthenticated
from modelport.security.api_keys import API_KEY_PREFIX, ApiKeyVerifier
from modelport.security.principals import ANONYMOUS, Principal
from modelport.security.rate_limit import RateLimiter
from modelport.server.asgi import refuse
from modelport.server.errors import modelport_refusal
from modelport.settings import Settings

if TYPE_CHECKING:
    from modelport.registry import Registry
    from modelport.security.tokens import TokenVerifier

__all__ = [
    "PRINCIPAL_KEY",
    "PUBLIC_PATHS",
    "AuthMiddleware",
    "Authenticator",
    "principal_of",
    "require_admin",
]

PRINCIPAL_KEY = "modelport.principal"  # scope key: the Principal the request proved
PUBLIC_PATHS = frozenset({"/healthz", "/readyz"})  # probes: no credentials, no details
_REMEMBERED = 4096


class Authenticator:
    """Who a request is (credentials checked) and whether its rate allows it now."""

    def __init__(
        self,
        tokens: TokenVerifier | None = None,
        keys: ApiKeyVerifier | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.tokens = tokens
        self.keys = keys
        self.limiter = limiter
        self.enabled = tokens is not None or keys is not None
        # the raw header of a token that verified -> (principal, valid until): a client
        # reusing its token costs one dict lookup, not a header decode and a verification
        self._recent: OrderedDict[bytes, tuple[Principal, float]] = OrderedDict()

    @classmethod
    def from_settings(cls, settings: Settings, registry: Registry) -> Authenticator:
        methods = settings.auth_methods
        tokens = None
        if "jwt" in methods:
            from modelport.security.tokens import TokenVerifier

            tokens = TokenVerifier.from_settings(settings)
        keys = ApiKeyVerifier(registry.api_keys.find) if "apikey" in methods else None
        limiter = None
        if settings.rate_limit_per_second > 0:
            limiter = RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)
        return cls(tokens, keys, limiter)

    async def authenticate(self, scope: Scope) -> Principal:
        """The request's principal; :class:`Unauthenticated` or :class:`RateLimited`."""
        if not self.enabled:
            principal = ANONYMOUS
        else:
            header = _credential_header(scope)
            raw = None if header is None else header[1]
            hit = None if raw is None else self._recent.get(raw)
            if hit is not None and hit[1] > time.time():
                principal = hit[0]
            else:
                principal = await self._principal(scope)
                if raw is not None:
                    self._remember(raw, principal)
        if self.limiter is not None:
            if principal is ANONYMOUS:
                client = scope.get("client")
                who = f"address {client[0] if client else '?'}"
            else:
                who = f"{principal.method} {principal.subject}"
            wait = self.limiter.take(who)
            if wait > 0:
                raise RateLimited(
                    f"too many requests: the limit is {self.limiter.rate:g} a second; "
                    f"retry in {wait:.2f} s",
                    retry_after=wait,
                )
        return principal

    def _remember(self, raw: bytes, principal: Principal) -> None:
        """A token until it expires (at most a minute). Not API keys: their own verifier
        remembers them for its TTL, so that a revocation shows within it."""
        if principal.method != "jwt":
            return
        until = time.time() + 60
        if principal.expires_at is not None:
            until = min(until, principal.expires_at)
        self._recent[raw] = (principal, until)
        if len(self._recent) > _REMEMBERED:
            self._recent.popitem(last=False)

    async def _principal(self, scope: Scope) -> Principal:
        credential = _credential(scope)
        if credential is None:
            raise Unauthenticated(
                "authentication required: send Authorization: Bearer <token or API key>"
            )
        if credential.startswith(API_KEY_PREFIX):
            if self.keys is None:
                raise Unauthenticated("this server does not accept API keys; send a JWT")
            principal = self.keys.cached(credential)
            if principal is None:
                principal = await to_thread.run_sync(self.keys.verify, credential)
            return principal
        if self.tokens is None:
            raise Unauthenticated("this server accepts API keys (mpk_...), not tokens")
        return self.tokens.verify(credential)


class AuthMiddleware:
    """Authenticate (and rate-limit) every request except :data:`PUBLIC_PATHS`."""

    def __init__(self, app: ASGIApp, authenticator: Authenticator) -> None:
        self.app = app
        self.authenticator = authenticator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] not in PUBLIC_PATHS:
            try:
                scope[PRINCIPAL_KEY] = await self.authenticator.authenticate(scope)
            except (Unauthenticated, RateLimited) as refused:
                await refuse(scope, send, modelport_refusal(refused))
                return
        elif not self.authenticator.enabled:
            scope[PRINCIPAL_KEY] = ANONYMOUS
        elif scope["type"] == "http" and _credential_given(scope):
            # a probe with credentials gets the details (readiness reasons); without, none
            with contextlib.suppress(Unauthenticated, RateLimited):
                scope[PRINCIPAL_KEY] = await self.authenticator.authenticate(scope)
        await self.app(scope, receive, send)


def principal_of(scope: Scope) -> Principal | None:
    """The request's principal; ``None`` on a public path with authentication on."""
    principal: Principal | None = scope.get(PRINCIPAL_KEY)
    return principal


def require_admin(scope: Scope) -> None:
    principal = principal_of(scope)
    if principal is None or not principal.is_admin:
        raise Forbidden("this needs the admin scope")


def _credential_header(scope: Scope) -> tuple[bytes, bytes] | None:
    """The header credentials are read from: the first ``Authorization``, or a non-empty
    ``X-API-Key`` (an empty one, a client's unset variable, does not hide a bearer token).
    Its raw value is also what the door remembers a verified token by."""
    for name, value in scope["headers"]:
        if name == b"authorization" or (name == b"x-api-key" and value.strip()):
            return name, value
    return None


def _credential_given(scope: Scope) -> bool:
    return any(name in (b"authorization", b"x-api-key") for name, _ in scope["headers"])


def _credential(scope: Scope) -> str | None:
    header = _credential_header(scope)
    if header is None:
        return None
    name, value = header
    text = value.decode("latin-1")
    if name == b"x-api-key":
        return text.strip()
    scheme, _, rest = text.partition(" ")
    if scheme.lower() != "bearer" or not rest.strip():
        raise Unauthenticated("use Authorization: Bearer <token or API key>")
    return rest.strip()
