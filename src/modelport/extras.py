"""Optional extras: what each one adds, and one clear line when one is missing.

``pip install modelport`` is the core: it opens, verifies and scores packages, keeps a
registry on SQLite, scores files on this machine's cores and runs the CLI for all of
that. The rest is opt-in, named after what it is for:

    server    modelport serve: FastAPI, Starlette, uvicorn, prometheus-client, PyJWT
    build     mp.package and promotion metrics: scikit-learn, ONNX, skops
    postgres  a registry, prediction log or feature source on PostgreSQL: psycopg
    dask      batch scoring with --engine dask: dask.distributed
    all       every one of the above

Code that needs an extra calls :func:`require` first, so a missing one stops with
:class:`~modelport.errors.MissingExtra` ("modelport serve needs the server extra: pip
install 'modelport[server]'") instead of a ``ModuleNotFoundError`` from deep inside.
"""

from __future__ import annotations

from importlib.util import find_spec

from modelport.errors import MissingExtra

__all__ = ["EXTRAS", "extra_for", "missing_extra", "require"]

# extra -> the top-level modules it installs that modelport imports (anyio comes with
# Starlette): all must be importable for the extra to count as installed
EXTRAS: dict[str, tuple[str, ...]] = {
    "server": ("fastapi", "starlette", "anyio", "uvicorn", "prometheus_client", "jwt"),
    "build": ("sklearn", "onnx", "skops"),
    "postgres": ("psycopg",),
    "dask": ("dask", "distributed"),
}


def _installed(module: str) -> bool:
    try:
        return find_spec(module) is not None
    except (ImportError, ValueError):  # a broken or half-removed installation
        return False


def missing_extra(extra: str, what: str) -> MissingExtra:
    """The error saying that ``what`` needs ``extra``, with the command that installs it."""
    if extra not in EXTRAS:
        raise ValueError(f"unknown extra {extra!r}; one of {', '.join(EXTRAS)}")
    return MissingExtra(f"{what} needs the {extra} extra: pip install 'modelport[{extra}]'")


def require(extra: str, what: str) -> None:
    """Raise :class:`MissingExtra` unless every module of ``extra`` can be imported.

    ``what`` names the thing asked for, as the user would say it ("modelport serve",
    "mp.package"). Cheap: it looks the modules up without importing them.
    """
    if extra not in EXTRAS:
        raise ValueError(f"unknown extra {extra!r}; one of {', '.join(EXTRAS)}")
    if not all(_installed(module) for module in EXTRAS[extra]):
        raise missing_extra(extra, what)


def extra_for(module: str | None) -> str | None:
    """The extra that installs ``module`` (a dotted name is fine), or None if none does."""
    if not module:
        return None
    top = module.partition(".")[0]
    return next((extra for extra, modules in EXTRAS.items() if top in modules), None)
