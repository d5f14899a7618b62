"""``modelport sign`` and the signing-key commands of ``modelport keys``.

Thin, like every command: parse, call :mod:`modelport.signing` (or the registry), print.
A signature vouches for a package digest; which keys count is decided on each machine by
its trusted-keys directory (``MODELPORT_TRUSTED_KEYS_DIR``), never by the registry.
"""

from __future__ import annotations

from pathlib import Path

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from rich.table import Column, Table

from modelport.cli.output import console, err_console, fail_on_errors
from modelport.errors import PackageError
from modelport.settings import Settings
from modelport.signing import (
    Keyring,
    Signature,
    generate_key_pair,
    load_private_key,
    sign_digest,
    sign_package,
)

__all__ = ["distrust", "register", "sign", "signing_key", "trust", "trusted"]

_SHORT = 12


def register(root: typer.Typer, keys_app: typer.Typer) -> None:
    """Add ``sign`` to the root command and the signing-key commands to ``keys``."""
    root.command("sign")(sign)
    keys_app.command("signing-key")(signing_key)
    keys_app.command("trust")(trust)
    keys_app.command("trusted")(trusted)
    keys_app.command("distrust")(distrust)


def sign(
    target: str = typer.Argument(
        ...,
        help="A package directory or .mpk file, or a registered version (NAME:VERSION, "
        "NAME@ALIAS, NAME). An existing path wins.",
    ),
    key: Path = typer.Option(
        ..., "--key", "-k", help="The Ed25519 private key (PEM) to sign with."
    ),
) -> None:
    """Sign a package digest with KEY: into the package's signature.json, or in the registry.

    Signing a registered version lets a release manager vouch for what passed review
    after it was registered. Either way, only what verifies is signed.
    """
    with fail_on_errors():
        private_key = load_private_key(key)
        path = Path(target)
        if path.exists():
            signature = sign_package(path, private_key)
            where = str(path)
        else:
            if target.endswith(".mpk") or "/" in target:
                raise PackageError(f"no package at {target}: no such directory or .mpk file")
            signature, where = _sign_registered(target, private_key)
        known = Keyring(Settings().resolved_trusted_keys_dir).find(signature.key_id)
    console.print(
        f"[green]signed[/] {where} (package {signature.digest[:_SHORT]}) "
        f"with key {signature.key_id}",
        highlight=False,
    )
    if known is None:
        err_console.print(
            f"note: key {signature.key_id} is not trusted on this machine; machines that "
            "require signatures need its public key: modelport keys trust KEY.pub",
            highlight=False,
        )


def signing_key(
    out: Path = typer.Option(
        ..., "--out", "-o", help="DIR/NAME: writes NAME.key (private, 0600) and NAME.pub."
    ),
) -> None:
    """Generate an Ed25519 key pair for signing packages."""
    with fail_on_errors():
        private, public, kid = generate_key_pair(out)
    console.print(f"[green]key id[/] {kid}", highlight=False)
    console.print(f"private key {private} (keep it secret; owner-only)", highlight=False)
    console.print(f"public key  {public} (give it to: modelport keys trust)", highlight=False)


def trust(
    public_key_file: Path = typer.Argument(..., help="The signer's public key (PEM)."),
    name: str | None = typer.Option(None, "--name", "-n", help="Name it (default: file name)."),
) -> None:
    """Trust a public key: packages it signs are accepted where signatures are required."""
    with fail_on_errors():
        keyring = Keyring(Settings().resolved_trusted_keys_dir)
        key = keyring.trust(public_key_file, name=name)
    console.print(f"[green]trusted[/] {key.name} (key id {key.key_id})", highlight=False)


def trusted() -> None:
    """The public keys this machine trusts."""
    with fail_on_errors():
        keyring = Keyring(Settings().resolved_trusted_keys_dir)
        keys = keyring.trusted_keys()
    if not keys:
        console.print(
            f"no trusted keys in {keyring.directory}; add one with: modelport keys trust FILE",
            highlight=False,
        )
        return
    table = Table(
        Column("name", no_wrap=True),
        Column("key id", no_wrap=True, min_width=16),
        Column("file", overflow="fold"),
    )
    for key in keys:
        table.add_row(key.name, key.key_id, str(key.path))
    console.print(table)


def distrust(
    name_or_key_id: str = typer.Argument(..., help="The trusted key's name or key id."),
) -> None:
    """Stop trusting a key (takes effect at the next check; nothing needs a restart)."""
    with fail_on_errors():
        key = Keyring(Settings().resolved_trusted_keys_dir).distrust(name_or_key_id)
    console.print(f"[green]distrusted[/] {key.name} (key id {key.key_id})", highlight=False)


def _sign_registered(ref: str, private_key: Ed25519PrivateKey) -> tuple[Signature, str]:
    """Sign the digest of the registered version ``ref`` and keep the signature there."""
    from modelport.registry import Registry, parse_ref

    parsed = parse_ref(ref)
    with Registry.from_settings(Settings()) as registry:
        version = registry.resolve(parsed)
        signature = sign_digest(private_key, version.digest)
        registry.signatures.add(parsed, signature)
    return signature, f"{version.name}:{version.version}"
