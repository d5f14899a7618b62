"""``modelport serve``: serve every registered model over HTTP (uvicorn)."""

from __future__ import annotations

import os
from typing import Annotated

import typer

__all__ = ["APP", "serve"]

APP = "modelport.server.app:factory"


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
) -> None:
    """Serve every registered model: POST /v1/models/NAME/predict, documentation at /docs.

    Settings come from MODELPORT_* environment variables; every worker process reads
    them and loads its own models.
    """
    import uvicorn

    if reload_seconds is not None:
        # Settings reach the worker processes through the environment.
        os.environ["MODELPORT_ALIAS_POLL_SECONDS"] = str(reload_seconds)
    uvicorn.run(
        APP,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        server_header=False,
    )
