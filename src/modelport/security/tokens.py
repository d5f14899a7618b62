"""JWT bearer tokens: verified against the key the settings name, and issued for development.

Three ways to say which key signs tokens (``MODELPORT_JWT_*``):

    JWT_SECRET            HS256 with a shared secret (at least 32 bytes)
    JWT_PUBLIC_KEY_FILE   RS256 or ES256 with one PEM public key (the key's type decides)
    JWT_JWKS_FILE         RS256 or ES256 with the keys of a JWKS file, chosen by ``kid``

The accepted algorithm comes from the key, never from the token: a token's ``alg``
header cannot switch an RSA public key into an HMAC secret, and ``none`` is never
accepted. ``exp`` and ``sub`` are required; ``nbf``, ``iss`` and ``aud`` are checked
(``iss`` and ``aud`` when configured, with ``JWT_LEEWAY_SECONDS`` of clock skew).
Verified tokens are remembered (bounded), so a client that reuses its token pays for the
signature check once, not on every request; each use still checks ``exp``.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from jwt.exceptions import InvalidSubjectError

from modelport.errors import ConfigurationError, Unauthenticated
from modelport.security.principals import Principal, check_scopes, read_scopes
from modelport.settings import Settings

__all__ = ["TokenVerifier", "issue_token"]

_MIN_SECRET_BYTES = 32
_REMEMBERED = 4096
_ASYMMETRIC = {"RS256", "ES256"}


class TokenVerifier:
    """Checks bearer tokens; :meth:`from_settings` reads the key once at startup."""

    def __init__(
        self,
        keys: dict[str | None, tuple[Any, str]],
        *,
        issuer: str | None = None,
        audience: str | None = None,
        leeway: float = 30.0,
    ) -> None:
        """``keys`` maps a ``kid`` (``None``: tokens without one) to (key, algorithm)."""
        self._keys = keys
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
        self._verified: OrderedDict[str, Principal] = OrderedDict()

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenVerifier:
        given = [
            name
            for name, value in (
                ("MODELPORT_JWT_SECRET", settings.jwt_secret),
                ("MODELPORT_JWT_PUBLIC_KEY_FILE", settings.jwt_public_key_file),
                ("MODELPORT_JWT_JWKS_FILE", settings.jwt_jwks_file),
            )
            if value is not None
        ]
        if len(given) != 1:
            raise ConfigurationError(
                "MODELPORT_AUTH=jwt needs exactly one key: MODELPORT_JWT_SECRET (HS256), "
                "MODELPORT_JWT_PUBLIC_KEY_FILE (RS256/ES256 PEM) or MODELPORT_JWT_JWKS_FILE"
                + (f"; got {' and '.join(given)}" if given else "")
            )
        keys: dict[str | None, tuple[Any, str]] = {}
        if settings.jwt_secret is not None:
            keys = {None: (hs256_secret(settings.jwt_secret.get_secret_value()), "HS256")}
        elif settings.jwt_public_key_file is not None:
            keys = {None: _pem_key(settings.jwt_public_key_file)}
        elif settings.jwt_jwks_file is not None:
            keys = _jwks_keys(settings.jwt_jwks_file)
        return cls(
            keys,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            leeway=settings.jwt_leeway_seconds,
        )

    def verify(self, token: str) -> Principal:
        """The principal ``token`` proves, or :class:`Unauthenticated` saying why not."""
        known = self._verified.get(token)
        if known is not None:
            if known.expires_at is not None and known.expires_at + self.leeway < time.time():
                del self._verified[token]
                raise Unauthenticated("the token has expired")
            return known
        principal = self._decode(token)
        self._verified[token] = principal
        if len(self._verified) > _REMEMBERED:
            self._verified.popitem(last=False)
        return principal

    def _decode(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthenticated("the bearer token is not a JWT") from None
        kid = header.get("kid")
        found = self._keys.get(kid if isinstance(kid, str) else None)
        if found is None:
            found = self._keys.get(None) if len(self._keys) == 1 else None
        if found is None:
            raise Unauthenticated("the token was signed by a key this server does not know")
        key, algorithm = found
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "sub"], "verify_aud": self.audience is not None},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise Unauthenticated("the token is not valid yet (nbf)") from None
        except jwt.InvalidAudienceError:
            raise Unauthenticated("the token is for another audience (aud)") from None
        except jwt.InvalidIssuerError:
            raise Unauthenticated("the token is from another issuer (iss)") from None
        except jwt.MissingRequiredClaimError as exc:
            raise Unauthenticated(f"the token has no {exc.claim!r} claim") from None
        except InvalidSubjectError:
            raise Unauthenticated("the token's 'sub' claim must be a non-empty string") from None
        except jwt.InvalidAlgorithmError:
            raise Unauthenticated(f"the token must be signed with {algorithm}") from None
        except jwt.PyJWTError:
            raise Unauthenticated("the token's signature does not verify") from None
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject:
            raise Unauthenticated("the token's 'sub' claim must be a non-empty string")
        exp = claims["exp"]
        if isinstance(exp, bool) or not isinstance(exp, int | float):
            # RFC 7519's NumericDate is a JSON number; PyJWT also takes "1700000000",
            # and a token remembered with no known expiry would never expire here
            raise Unauthenticated("the token's 'exp' claim must be a number (NumericDate)")
        return Principal(
            subject=subject[:100],
            scopes=read_scopes(claims.get("scope", claims.get("scp"))),
            method="jwt",
            expires_at=float(exp),
        )


def hs256_secret(secret: str) -> bytes:
    raw = secret.encode("utf-8")
    if len(raw) < _MIN_SECRET_BYTES:
        raise ConfigurationError(
            f"MODELPORT_JWT_SECRET is {len(raw)} bytes; HS256 needs at least "
            f"{_MIN_SECRET_BYTES} random bytes (e.g. `openssl rand -hex 32`)"
        )
    return raw


def issue_token(
    subject: str,
    scopes: Iterable[str],
    *,
    expires_in: float,
    secret: str | None = None,
    private_key_pem: bytes | None = None,
    algorithm: str = "HS256",
    issuer: str | None = None,
    audience: str | None = None,
    key_id: str | None = None,
) -> str:
    """A signed token for ``subject`` (development and tests; production tokens come from
    an identity provider)."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": subject,
        "scope": " ".join(check_scopes(scopes)),
        "iat": now,
        "nbf": now,
        "exp": now + max(1, int(expires_in)),
    }
    if issuer:
        claims["iss"] = issuer
    if audience:
        claims["aud"] = audience
    headers = {"kid": key_id} if key_id else None
    if algorithm == "HS256":
        if secret is None:
            raise ConfigurationError("an HS256 token needs the secret (MODELPORT_JWT_SECRET)")
        return jwt.encode(claims, hs256_secret(secret), algorithm="HS256", headers=headers)
    if algorithm not in _ASYMMETRIC or private_key_pem is None:
        raise ConfigurationError("use HS256 with a secret, or RS256/ES256 with a private key")
    return jwt.encode(claims, private_key_pem, algorithm=algorithm, headers=headers)


def _pem_key(path: Path) -> tuple[Any, str]:
    try:
        key = load_pem_public_key(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read the JWT public key {path}: {exc}") from None
    if isinstance(key, rsa.RSAPublicKey):
        return key, "RS256"
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return key, "ES256"
    raise ConfigurationError(f"{path} must hold an RSA or a P-256 EC public key")


def _jwks_keys(path: Path) -> dict[str | None, tuple[Any, str]]:
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
        entries = document["keys"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError(f"cannot read the JWKS file {path}: {exc}") from None
    keys: dict[str | None, tuple[Any, str]] = {}
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        algorithm = entry.get("alg") or {"RSA": "RS256", "EC": "ES256"}.get(entry.get("kty", ""))
        if algorithm not in _ASYMMETRIC:
            continue
        try:
            key = jwt.PyJWK(entry, algorithm).key
        except jwt.PyJWTError as exc:
            raise ConfigurationError(f"{path}: key {entry.get('kid')!r}: {exc}") from None
        keys[entry.get("kid")] = (key, algorithm)
    if not keys:
        raise ConfigurationError(f"{path} holds no RS256 or ES256 signing key")
    return keys
