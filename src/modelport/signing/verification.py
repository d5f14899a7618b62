"""Whether a package digest is vouched for: the checks the registry runs on its signatures.

Two questions, kept apart:

- :func:`check_signatures` (every registration, required or not): which signatures are
  worth keeping for this digest. Entries for other digests are dropped; an entry by a
  trusted key that does not verify is an error, never stored silently; entries by keys
  this machine does not trust are kept unverified (another machine may trust them and
  will verify them there).
- :func:`require_trusted` (when signatures are required): is there at least one valid
  signature by a trusted key? If not, :class:`SignatureError` says why: unsigned, signed
  only by untrusted keys (naming the trusted ones), or a signature that does not verify.
"""

from __future__ import annotations

from collections.abc import Sequence

from modelport.errors import SignatureError
from modelport.signing.keyring import Keyring
from modelport.signing.signatures import Signature, verifies

__all__ = ["check_signatures", "require_trusted"]


def check_signatures(
    digest: str, signatures: Sequence[Signature], keyring: Keyring | None, *, subject: str
) -> list[Signature]:
    """The signatures over ``digest`` (one per key), each one a trusted key can check
    verified; raises :class:`SignatureError` naming the key of one that does not verify."""
    kept: dict[str, Signature] = {}
    for signature in signatures:
        if signature.digest != digest:
            continue
        trusted = keyring.find(signature.key_id) if keyring is not None else None
        if trusted is not None and not verifies(signature, trusted.public_key):
            raise SignatureError(_altered(subject, signature))
        kept[signature.key_id] = signature
    return list(kept.values())


def require_trusted(
    digest: str, signatures: Sequence[Signature], keyring: Keyring | None, *, subject: str
) -> Signature:
    """A valid signature over ``digest`` by a trusted key, else a refusal saying why (a
    signature by a trusted key that does not verify is named before untrusted keys)."""
    relevant = [s for s in signatures if s.digest == digest]
    if not relevant:
        elsewhere = sorted({s.digest[:12] for s in signatures})
        detail = (
            f" (its signatures are over other packages: {', '.join(elsewhere)}; "
            "it changed after it was signed)"
            if elsewhere
            else ""
        )
        raise SignatureError(
            f"{subject} is refused: unsigned{detail}; signatures are required, "
            "sign it with `modelport sign ... --key KEY`"
        )
    untrusted: list[str] = []
    altered: list[Signature] = []
    for signature in relevant:
        trusted = keyring.find(signature.key_id) if keyring is not None else None
        if trusted is None:
            untrusted.append(signature.key_id)
        elif verifies(signature, trusted.public_key):
            return signature
        else:
            altered.append(signature)
    if altered:
        raise SignatureError(_altered(subject, altered[0]))
    shown = keyring.describe() if keyring is not None else "none"
    many = len(untrusted) > 1
    raise SignatureError(
        f"{subject} is refused: signed by key{'s' if many else ''} {', '.join(untrusted)} "
        f"which {'are' if many else 'is'} not trusted (trusted: {shown}); "
        "trust the signer's public key with `modelport keys trust`"
    )


def _altered(subject: str, signature: Signature) -> str:
    return (
        f"{subject} is refused: signature by key {signature.key_id} does not verify: "
        "the package or signature was altered"
    )
