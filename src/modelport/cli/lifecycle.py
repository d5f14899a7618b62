"""``modelport promote``, ``rollback``, ``history`` and ``policy``: moving aliases with gates."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Column, Table
from rich.text import Text

from modelport.cli.models import open_registry
from modelport.cli.output import console, err_console
from modelport.lifecycle import GatePolicy, PromotionReport, Requirement, promote, rollback
from modelport.registry.audit import AuditEvent

__all__ = ["history", "policy_app", "promote_command", "rollback_command"]

policy_app = typer.Typer(
    help="Gate policies an alias enforces on every promotion.", no_args_is_help=True
)

_Require = Annotated[
    list[str] | None,
    typer.Option(
        "--require",
        "-r",
        help="METRIC>=VALUE on the test data (repeatable), e.g. roc_auc>=0.8, rmse<=1200.",
    ),
]
_TestData = Annotated[
    str | None, typer.Option("--test-data", help="Test dataset: CSV, Parquet or JSON Lines.")
]
_Target = Annotated[
    str | None, typer.Option("--target", help="Column of the test data to predict.")
]
_NoWorse = Annotated[
    bool,
    typer.Option(
        "--no-worse-than-current", help="Compare with the version holding the alias, same data."
    ),
]
_Tolerance = Annotated[
    float, typer.Option("--tolerance", min=0.0, help="How much worse than current still passes.")
]


def _policy(
    require: list[str] | None,
    test_data: str | None,
    target: str | None,
    no_worse: bool,
    tolerance: float,
    allow_breaking: bool,
) -> GatePolicy:
    return GatePolicy(
        requirements=[Requirement.parse(text) for text in require or []],
        no_worse_than_current=no_worse,
        tolerance=tolerance,
        test_data=test_data,
        target=target,
        allow_breaking=allow_breaking,
    )


def promote_command(
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[int, typer.Argument(help="Version to promote.")],
    to: Annotated[str, typer.Option("--to", help="Alias to move, e.g. staging or production.")],
    test_data: _TestData = None,
    target: _Target = None,
    require: _Require = None,
    no_worse: _NoWorse = False,
    tolerance: _Tolerance = 0.0,
    allow_breaking: Annotated[
        bool, typer.Option("--allow-breaking", help="Accept breaking contract changes.")
    ] = False,
) -> None:
    """Move NAME's alias to VERSION if every gate passes (integrity, test data, contract).

    The alias's own policy (see `modelport policy`) always applies; options add to it.
    """
    with open_registry() as registry:
        options = _policy(require, test_data, target, no_worse, tolerance, allow_breaking)
        with console.status(f"running the gates for {name}:{version} → {to} ..."):
            report = promote(registry, name, version, to, options)
    _finish(report, f"[green]promoted[/] {name}:{version} to {to} (was {_was(report.previous)})")


def rollback_command(
    name: Annotated[str, typer.Argument(help="Model name.")],
    alias: Annotated[str, typer.Option("--alias", "-a", help="Alias to move back.")] = (
        "production"
    ),
) -> None:
    """Move NAME@ALIAS back to the version it pointed at before its latest move."""
    with open_registry() as registry:
        report = rollback(registry, name, alias)
    _finish(
        report,
        f"[green]rolled back[/] {name}@{alias} to version {report.version} (was {report.previous})",
    )


def history(
    name: Annotated[str, typer.Argument(help="Model name.")],
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Newest N events.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Every registration, alias move, promotion attempt, rollback and deletion of NAME."""
    with open_registry() as registry:
        events = registry.history(name, limit=limit)
    if as_json:
        for event in events:
            typer.echo(json.dumps(event.as_dict(), default=str))
        return
    table = Table(
        Column("#", justify="right", no_wrap=True),
        Column("when (UTC)", no_wrap=True),
        Column("actor", min_width=6, overflow="fold"),
        Column("event", min_width=16, overflow="fold"),
        Column("detail", min_width=16, overflow="fold"),
    )
    for event in events:
        table.add_row(
            str(event.id),
            f"{event.at:%Y-%m-%d %H:%M:%S}",
            event.actor,
            _headline(event),
            _summary(event),
        )
    console.print(table)


@policy_app.command("set")
def policy_set(
    model: Annotated[str, typer.Argument(help="Model name, or '*' for every model.")],
    alias: Annotated[str, typer.Argument(help="Alias the policy guards, e.g. production.")],
    require: _Require = None,
    test_data: _TestData = None,
    target: _Target = None,
    no_worse: _NoWorse = False,
    tolerance: _Tolerance = 0.0,
    allow_breaking: Annotated[
        bool, typer.Option("--allow-breaking", help="Do not block breaking contract changes.")
    ] = False,
) -> None:
    """Declare the gates every promotion of MODEL to ALIAS must pass (replaces the old one)."""
    with open_registry() as registry:
        policy = _policy(require, test_data, target, no_worse, tolerance, allow_breaking)
        registry.set_gate_policy(model, alias, policy.model_dump(mode="json"))
    console.print(f"[green]policy set[/] for {model}@{alias}: {_describe(policy)}", highlight=False)


@policy_app.command("show")
def policy_show(
    model: Annotated[str, typer.Argument(help="Model name.")],
    alias: Annotated[str, typer.Argument(help="Alias.")],
) -> None:
    """The combined policy a promotion of MODEL to ALIAS runs under."""
    with open_registry() as registry:
        stored = registry.gate_policies(model, alias)
    if not stored:
        console.print(f"no policy for {model}@{alias}: promotions run the integrity gate only")
        return
    combined = GatePolicy.combine(GatePolicy.model_validate(p) for p in stored)
    console.print(f"{model}@{alias}: {_describe(combined)}", highlight=False)


@policy_app.command("clear")
def policy_clear(
    model: Annotated[str, typer.Argument(help="Model name, or '*'.")],
    alias: Annotated[str, typer.Argument(help="Alias.")],
) -> None:
    """Remove the policy of MODEL (or '*') @ ALIAS."""
    with open_registry() as registry:
        registry.set_gate_policy(model, alias, None)
    console.print(f"policy of {model}@{alias} removed", highlight=False)


def _finish(report: PromotionReport, success: str) -> None:
    """The gate table, then the outcome; exit status 1 when a gate refused."""
    table = Table(Column("gate"), Column("result", no_wrap=True), Column("detail", overflow="fold"))
    for gate in report.gates:
        mark = "[green]pass[/]" if gate.passed else "[bold red]FAIL[/]"
        table.add_row(gate.gate, mark, Text(gate.detail))  # plain text: [x] is no markup
    console.print(table)
    if not report.passed:
        err_console.print(f"[bold red]refused[/]: {escape(report.refusal())}", highlight=False)
        raise typer.Exit(1)
    console.print(success, highlight=False)


def _describe(policy: GatePolicy) -> str:
    parts = [str(r) for r in policy.requirements]
    if policy.no_worse_than_current:
        parts.append(
            "no worse than current"
            + (f" (tolerance {policy.tolerance:g})" if policy.tolerance else "")
        )
    if policy.test_data:
        parts.append(f"test data {policy.test_data} (target {policy.target})")
    parts.append("breaking changes allowed" if policy.allow_breaking else "breaking changes block")
    return "; ".join(parts)


def _was(previous: int | None) -> str:
    return "a new alias" if previous is None else f"version {previous}"


def _headline(event: AuditEvent) -> str:
    """``promote 4 → production (was 3) refused``: what happened, in one phrase."""
    text = event.action.value
    if event.version is not None:
        text += f" {event.version}"
    if event.alias is not None:
        text += f" → {event.alias}"
        if event.previous_version is not None and event.previous_version != event.version:
            text += f" (was {event.previous_version})"
    colour = {"done": "green", "refused": "red", "conflict": "yellow"}[event.outcome.value]
    return f"{text} [{colour}]{event.outcome.value}[/]"


def _summary(event: AuditEvent) -> str:
    gates = event.detail.get("gates")
    if gates:
        failed = [g["gate"] for g in gates if not g["passed"]]
        return f"failed: {', '.join(failed)}" if failed else f"{len(gates)} gates passed"
    if event.undoes is not None:
        return f"undoes #{event.undoes}"
    if "policy" in event.detail:
        return "policy removed" if event.detail["policy"] is None else "policy set"
    if event.detail.get("restored"):
        return "restored"
    return ""
