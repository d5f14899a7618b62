"""An unexpected exception: a bare 500 envelope with the request id, logged, no trace sent."""

from __future__ import annotations

import logging

import anyio
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from modelport.server.context import RequestContextMiddleware


async def broken(request: Request) -> Response:
    raise RuntimeError("secret /etc/passwd detail")


def test_unexpected_errors_become_a_bare_500(caplog: pytest.LogCaptureFixture) -> None:
    app = Starlette(routes=[Route("/boom", broken)])
    app.add_middleware(RequestContextMiddleware)

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            return await client.get("/boom", headers={"x-request-id": "trace-me-1"})

    with caplog.at_level(logging.ERROR, logger="modelport.server"):
        response = anyio.run(call)
    assert response.status_code == 500
    assert response.json() == {
        "success": False,
        "code": "internal_error",
        "message": "internal error",
        "request_id": "trace-me-1",
    }
    assert response.headers["x-request-id"] == "trace-me-1"
    assert "passwd" not in response.text
    assert "trace-me-1" in caplog.text and "RuntimeError" in caplog.text
