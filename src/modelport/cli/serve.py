"""``modelport serve``: serve every registered model over HTTP (uvicorn)."""

from __future__ import annotations

import ipaddress
import os
import shutil
import tempfile
from typing import Annotated

import typer

from modelport.cli.output import err_console, fail_on_errors
from modelport.extras import require

__all__ = ["APP", "is_loopback", "serve"]

APP = "modelport.server.app:factory"


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a name: it may resolve to anything
        return False


def serve(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="TCP port to listen on.")
    ] = 8000,
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="Worker processes; each loads the models.")
    ] = 1,
    reload_seconds: Annotated[
        float | None,
        typer.Option(
            "--reload-seconds",
            min=0.1,
            help="How often to look for alias moves (default MODELPORT_ALIAS_POLL_SECONDS, 2 s).",
        ),
    ] = None,
    insecure: Annotated[
        bool,
        typer.Option(
            "--insecure",
            help="Serve on a non-loopback address without authentication (MODELPORT_AUTH=none).",
        ),
    ] = False,
) -> None:
    """Serve every registered model: POST /v1/models/NAME/predict, documentation at /docs.

    Settings come from MODELPORT_* environment variables; every worker process reads
    them and loads its own models.
    """
    with fail_on_errors():
        require("server", "modelport serve")
    import uvicorn

    from modelport.server.logs import configure_logging
    from modelport.server.metrics import MULTIPROCESS_ENV
    from modelport.settings import Settings

    if reload_seconds is not None:
        # Settings reach the worker processes through the environment.
        os.environ["MODELPORT_ALIAS_POLL_SECONDS"] = str(reload_seconds)
    settings = Settings()
    if not settings.auth_methods and not is_loopback(host) and not insecure:
        err_console.print(
            f"[bold red]error[/]: refusing to serve on {host} without authentication: anyone "
            "who can reach it could use every model"
            + (" and change them (the admin API is on)" if settings.admin_api else "")
            + ". Set MODELPORT_AUTH=jwt or apikey (see docs/security.md), serve on "
            "127.0.0.1 behind a proxy that authenticates, or pass --insecure.",
            highlight=False,
        )
        raise typer.Exit(2)
    if "jwt" in settings.auth_methods:
        from modelport.security.tokens import TokenVerifier

        with fail_on_errors():  # a missing or unreadable key: say so now, not per request
            TokenVerifier.from_settings(settings)
    configure_logging(settings.log_format, settings.log_level)
    metrics_dir = None
    if workers > 1 and not os.environ.get(MULTIPROCESS_ENV):
        # Workers share their metrics through files, so any of them can answer a scrape.
        metrics_dir = tempfile.mkdtemp(prefix="modelport-metrics-")
        os.environ[MULTIPROCESS_ENV] = metrics_dir
    try:
        uvicorn.run(
            APP,
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_config=None,  # modelport's JSON logging, set up in each worker
            access_log=False,  # modelport writes its own access log, off the hot path
            server_header=False,
            # a client's address (rate limits, the audit trail) comes from the socket unless
            # a trusted proxy is named; uvicorn would believe any local client's header
            proxy_headers=bool(settings.forwarded_allow_ips),
            forwarded_allow_ips=settings.forwarded_allow_ips or None,
        )
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
