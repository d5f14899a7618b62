"""``modelport keys``: API keys for services, and the public keys packages are signed with.

    modelport keys create ci-deployer --scope predict:loan-approval --expires 90d
    modelport keys list [--all]
    modelport keys revoke 3f2a9c01b7de

The key is printed once, on standard output alone (so ``KEY=$(modelport keys create ...)``
works); only a salted hash of it is stored. Servers stop accepting a revoked key within
five seconds.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Column, Table

from modelport.cli.models import open_registry
from modelport.cli.output import console, err_console
from modelport.schedule.durations import parse_duration

__all__ = ["app", "expiry"]

app = typer.Typer(
    help="API keys (create, list, revoke) and trusted package-signing keys.",
    no_args_is_help=True,
)


def expiry(text: str | None) -> datetime | None:
    """``--expires 90d`` as a UTC time; exit 2 with the reason if it is not a duration."""
    if text is None:
        return None
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        err_console.print(f"[bold red]error[/]: --expires: {exc}", highlight=False)
        raise typer.Exit(2) from None
    if seconds <= 0:
        err_console.print("[bold red]error[/]: --expires must be longer than 0 s")
        raise typer.Exit(2)
    return datetime.now(UTC) + timedelta(seconds=seconds)


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="What the key is for, e.g. ci-deployer.")],
    scope: Annotated[
        list[str],
        typer.Option(
            "--scope",
            "-s",
            help="admin, metrics, predict:* or predict:MODEL (repeatable).",
        ),
    ],
    expires: Annotated[
        str | None, typer.Option("--expires", help="Lifetime, e.g. 90d or 12h (default: none).")
    ] = None,
) -> None:
    """Create an API key and print it once (only a salted hash is stored)."""
    until = expiry(expires)
    with open_registry() as registry:
        record, key = registry.api_keys.create(name, scope, expires_at=until)
    err_console.print(
        f"[green]created[/] key {record.key_id} ({escape(record.name)}): "
        f"{', '.join(record.scopes)}"
        + (f", expires {record.expires_at:%Y-%m-%d %H:%M} UTC" if record.expires_at else "")
        + ". It is shown only now: store it in your secret manager.",
        highlight=False,
    )
    print(key)


@app.command("list")
def list_keys(
    all_keys: Annotated[bool, typer.Option("--all", help="Revoked keys too.")] = False,
) -> None:
    """The API keys: id, name, scopes, status (never the keys themselves)."""
    with open_registry() as registry:
        keys = registry.api_keys.list(include_revoked=all_keys)
    now = datetime.now(UTC)
    table = Table(Column("id", no_wrap=True), "name", "scopes", "status", "created", "expires")
    for key in keys:
        table.add_row(
            key.key_id,
            escape(key.name),
            " ".join(key.scopes),
            key.status(now),
            f"{key.created_at:%Y-%m-%d %H:%M} by {escape(key.created_by)}",
            f"{key.expires_at:%Y-%m-%d %H:%M}" if key.expires_at else "never",
        )
    console.print(table if keys else "no API keys: create one with `modelport keys create`")


@app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (the hex after mpk_).")],
) -> None:
    """Revoke a key: servers refuse it within 5 seconds."""
    with open_registry() as registry:
        revoked = registry.api_keys.revoke(key_id.removeprefix("mpk_")[:12])
    console.print(
        f"[green]revoked[/] key {revoked.key_id} ({escape(revoked.name)}); servers refuse it "
        "within 5 s"
    )
