"""``modelport cache invalidate``: drop enrichment-cache rows in every running server."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from modelport.cli.models import open_registry
from modelport.cli.output import console, err_console

__all__ = ["app"]

app = typer.Typer(help="The enrichment cache of score-by-entity servers.", no_args_is_help=True)


@app.callback()
def _cache() -> None:
    """The enrichment cache of score-by-entity servers (POST /v1/score)."""


@app.command()
def invalidate(
    source: Annotated[
        str | None, typer.Option("--source", "-s", help="Only this source's rows.")
    ] = None,
    entity: Annotated[
        list[str] | None,
        typer.Option(
            "--entity",
            "-e",
            help="KEY=VALUE of one entity (repeat for composite keys), e.g. customer_id=17.",
        ),
    ] = None,
) -> None:
    """Drop cached rows in every server sharing this registry, within its poll interval.

    With no option every row goes; rows are fetched again on their next request."""
    keys = _entity(entity or [])
    with open_registry() as registry:
        done = registry.invalidations.add(source, keys)
    what = f"source {source}" if source else "every source"
    if keys:
        what += ", entity " + ", ".join(f"{k}={v!r}" for k, v in keys.items())
    console.print(
        f"[green]invalidated[/] {what} (#{done.id}); servers drop the rows on their next poll"
    )


def _entity(pairs: list[str]) -> dict[str, Any]:
    keys: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name:
            err_console.print(f"[bold red]error[/]: --entity {pair!r}: write KEY=VALUE")
            raise typer.Exit(2)
        keys[name] = _value(text)
    return keys


def _value(text: str) -> Any:
    """``17`` is the number 17, as a JSON request would send it; anything else is text."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, int | float) and not isinstance(value, bool) else text
