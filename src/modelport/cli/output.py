"""Shared printing for commands: one console, errors as one red line and exit code 1."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import typer
from rich.console import Console

from modelport.errors import ModelportError

__all__ = ["console", "err_console", "fail_on_errors"]

console = Console()
err_console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


@contextmanager
def fail_on_errors() -> Iterator[None]:
    """Turn a modelport error into a readable message and exit status 1, never a traceback."""
    try:
        yield
    except ModelportError as exc:
        err_console.print(
            f"[bold red]error[/] [dim]({exc.code})[/]: {exc.message}", highlight=False
        )
        for error in exc.errors[:20]:
            err_console.print(f"  - {error}", highlight=False)
        if len(exc.errors) > 20:
            err_console.print(f"  ... and {len(exc.errors) - 20} more", highlight=False)
        raise typer.Exit(1) from None
