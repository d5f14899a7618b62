"""Package signatures in the registry: kept by digest, checked on registration and load.

Reached as ``registry.signatures``. Signing itself, the keyring of trusted
public keys and the checks are :mod:`modelport.signing`; here is what the registry keeps
(the ``package_signatures`` table) and when it insists (``require_signature``).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from modelport.errors import SignatureError
from modelport.registry.audit import Action, default_actor, record_event
from modelport.registry.database import Database
from modelport.registry.records import ModelVersion
from modelport.registry.refs import ModelRef
from modelport.registry.schema import SignatureRow
from modelport.signing import (
    Keyring,
    Signature,
    SourceSignatures,
    check_signatures,
    require_trusted,
    source_signatures,
)

__all__ = ["Signatures", "put_signatures", "signatures_of"]


class Signatures:
    """Signatures of registered packages, as ``registry.signatures``: added, listed, and
    held to the registry's rule (``require_signature``, with the keys of ``keyring``).

    ``resolve`` is the registry's: the version a reference names.
    """

    def __init__(
        self,
        database: Database,
        resolve: Callable[[str | ModelRef], ModelVersion],
        *,
        keyring: Keyring | None = None,
        require_signature: bool = False,
    ) -> None:
        self._database = database
        self._resolve = resolve
        self.keyring = keyring
        self.require_signature = require_signature

    def add(
        self, ref: str | ModelRef, signature: Signature, *, actor: str | None = None
    ) -> ModelVersion:
        """Keep ``signature`` for the package of the version ``ref`` names (replacing an
        earlier one by the same key): a version can be signed after it was registered.

        The signature must be over that version's digest; if its key is trusted here it
        must verify (:class:`SignatureError` otherwise). The audit trail records it in the
        same transaction.
        """
        who = actor or default_actor()
        version = self._resolve(ref)
        subject = f"{version.name}:{version.version} (package {version.digest[:12]})"
        if signature.digest != version.digest:
            raise SignatureError(
                f"the signature by key {signature.key_id} is over package "
                f"{signature.digest[:12]}, not {subject}"
            )
        kept = check_signatures(version.digest, [signature], self.keyring, subject=subject)

        def keep(session: Session) -> None:
            put_signatures(session, version.digest, kept, who)
            record_event(
                session,
                actor=who,
                action=Action.SIGN,
                model=version.name,
                version=version.version,
                detail={"key_id": signature.key_id, "digest": version.digest},
            )

        self._database.write(keep)
        return version

    def list(self, ref: str | ModelRef) -> builtins.list[Signature]:
        """The signatures kept for the package of the version ``ref`` names (unverified:
        what a signature is worth depends on the keys each machine trusts)."""
        version = self._resolve(ref)
        with self._database.reading() as session:
            return signatures_of(session, version.digest)

    def carried(self, source: Path) -> SourceSignatures:
        """The signatures the package at ``source`` brings, checked against the digest its
        manifest claims (so a refusal comes before anything is stored)."""
        carried = source_signatures(source)
        if carried.claimed_digest is not None:
            self.vouch(carried.claimed_digest, carried.signatures, f"the package {source}")
        return carried

    def vouch(
        self, digest: str, carried: Sequence[Signature], subject: str
    ) -> builtins.list[Signature]:
        """The signatures over ``digest`` worth keeping; with ``require_signature``, one of
        them must be a trusted key's valid signature."""
        kept = check_signatures(digest, carried, self.keyring, subject=subject)
        if self.require_signature:  # all carried: a refusal can say they sign other packages
            require_trusted(digest, carried, self.keyring, subject=subject)
        return kept

    def require_signed(self, version: ModelVersion) -> None:
        """:class:`SignatureError` unless a trusted key's valid signature is kept for it."""
        with self._database.reading() as session:
            kept = signatures_of(session, version.digest)
        subject = f"{version.name}:{version.version} (package {version.digest[:12]})"
        require_trusted(version.digest, kept, self.keyring, subject=subject)


def put_signatures(
    session: Session, digest: str, signatures: Sequence[Signature], actor: str
) -> None:
    """Keep each signature over ``digest``, replacing the same key's earlier one."""
    now = datetime.now(UTC)
    for signature in signatures:
        row = session.scalar(
            select(SignatureRow).where(
                SignatureRow.digest == digest, SignatureRow.key_id == signature.key_id
            )
        )
        if row is None:
            session.add(
                SignatureRow(
                    digest=digest,
                    key_id=signature.key_id,
                    signature=signature.encoded,
                    added_at=now,
                    added_by=actor,
                )
            )
        elif row.signature != signature.encoded:
            row.signature, row.added_at, row.added_by = signature.encoded, now, actor
    session.flush()


def signatures_of(session: Session, digest: str) -> list[Signature]:
    """The signatures kept for ``digest``. A row that is not even well formed (altered in
    the database) is kept as a signature that can never verify, so it is refused as one."""
    rows = session.scalars(
        select(SignatureRow).where(SignatureRow.digest == digest).order_by(SignatureRow.id)
    )
    signatures = []
    for row in rows:
        try:
            signature = Signature.from_parts(
                row.key_id, row.digest, row.signature, origin="registry signature"
            )
        except SignatureError:
            signature = Signature(key_id=row.key_id, digest=row.digest, value=b"")
        signatures.append(signature)
    return signatures
