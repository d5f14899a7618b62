"""The ``modelport`` command: thin, it parses, calls the library and prints."""

from __future__ import annotations

import sys
from typing import Any

import typer
from rich.markup import escape

from modelport.cli import (
    batch,
    cache,
    jobs,
    keys,
    lifecycle,
    models,
    package,
    scheduler,
    serve,
    signing,
    token,
)
from modelport.cli.output import err_console
from modelport.errors import MissingExtra
from modelport.extras import extra_for, missing_extra

app = typer.Typer(
    name="modelport",
    help="Bring trained models into production unchanged, and provably so.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(package.app, name="package")
app.add_typer(models.app, name="models")
app.add_typer(batch.app, name="batch")
app.command("serve")(serve.serve)
app.command("promote")(lifecycle.promote_command)
app.command("rollback")(lifecycle.rollback_command)
app.command("history")(lifecycle.history)
app.add_typer(lifecycle.policy_app, name="policy")
app.add_typer(cache.app, name="cache")
app.add_typer(scheduler.app, name="scheduler")
app.add_typer(jobs.app, name="jobs")
app.add_typer(keys.app, name="keys")
app.add_typer(token.app, name="token")
signing.register(app, keys.app)


def main() -> None:
    """The ``modelport`` console script: the app, with a missing extra as one line.

    Commands that need an extra check for it first (:func:`modelport.extras.require`);
    this catches what they cannot foresee, such as a PostgreSQL URL in the settings
    without psycopg installed, and names the extra instead of printing a traceback.
    """
    try:
        app()
    except MissingExtra as exc:  # from a command outside fail_on_errors
        _print(exc)
        raise SystemExit(1) from None
    except ModuleNotFoundError as exc:
        extra = extra_for(exc.name)
        if extra is None:
            raise
        _print(missing_extra(extra, _command_path(sys.argv[1:])), f" ({exc.name} is not installed)")
        raise SystemExit(1) from None


def _print(error: MissingExtra, detail: str = "") -> None:
    err_console.print(
        f"[bold red]error[/] [dim]({error.code})[/]: {escape(str(error))}{detail}",
        highlight=False,
        soft_wrap=True,
    )


def _command_path(args: list[str]) -> str:
    """``modelport models list`` for ``args`` naming that command (with its options)."""
    command: Any = typer.main.get_command(app)
    path = ["modelport"]
    for arg in args:
        if arg.startswith("-"):
            continue
        command = getattr(command, "commands", {}).get(arg)  # a group's subcommands
        if command is None:
            break
        path.append(arg)
    return " ".join(path)


if __name__ == "__main__":  # pragma: no cover
    main()
