"""``modelport package``: inspect, verify and archive package files."""

from __future__ import annotations

from pathlib import Path

import typer

from modelport.cli.output import console, contract_hint, contract_table, fail_on_errors
from modelport.package import open_package, pack
from modelport.package.reference import check_reference

app = typer.Typer(help="Inspect, verify and archive model packages.", no_args_is_help=True)


@app.command()
def verify(path: Path = typer.Argument(..., help="Package directory or .mpk archive.")) -> None:
    """Check every digest, then re-score the reference rows and compare with the recorded ones."""
    with fail_on_errors():
        package = open_package(path)
        worst = check_reference(package)
    console.print(
        f"[green]ok[/] {package.name}: digests match ({package.digest[:12]}), "
        f"reference rows reproduce within {worst:.3g}"
    )


@app.command()
def inspect(path: Path = typer.Argument(..., help="Package directory or .mpk archive.")) -> None:
    """Show what a package holds: task, runtime, contract and parity evidence.

    The contract table sets the hard limits (refused) apart from the expected ranges and
    categories the sample showed (scored, with a warning).
    """
    with fail_on_errors():
        package = open_package(path)
    m = package.manifest
    console.print(
        f"[bold]{m.name}[/]  {m.task.value}  runtime={m.runtime.value}  digest={m.digest}"
    )
    console.print(f"built {m.created:%Y-%m-%d %H:%M} UTC with {m.framework['estimator']}")
    parity = m.parity
    gaps = ", ".join(f"{k} {v:.3g}" for k, v in parity.max_abs_diff.items())
    console.print(
        f"parity {'passed' if parity.passed else 'FAILED'}: {parity.rows_checked} rows, "
        f"max abs diff {gaps}, tolerance {parity.tolerance:g}"
    )
    console.print(contract_table(m.contract))
    hint = contract_hint(m.contract)
    if hint:
        console.print(hint, style="dim", highlight=False)


@app.command("pack")
def pack_command(
    path: Path = typer.Argument(..., help="Package directory."),
    output: Path = typer.Option(..., "--output", "-o", help="Archive to write (.mpk)."),
) -> None:
    """Write a package directory as one .mpk file for transport."""
    with fail_on_errors():
        pack(path, output)
    console.print(f"[green]wrote[/] {output}")
