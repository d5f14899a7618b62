"""``modelport token create``: a JWT for development and tests.

Signed with the server's own settings (``MODELPORT_JWT_SECRET``, ``_ISSUER``,
``_AUDIENCE``), or with a private key for RS256/ES256; production tokens come from the
organisation's identity provider.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelport.cli.output import err_console, fail_on_errors
from modelport.extras import require
from modelport.schedule.durations import parse_duration
from modelport.settings import Settings

__all__ = ["app"]

app = typer.Typer(help="JWTs for development and tests.", no_args_is_help=True)


@app.callback()
def _token() -> None:
    """JWTs for development and tests (production tokens come from your identity provider)."""


@app.command("create")
def create(
    subject: Annotated[str, typer.Option("--subject", help="Who the token names (sub).")],
    scope: Annotated[
        list[str],
        typer.Option("--scope", "-s", help="admin, metrics, predict:* or predict:MODEL."),
    ],
    expires: Annotated[str, typer.Option("--expires", help="Lifetime, e.g. 1h.")] = "1h",
    private_key: Annotated[
        Path | None,
        typer.Option("--private-key", help="PEM private key (RS256/ES256) instead of the secret."),
    ] = None,
    algorithm: Annotated[
        str, typer.Option("--algorithm", help="HS256 (the secret), RS256 or ES256.")
    ] = "HS256",
    key_id: Annotated[str | None, typer.Option("--kid", help="The key id header (JWKS).")] = None,
) -> None:
    """Print a signed token for SUBJECT with the given scopes."""
    with fail_on_errors():
        require("server", "modelport token create")
    from modelport.security.tokens import issue_token  # PyJWT: only for this command

    try:
        seconds = parse_duration(expires)
    except ValueError as exc:
        err_console.print(f"[bold red]error[/]: --expires: {exc}", highlight=False)
        raise typer.Exit(2) from None
    settings = Settings()
    secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret else None
    pem = None
    if private_key is not None:
        try:
            pem = private_key.read_bytes()
        except OSError as exc:
            err_console.print(f"[bold red]error[/]: {private_key}: {exc.strerror}")
            raise typer.Exit(2) from None
    with fail_on_errors():
        token = issue_token(
            subject,
            scope,
            expires_in=seconds,
            secret=secret,
            private_key_pem=pem,
            algorithm=algorithm.upper(),
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            key_id=key_id,
        )
    print(token)
