"""Shared printing for commands: one console, errors as one red line and exit code 1."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from modelport.contract import Contract
from modelport.errors import ModelportError

__all__ = ["console", "contract_table", "err_console", "fail_on_errors"]

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
    """The input contract as a table: one row per field."""
    table = Table("field", "type", "required", "bounds / categories")
    for field in contract.fields:
        if field.categories is not None:
            shown = ", ".join(field.categories[:6])
            domain = shown + (" ..." if len(field.categories) > 6 else "")
        elif field.minimum is not None or field.maximum is not None:
            domain = f"[{field.minimum}, {field.maximum}]"
        else:
            domain = ""
        table.add_row(field.name, field.type.value, "yes" if field.required else "no", domain)
    return table
