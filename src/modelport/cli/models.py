"""``modelport models``: register packages, list and show models, move aliases."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import typer
from rich.table import Column, Table

from modelport.cli.output import console, contract_table, fail_on_errors
from modelport.registry import (
    DEFAULT_ALIAS,
    ModelRef,
    ModelVersion,
    Registry,
    VersionMetadata,
    parse_ref,
)
from modelport.settings import Settings

app = typer.Typer(
    help="Register packages, list models and versions, move aliases.", no_args_is_help=True
)

_SHORT = 12


@contextmanager
def open_registry() -> Iterator[Registry]:
    """The registry the environment names (MODELPORT_HOME, MODELPORT_DATABASE_URL)."""
    with fail_on_errors(), Registry.from_settings(Settings()) as registry:
        yield registry


@app.command()
def register(
    path: Path = typer.Argument(..., help="Package directory or .mpk archive."),
    alias: str | None = typer.Option(None, "--alias", "-a", help="Point this alias at it."),
    owner: str | None = typer.Option(None, "--owner", help="Who answers for this version."),
    tag: list[str] | None = typer.Option(None, "--tag", "-t", help="A tag (repeatable)."),
    lineage: list[str] | None = typer.Option(
        None,
        "--lineage",
        "-l",
        help="KEY=VALUE, e.g. code=git:4f2a1c (repeatable).",
    ),
    require_signature: bool = typer.Option(
        False,
        "--require-signature",
        help="Refuse it unless signed by a trusted key (also MODELPORT_REQUIRE_SIGNATURE).",
    ),
) -> None:
    """Copy a package into the registry (verified) as the model's next version.

    A direct --alias move runs no gates; use `modelport promote` for gated moves.
    Signatures in the package's signature.json are kept with it.
    """
    metadata = VersionMetadata(owner=owner, tags=tuple(tag or ()), lineage=_pairs(lineage or []))
    settings = Settings()
    if require_signature:
        settings = settings.model_copy(update={"require_signature": True})
    with fail_on_errors(), Registry.from_settings(settings) as registry:
        known = {v.digest for model in registry.list_models() for v in model.versions}
        version = registry.register(path, alias=alias, metadata=metadata)
    verb = "already registered" if version.digest in known else "registered"
    pointed = f", alias {alias}" if alias else ""
    console.print(
        f"[green]{verb}[/] {version.name}:{version.version} "
        f"(digest {version.digest[:_SHORT]}{pointed})",
        highlight=False,
    )


@app.command("list")
def list_models() -> None:
    """Every registered model with its versions and aliases."""
    with open_registry() as registry:
        models = registry.list_models()
    if not models:
        console.print("no models registered yet; add one with: modelport models register PATH")
        return
    table = Table(
        Column("name", no_wrap=True),
        Column("versions", justify="right"),
        Column("aliases", overflow="fold"),
        Column("latest digest", no_wrap=True, min_width=_SHORT),
    )
    for model in models:
        latest = model.latest
        aliases = ", ".join(f"{a} → {v}" for a, v in sorted(model.aliases.items()))
        table.add_row(model.name, str(latest.version), aliases or "-", latest.digest[:_SHORT])
    console.print(table)


@app.command()
def show(
    ref: str = typer.Argument(..., help="NAME, or NAME@ALIAS / NAME:VERSION for whose contract."),
) -> None:
    """A model's versions, and the input contract of one of them.

    The contract shown is that of the version REF names; for a bare NAME, the production
    version if there is one, else the latest.
    """
    with open_registry() as registry:
        parsed = parse_ref(ref)
        model = registry.get_model(parsed.name)
        if ref == parsed.name and DEFAULT_ALIAS not in model.aliases:
            parsed = ModelRef(model.name, version=model.latest.version)
        chosen = registry.resolve(parsed)
        contract = registry.manifest(parsed).contract
    console.print(f"[bold]{model.name}[/]  registered {_when(model.created_at)}", highlight=False)
    table = Table(
        Column("version", justify="right", no_wrap=True),
        Column("task/runtime", no_wrap=True),
        Column("digest", no_wrap=True, min_width=_SHORT),
        Column("created (UTC)", no_wrap=True),
        Column("aliases", overflow="fold"),
    )
    for v in model.versions:
        table.add_row(
            str(v.version),
            f"{v.task}/{v.runtime}",
            v.digest[:_SHORT],
            f"{v.created_at:%Y-%m-%d %H:%M}",
            "\n".join(v.aliases) or "-",
        )
    console.print(table)
    for v in model.versions:
        about = _about(v)
        if about:
            console.print(f"  version {v.version}: {about}", highlight=False)
    console.print(f"contract of {_label(chosen)}:", highlight=False)
    console.print(contract_table(contract))


@app.command()
def alias(
    name: str = typer.Argument(..., help="Model name."),
    alias: str = typer.Argument(..., help="Alias to set or move, e.g. production."),
    version: int = typer.Argument(..., help="Version the alias will point at."),
    force: bool = typer.Option(
        False, "--force", help="Move an alias that has a gate policy without its gates."
    ),
) -> None:
    """Point NAME@ALIAS at VERSION, no gates: servers watching the alias swap to it.

    Use `modelport promote` for a gated move; an alias with a gate policy needs it.
    """
    with open_registry() as registry:
        before = registry.get_model(name).aliases.get(alias)
        moved = registry.set_alias(name, alias, version, force=force)
    if before is None:
        change = "new alias"
    elif before == moved.version:
        change = "unchanged"
    else:
        change = f"was version {before}"
    console.print(
        f"[green]{moved.name}@{alias}[/] → version {moved.version} ({change})", highlight=False
    )


@app.command()
def delete(
    ref: str = typer.Argument(..., help="NAME:VERSION to delete."),
) -> None:
    """Delete a version no alias points at; its number is never reused."""
    with open_registry() as registry:
        parsed = parse_ref(ref)
        if parsed.version is None:
            raise typer.BadParameter("give a version to delete, as NAME:VERSION", param_hint="REF")
        deleted = registry.delete_version(parsed.name, parsed.version)
    console.print(f"[green]deleted[/] {deleted.name}:{deleted.version}", highlight=False)


def _pairs(items: list[str]) -> dict[str, str]:
    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"{item!r}: write KEY=VALUE", param_hint="--lineage")
        pairs[key.strip()] = value.strip()
    return pairs


def _about(version: ModelVersion) -> str:
    """Description and metadata in one line (empty when there is nothing to say)."""
    meta = version.metadata
    parts = [version.description.rstrip(".")] if version.description else []
    if meta.owner:
        parts.append(f"owner {meta.owner}")
    if meta.tags:
        parts.append("tags " + ", ".join(meta.tags))
    parts += [f"{key} {value}" for key, value in meta.lineage.items()]
    if meta.training_metrics:
        shown = ", ".join(f"{k} {v:.4g}" for k, v in meta.training_metrics.items())
        parts.append(f"training {shown}")
    if meta.sample_fingerprint:
        parts.append(f"sample {meta.sample_fingerprint[:_SHORT]}")
    return "; ".join(parts)


def _label(version: ModelVersion) -> str:
    aliases = f" ({', '.join(version.aliases)})" if version.aliases else ""
    return f"{version.name}:{version.version}{aliases}"


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"
