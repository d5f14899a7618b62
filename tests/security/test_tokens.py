"""JWT verification: HS256, RS256 from a PEM file, ES256 from a JWKS file; every claim
checked; the algorithm comes from the key, never from the token."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pydantic import SecretStr

from modelport.errors import ConfigurationError, InvalidName, Unauthenticated
from modelport.security.tokens import TokenVerifier, issue_token
from modelport.settings import Settings

SECRET = "0123456789abcdef0123456789abcdef-hs256"


def _claims(**extra: Any) -> dict[str, Any]:
    return {"sub": "svc", "scope": "predict:loan metrics", "exp": int(time.time()) + 60} | extra


def _settings(tmp_path: Path, **values: Any) -> Settings:
    return Settings(home=tmp_path, auth="jwt", **values)


def test_hs256_tokens_give_their_subject_and_modelport_scopes(tmp_path: Path) -> None:
    verifier = TokenVerifier.from_settings(_settings(tmp_path, jwt_secret=SecretStr(SECRET)))
    principal = verifier.verify(jwt.encode(_claims(scope="openid predict:loan"), SECRET))
    assert principal.subject == "svc"
    assert principal.scopes == frozenset({"predict:loan"})
    assert principal.may_predict("loan") and not principal.may_predict("other")
    assert not principal.is_admin and not principal.may_read_metrics()
    listed = verifier.verify(jwt.encode(_claims(scope=["admin", 7]), SECRET))
    assert listed.is_admin and listed.may_predict("anything")


def test_a_short_secret_or_no_key_or_two_keys_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="at least 32"):
        TokenVerifier.from_settings(_settings(tmp_path, jwt_secret=SecretStr("short")))
    with pytest.raises(ConfigurationError, match="exactly one key"):
        TokenVerifier.from_settings(_settings(tmp_path))
    pem = tmp_path / "k.pem"
    pem.write_text("not a key")
    with pytest.raises(ConfigurationError, match="exactly one key"):
        TokenVerifier.from_settings(
            _settings(tmp_path, jwt_secret=SecretStr(SECRET), jwt_public_key_file=pem)
        )
    with pytest.raises(ConfigurationError, match="cannot read"):
        TokenVerifier.from_settings(_settings(tmp_path, jwt_public_key_file=pem))


def _rsa_files(tmp_path: Path) -> tuple[bytes, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = tmp_path / "rsa.pub.pem"
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


def test_rs256_with_a_public_key_file_and_no_algorithm_confusion(tmp_path: Path) -> None:
    private, public = _rsa_files(tmp_path)
    verifier = TokenVerifier.from_settings(_settings(tmp_path, jwt_public_key_file=public))
    good = issue_token("ci", ["admin"], expires_in=60, private_key_pem=private, algorithm="RS256")
    assert verifier.verify(good).is_admin
    # the classic attack: HS256 "signed" with the public key's bytes as the secret
    forged = jwt.api_jws.PyJWS()
    forged._algorithms["HS256"].prepare_key = lambda key: key  # allow a PEM as an HMAC key
    header = {"alg": "HS256", "typ": "JWT"}
    token = forged.encode(
        json.dumps(_claims(scope="admin")).encode(), public.read_bytes(), "HS256", header
    )
    with pytest.raises(Unauthenticated, match="RS256"):
        verifier.verify(token)
    unsigned = jwt.encode(_claims(scope="admin"), None, algorithm="none")
    with pytest.raises(Unauthenticated):
        verifier.verify(unsigned)


def test_es256_from_a_jwks_file_picks_the_key_by_kid(tmp_path: Path) -> None:
    keys = {kid: ec.generate_private_key(ec.SECP256R1()) for kid in ("one", "two")}
    entries = []
    for kid, key in keys.items():
        entry = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
        entries.append(entry | {"kid": kid, "alg": "ES256", "use": "sig"})
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": entries}))
    verifier = TokenVerifier.from_settings(_settings(tmp_path, jwt_jwks_file=jwks))
    for kid, key in keys.items():
        token = jwt.encode(_claims(sub=kid), key, "ES256", headers={"kid": kid})
        assert verifier.verify(token).subject == kid
    swapped = jwt.encode(_claims(), keys["one"], "ES256", headers={"kid": "two"})
    with pytest.raises(Unauthenticated, match="signature"):
        verifier.verify(swapped)
    stranger = jwt.encode(_claims(), keys["one"], "ES256", headers={"kid": "three"})
    with pytest.raises(Unauthenticated, match="does not know"):
        verifier.verify(stranger)


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": -120}, "expired"),  # times: seconds from when the test runs
        ({"nbf": 120}, "not valid yet"),
        ({"iss": "https://other/"}, "issuer"),
        ({"aud": "other"}, "audience"),
        ({"exp": None}, "'exp'"),
        ({"sub": None}, "'sub'"),
        ({"sub": 42}, "sub"),
    ],
)
def test_claims_are_checked(tmp_path: Path, claims: dict[str, Any], reason: str) -> None:
    settings = _settings(
        tmp_path, jwt_secret=SecretStr(SECRET), jwt_issuer="https://idp/", jwt_audience="mp"
    )
    verifier = TokenVerifier.from_settings(settings)
    now = int(time.time())
    relative = {k: now + v for k, v in claims.items() if k in ("exp", "nbf") and v is not None}
    payload = _claims(iss="https://idp/", aud="mp") | claims | relative
    token = jwt.encode({k: v for k, v in payload.items() if v is not None}, SECRET)
    with pytest.raises(Unauthenticated, match=reason):
        verifier.verify(token)


def test_a_remembered_token_still_expires(tmp_path: Path) -> None:
    verifier = TokenVerifier.from_settings(
        _settings(tmp_path, jwt_secret=SecretStr(SECRET), jwt_leeway_seconds=0)
    )
    token = jwt.encode(_claims(exp=int(time.time()) + 1), SECRET)
    assert verifier.verify(token).subject == "svc"
    time.sleep(2.1)
    with pytest.raises(Unauthenticated, match="expired"):
        verifier.verify(token)


def test_an_expiry_that_is_not_a_number_is_refused(tmp_path: Path) -> None:
    # PyJWT takes "exp": "<digits>"; remembered without a known expiry, such a token
    # would have been accepted for ever after its first use.
    verifier = TokenVerifier.from_settings(_settings(tmp_path, jwt_secret=SecretStr(SECRET)))
    token = jwt.encode(_claims(exp=str(int(time.time()) + 60)), SECRET)
    for _ in range(2):
        with pytest.raises(Unauthenticated, match="'exp' claim must be a number"):
            verifier.verify(token)


def test_issued_tokens_name_only_modelport_scopes() -> None:
    with pytest.raises(InvalidName, match="unknown scope"):
        issue_token("a", ["predict:Bad Name"], expires_in=60, secret=SECRET)
    with pytest.raises(InvalidName, match="at least one"):
        issue_token("a", [], expires_in=60, secret=SECRET)


def test_the_door_remembers_a_token_only_until_it_expires(tmp_path: Path) -> None:
    import asyncio

    from modelport.server.auth import Authenticator

    verifier = TokenVerifier.from_settings(
        _settings(tmp_path, jwt_secret=SecretStr(SECRET), jwt_leeway_seconds=0)
    )
    door = Authenticator(tokens=verifier)
    token = jwt.encode(_claims(exp=int(time.time()) + 1), SECRET)
    scope = {"type": "http", "headers": [(b"authorization", f"Bearer {token}".encode())]}
    assert asyncio.run(door.authenticate(scope)).subject == "svc"
    assert asyncio.run(door.authenticate(scope)).subject == "svc"  # remembered
    time.sleep(2.1)
    with pytest.raises(Unauthenticated, match="expired"):
        asyncio.run(door.authenticate(scope))
