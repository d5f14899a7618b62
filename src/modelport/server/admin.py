"""The admin API: registration, promotions, rollbacks, alias moves, deletions, the audit trail.

Off unless ``MODELPORT_ADMIN_API=true``, and every route needs the ``admin`` scope (403
otherwise; with authentication off, only switch it on where the network is trusted).
Every change goes through the same library calls as the CLI, so it runs the same gates,
the same signature and archive checks, and lands in the same audit trail under the
principal's name. Gates and registrations run in a worker thread, so serving continues.

    POST   /v1/admin/models/{name}/versions?alias=staging   body: the package's .mpk bytes
    DELETE /v1/admin/models/{name}/versions/{version}
    POST /v1/admin/models/{name}/promote             {"version": 4, "alias": "production", ...}
    POST /v1/admin/models/{name}/aliases/{alias}/rollback
    PUT  /v1/admin/models/{name}/aliases/{alias}      {"version": 4}   (no gates)
    GET  /v1/admin/models/{name}/history?limit=50
    POST /v1/admin/cache/invalidate                   {"source": "customers", "entity": {...}}
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from anyio import to_thread
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from modelport.errors import InvalidInput, PackageError
from modelport.lifecycle import (
    GatePolicy,
    PromotionReport,
    Requirement,
    promote,
    register_archive,
    rollback,
)
from modelport.package.manifest import check_name
from modelport.registry import Action, ModelVersion, Registry
from modelport.registry.refs import MAX_VERSION
from modelport.server.auth import principal_of, require_admin
from modelport.server.errors import error_response, json_response

__all__ = ["add_admin_routes"]


class PromoteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1, le=MAX_VERSION)
    alias: str = Field(min_length=1, max_length=64)
    test_data: str | None = Field(
        default=None,
        max_length=1024,
        description="A file in the server's MODELPORT_PROMOTION_DATA_DIR (CSV, Parquet, JSONL).",
    )
    target: str | None = Field(default=None, max_length=256)
    require: list[str] = Field(default_factory=list, max_length=50, examples=[["roc_auc>=0.8"]])
    no_worse_than_current: bool = False
    tolerance: float = Field(default=0.0, ge=0.0)
    allow_breaking: bool = False


class AliasBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1, le=MAX_VERSION)


class InvalidateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str | None = Field(default=None, max_length=64, description="Only this source")
    entity: dict[str, str | int | float] | None = Field(
        default=None, max_length=16, examples=[{"customer_id": 17}], description="One entity"
    )


def _test_data(root: Path | None, name: str) -> str:
    """The file ``name`` in the promotion data directory ``root`` (resolved): a client
    names a dataset the operator put there, never any file the server can read."""
    if root is None:
        raise InvalidInput(
            "test_data cannot be given over HTTP on this server: its operator has not set "
            "MODELPORT_PROMOTION_DATA_DIR (the directory of test datasets); promote with "
            "`modelport promote ... --test-data FILE` instead"
        )
    parts = Path(name).parts
    if (
        not name
        or Path(name).is_absolute()
        or any(p in ("..", ".") or p.startswith("~") for p in parts)
        or any(c in name for c in "\x00\\:")
    ):
        raise InvalidInput(
            f"test_data {name!r} must name a file inside the server's test data directory "
            "(a relative path, no '..', no URL)"
        )
    path = (root / name).resolve()
    if not path.is_relative_to(root):  # a link that leads out
        raise InvalidInput(f"test_data {name!r} leads out of the server's test data directory")
    return str(path)


def _admin_only(request: Request) -> None:
    require_admin(request.scope)


def add_admin_routes(app: FastAPI, registry: Registry, data_dir: Path | None = None) -> None:
    """The admin routes on ``app``; promotions read test data only from ``data_dir``."""
    data_root = data_dir.resolve() if data_dir is not None else None
    router = APIRouter(prefix="/v1/admin", tags=["admin"], dependencies=[Depends(_admin_only)])

    @router.post(
        "/models/{name}/versions",
        status_code=201,
        summary="Register a package: the body is its .mpk archive (modelport package pack)",
        description=(
            "Every archive member is checked before anything is written, every digest is "
            "verified, and with MODELPORT_REQUIRE_SIGNATURE a trusted signature is required."
        ),
        responses={
            422: {"description": "Not a valid, safe, (signed) package of this model"},
            413: {"description": "Larger than MODELPORT_MAX_PACKAGE_BYTES"},
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/octet-stream": {"schema": {"type": "string"}}},
            }
        },
    )
    async def register_route(
        name: str,
        request: Request,
        alias: str | None = Query(default=None, max_length=64),
    ) -> Response:
        check_name(name)
        if alias is not None:
            check_name(alias, "alias")
        with tempfile.TemporaryDirectory(prefix="modelport-upload-") as scratch:
            archive = Path(scratch) / "upload.mpk"
            with archive.open("wb") as out:
                try:
                    async for chunk in request.stream():
                        await to_thread.run_sync(out.write, chunk)
                except ClientDisconnect:  # nobody is left to answer; nothing was registered
                    return error_response(400, "malformed_request", "the upload was cut off")
            try:
                version = await to_thread.run_sync(
                    lambda: register_archive(
                        registry, name, archive, alias=alias, actor=_actor(request)
                    )
                )
            except PackageError as refused:  # the client's archive, not the server's trouble
                # the server's scratch paths are nobody's business
                message = refused.message.replace(str(archive), "the uploaded archive")
                message = message.replace(scratch, "the upload")
                return error_response(422, refused.code, message)
        return json_response(
            {
                "success": True,
                "message": f"registered {name}:{version.version}",
                "version": _version(version),
            },
            201,
        )

    @router.delete(
        "/models/{name}/versions/{version}",
        summary="Delete a version (refused while an alias points at it; its number stays used)",
        responses={409: {"description": "An alias points at the version (`in_use`)"}},
    )
    async def delete_route(
        name: str, request: Request, version: int = PathParam(ge=1, le=MAX_VERSION)
    ) -> Response:
        deleted = await to_thread.run_sync(
            lambda: registry.delete_version(name, version, actor=_actor(request))
        )
        return json_response(
            {"success": True, "message": f"deleted {name}:{version}", "version": _version(deleted)}
        )

    @router.post(
        "/models/{name}/promote",
        summary="Run the promotion gates and move the alias if all pass",
        responses={
            422: {"description": "A gate failed (`promotion_refused`); `gates` says which"},
            409: {"description": "The alias moved while the gates ran (`conflict`)"},
        },
    )
    async def promote_route(name: str, body: PromoteBody, request: Request) -> Response:
        options = GatePolicy(
            requirements=[Requirement.parse(text) for text in body.require],
            no_worse_than_current=body.no_worse_than_current,
            tolerance=body.tolerance,
            test_data=None if body.test_data is None else _test_data(data_root, body.test_data),
            target=body.target,
            allow_breaking=body.allow_breaking,
        )
        report = await to_thread.run_sync(
            lambda: promote(
                registry, name, body.version, body.alias, options, actor=_actor(request)
            )
        )
        return _report(report, Action.PROMOTE, data_root)

    @router.post(
        "/models/{name}/aliases/{alias}/rollback",
        summary="Move the alias back to its previous version (integrity gate only)",
    )
    async def rollback_route(name: str, alias: str, request: Request) -> Response:
        report = await to_thread.run_sync(
            lambda: rollback(registry, name, alias, actor=_actor(request))
        )
        return _report(report, Action.ROLLBACK)

    @router.put(
        "/models/{name}/aliases/{alias}",
        summary="Point the alias at a version directly (no gates; recorded in the audit trail)",
    )
    async def move_alias(name: str, alias: str, body: AliasBody, request: Request) -> Response:
        before = await to_thread.run_sync(registry.alias_info, name, alias)
        moved = await to_thread.run_sync(
            lambda: registry.set_alias(name, alias, body.version, actor=_actor(request))
        )
        return json_response(
            {
                "success": True,
                "message": f"{name}@{alias} points at version {moved.version}",
                "previous_version": None if before is None else before.version,
                "version": _version(moved),
            }
        )

    @router.get("/models/{name}/history", summary="The model's audit trail, newest first")
    async def history(name: str, limit: int = Query(default=50, ge=1, le=1000)) -> Response:
        events = await to_thread.run_sync(lambda: registry.history(name, limit=limit))
        return json_response(
            {"success": True, "message": "ok", "events": [e.as_dict() for e in events]}
        )

    @router.post(
        "/cache/invalidate",
        status_code=202,
        summary="Drop enrichment-cache rows in every server sharing the registry",
        description="Recorded in the registry; every worker drops the rows on its next poll.",
    )
    async def invalidate(body: InvalidateBody, request: Request) -> Response:
        done = await to_thread.run_sync(
            lambda: registry.invalidations.add(body.source, body.entity, actor=_actor(request))
        )
        message = "every server drops the rows on its next poll"
        return json_response({"success": True, "message": message, "id": done.id}, 202)

    app.include_router(router)


def _actor(request: Request) -> str:
    principal = principal_of(request.scope)
    client = request.client
    where = f"http {client.host}" if client else "http"
    if principal is None or principal.method == "none":
        return where
    return f"{principal.actor} from {where}"[:128]


def _report(report: PromotionReport, action: Action, hide: Path | None = None) -> Response:
    """The report as JSON; ``hide``: a server directory named in it only by what is in it."""

    def shown(text: str) -> str:
        return text.replace(f"{hide}/", "") if hide is not None else text

    gates = [g.as_dict() for g in report.gates]
    for gate in gates:
        if isinstance(gate.get("detail"), str):
            gate["detail"] = shown(gate["detail"])
    body: dict[str, Any] = {
        "success": report.passed,
        "alias": report.alias,
        "version": report.version,
        "previous_version": report.previous,
        "gates": gates,
    }
    if not report.passed:
        body |= {"code": "promotion_refused", "message": shown(report.refusal())}
        return json_response(body, 422)
    verb = "promoted" if action is Action.PROMOTE else "rolled back"
    body["message"] = f"{verb}: {report.name}@{report.alias} → version {report.version}"
    return json_response(body)


def _version(version: ModelVersion) -> dict[str, Any]:
    return {"name": version.name, "version": version.version, "digest": version.digest}
