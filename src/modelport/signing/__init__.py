"""Signed packages: Ed25519 signatures over package digests, and the keys trusted to make them.

    from modelport.signing import generate_key_pair, load_private_key, sign_package
    private, public, key_id = generate_key_pair(Path("keys/release"))
    sign_package(Path("dist/loan-approval"), load_private_key(private))

A signature vouches for a package *digest*, which covers every file, so a package altered
after signing fails digest verification before its signature is even looked at. Trusted
public keys live in a directory on each machine (:class:`Keyring`), never in the registry
database (see :mod:`modelport.signing.keyring` for why). See ``docs/signing.md``.

This layer stands between the registry and the package: it reads packages and knows
nothing of the registry, the server or the command line.
"""

from modelport.signing.keyring import Keyring, TrustedKey
from modelport.signing.keys import (
    generate_key_pair,
    key_id,
    load_private_key,
    load_public_key,
    public_key_pem,
)
from modelport.signing.package_files import (
    SIGNATURE_FILE,
    SourceSignatures,
    read_signature_file,
    sign_package,
    source_signatures,
    write_signature_file,
)
from modelport.signing.signatures import ALGORITHM, Signature, sign_digest, verifies
from modelport.signing.verification import check_signatures, require_trusted

__all__ = [
    "ALGORITHM",
    "SIGNATURE_FILE",
    "Keyring",
    "Signature",
    "SourceSignatures",
    "TrustedKey",
    "check_signatures",
    "generate_key_pair",
    "key_id",
    "load_private_key",
    "load_public_key",
    "public_key_pem",
    "read_signature_file",
    "require_trusted",
    "sign_digest",
    "sign_package",
    "source_signatures",
    "verifies",
    "write_signature_file",
]
