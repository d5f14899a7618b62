"""Shared printing for commands: one console, errors as one red line and exit code 1."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from modelport.contract import Contract, UnknownCategoryPolicy
from modelport.contract.words import format_number
from modelport.errors import ModelportError

__all__ = ["console", "contract_hint", "contract_table", "err_console", "fail_on_errors"]

console = Console()
err_console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


@contextmanager
def fail_on_errors() -> Iterator[None]:
    """Turn a modelport error into a readable message and exit status 1, never a traceback."""
    try:
        yield
    except ModelportError as exc:
        err_console.print(  # one line however long: never wrapped at the console's width
            f"[bold red]error[/] [dim]({exc.code})[/]: {escape(exc.message)}",
            highlight=False,
            soft_wrap=True,
        )
        for error in exc.errors[:20]:
            err_console.print(f"  - {escape(str(error))}", highlight=False)
        if len(exc.errors) > 20:
            err_console.print(f"  ... and {len(exc.errors) - 20} more", highlight=False)
        raise typer.Exit(1) from None


def contract_table(contract: Contract) -> Table:
    """The input contract as a table: one row per field, hard limits apart from expectations."""
    table = Table("field", "type", "required", "hard limits", "expected range", "categories")
    closed = "closed" if contract.unknown_categories is UnknownCategoryPolicy.REJECT else "known"
    for field in contract.fields:
        required = "yes" if field.required else "no"
        if field.default is not None:
            required += f" (default {field.default!r})"
        categories = []
        if field.categories is not None:
            categories.append(f"{closed}: {_some(field.categories)}")
        if field.expected_categories is not None:
            categories.append(f"expected: {_some(field.expected_categories)}")
        table.add_row(
            Text(field.name),
            field.type.value,
            required,
            _range(field.minimum, field.maximum),
            _range(field.expected_minimum, field.expected_maximum),
            Text("; ".join(categories)),
        )
    return table


def contract_hint(contract: Contract) -> str | None:
    """How to turn an expectation into a real limit, when the contract has expectations."""
    ranged = [f for f in contract.fields if f.expected_maximum is not None]
    listed = [f for f in contract.fields if f.expected_categories is not None]
    if not ranged and not listed:
        return None
    example = (
        f'"{ranged[0].name}": {{"maximum": ...}}'
        if ranged
        else f'"{listed[0].name}": {{"categories": [...]}}'
    )
    return (
        "Hard limits refuse a record; a value outside an expected range or list (what the "
        "sample showed) is scored and flagged with a warning. To refuse it, declare the real "
        f"bound when packaging: mp.package(..., overrides={{{example}}})."
    )


def _range(low: float | None, high: float | None) -> str:
    if low is None and high is None:
        return ""
    if high is None:
        return f">= {format_number(low)}" if low is not None else ""
    if low is None:
        return f"<= {format_number(high)}"
    return f"{format_number(low)} .. {format_number(high)}"


def _some(values: list[str], shown: int = 6) -> str:
    return ", ".join(values[:shown]) + (f" (+{len(values) - shown})" if len(values) > shown else "")
