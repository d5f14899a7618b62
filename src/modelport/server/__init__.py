"""The HTTP adapter: app factory, v1 routes, error mapping, OpenAPI. See ``docs/api.md``.

It needs the ``server`` extra (FastAPI, Starlette, uvicorn, prometheus-client, PyJWT);
without it, importing anything here says so in one line.
"""

from modelport.extras import extra_for, missing_extra

try:
    from modelport.server.app import ModelportAPI, create_app, factory
except ModuleNotFoundError as exc:
    if extra_for(exc.name) != "server":
        raise
    raise missing_extra("server", "modelport.server") from exc

__all__ = ["ModelportAPI", "create_app", "factory"]
