"""``modelport package inspect`` shows the contract: hard limits apart from expectations."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from modelport.cli.output import contract_hint, contract_table
from modelport.cli.package import app
from modelport.contract import Contract, FieldSpec, FieldType
from modelport.contract.validate import format_number
from modelport.package import open_package


def test_inspect_shows_hard_limits_expected_ranges_and_how_to_declare_bounds(
    loan_package_path: Path,
) -> None:
    contract = open_package(loan_package_path).manifest.contract
    result = CliRunner(env={"COLUMNS": "240"}).invoke(app, ["inspect", str(loan_package_path)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    for heading in ("hard limits", "expected range", "categories"):
        assert heading in out
    income = contract.field("annual_income")
    assert income.expected_maximum is not None
    row = next(line for line in out.splitlines() if "annual_income" in line)
    assert ">= 0" in row
    assert f"0 .. {format_number(income.expected_maximum)}" in row
    region = contract.field("region")
    assert region.expected_categories is not None  # the loan pipeline ignores unseen ones
    row = next(line for line in out.splitlines() if line.strip("│ ").startswith("region"))
    assert "expected: " + ", ".join(region.expected_categories[:3]) in row
    assert 'overrides={"age": {"maximum": ...}}' in " ".join(out.split())


def test_a_contract_without_expectations_needs_no_hint() -> None:
    contract = Contract(
        fields=[
            FieldSpec(name="age", type=FieldType.INTEGER, minimum=18, maximum=100),
            FieldSpec(name="city", type=FieldType.STRING, categories=["oslo", "[red]rome"]),
        ]
    )
    assert contract_hint(contract) is None
    console = Console(width=200, record=True)
    console.print(contract_table(contract))
    text = console.export_text()
    assert "18 .. 100" in text
    assert "closed: oslo, [red]rome" in text  # values are shown as they are, not as markup
