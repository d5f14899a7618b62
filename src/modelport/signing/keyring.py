"""The public keys this machine trusts to vouch for packages: a directory of PEM files.

Trust is kept on each machine (``MODELPORT_TRUSTED_KEYS_DIR``, by default
``$MODELPORT_HOME/trusted-keys``), one ``<name>.pub`` file per key, and NEVER in the
registry database. The registry database is shared and written by many (CI jobs,
the admin API, anyone with its credentials); if it also held the trusted keys, whoever
can write a row could add their own key and sign anything, and requiring signatures would
protect nothing. Signatures themselves may live in the database (a forged one simply does
not verify); what decides whether a signature counts is only this directory, which an
operator controls like any other configuration file.

The directory is read on every check, so ``modelport keys distrust`` takes effect
without restarting anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from modelport.errors import SignatureError
from modelport.files import write_file_atomically
from modelport.signing.keys import (
    KEY_ID_PATTERN,
    PUBLIC_SUFFIX,
    key_id,
    load_public_key,
    public_key_pem,
)

__all__ = ["Keyring", "TrustedKey"]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass(frozen=True, slots=True)
class TrustedKey:
    """One trusted public key: its name (file stem), id, file and the key itself."""

    name: str
    key_id: str
    path: Path
    public_key: Ed25519PublicKey


class Keyring:
    """The trusted keys in ``directory`` (which need not exist: then none are trusted)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def __repr__(self) -> str:
        return f"Keyring({str(self.directory)!r})"

    def trusted_keys(self) -> list[TrustedKey]:
        """Every trusted key, by name. A file that is not an Ed25519 public key is an
        error naming it: a broken trust store must not pass for an empty one."""
        if not self.directory.is_dir():
            return []
        found = []
        for path in sorted(self.directory.glob(f"*{PUBLIC_SUFFIX}")):
            public_key = load_public_key(path)
            found.append(TrustedKey(path.stem, key_id(public_key), path, public_key))
        return found

    def find(self, kid: str) -> TrustedKey | None:
        """The trusted key whose id is ``kid``, if there is one."""
        return next((key for key in self.trusted_keys() if key.key_id == kid), None)

    def describe(self) -> str:
        """The trusted keys for an error message: ``name (id), ...`` or ``none``."""
        keys = self.trusted_keys()
        return ", ".join(f"{k.name} ({k.key_id})" for k in keys) if keys else "none"

    def trust(self, public_key_file: Path, *, name: str | None = None) -> TrustedKey:
        """Copy the public key in ``public_key_file`` in as ``<name>.pub`` (default: the
        file's stem). Trusting a key already trusted under the same name changes nothing."""
        public_key = load_public_key(Path(public_key_file))
        chosen = name or Path(public_key_file).name.removesuffix(PUBLIC_SUFFIX)
        if not _NAME.fullmatch(chosen):
            raise SignatureError(
                f"{chosen[:70]!r} is not a key name: use letters, digits, '.', '_' and '-' "
                "(at most 64, starting with a letter or digit); choose one with --name"
            )
        kid = key_id(public_key)
        for existing in self.trusted_keys():
            if existing.key_id == kid:
                if existing.name == chosen:
                    return existing
                raise SignatureError(
                    f"key {kid} is already trusted as {existing.name!r}; "
                    f"distrust it first to rename it"
                )
            if existing.name == chosen:
                raise SignatureError(
                    f"another key ({existing.key_id}) is trusted as {chosen!r}; "
                    "choose another name with --name, or distrust that one first"
                )
        target = self.directory / f"{chosen}{PUBLIC_SUFFIX}"
        self.directory.mkdir(parents=True, exist_ok=True)
        write_file_atomically(target, public_key_pem(public_key))
        return TrustedKey(chosen, kid, target, public_key)

    def distrust(self, name_or_key_id: str) -> TrustedKey:
        """Remove the key with that name or key id from the trusted keys."""
        keys = self.trusted_keys()
        by_id = KEY_ID_PATTERN.fullmatch(name_or_key_id) is not None
        for key in keys:
            if key.name == name_or_key_id or (by_id and key.key_id == name_or_key_id):
                key.path.unlink()
                return key
        raise SignatureError(
            f"no trusted key is named or has the id {name_or_key_id[:70]!r} "
            f"(trusted: {', '.join(f'{k.name} ({k.key_id})' for k in keys) or 'none'})"
        )
