"""The ``modelport`` command: thin, it parses, calls the library and prints."""

from __future__ import annotations

import typer

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


if __name__ == "__main__":  # pragma: no cover
    app()
