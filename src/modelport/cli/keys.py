"""``modelport keys``: API keys for services, and the public keys packages are signed with."""

from __future__ import annotations

import typer

__all__ = ["app"]

app = typer.Typer(
    help="API keys (create, list, revoke) and trusted package-signing keys.",
    no_args_is_help=True,
)
