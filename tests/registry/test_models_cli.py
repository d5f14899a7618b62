"""``modelport models ...`` against a real registry under a temporary MODELPORT_HOME, on
SQLite (the default file there) and on PostgreSQL (``MODELPORT_DATABASE_URL``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from modelport.cli.models import app

Run = Callable[..., Result]


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str | None) -> Run:
    monkeypatch.delenv("MODELPORT_DATABASE_URL", raising=False)
    env = {"MODELPORT_HOME": str(tmp_path / "home"), "COLUMNS": "160"}
    if database_url is not None:
        env["MODELPORT_DATABASE_URL"] = database_url
    runner = CliRunner(env=env)

    def invoke(*args: str) -> Result:
        return runner.invoke(app, list(args))

    return invoke


def test_register_list_show_alias(
    run: Run,
    tmp_path: Path,
    database_url: str | None,
    loan_package_path: Path,
    second_loan_package: Path,
) -> None:
    result = run("list")
    assert result.exit_code == 0
    assert "no models registered" in result.stdout

    result = run("register", str(loan_package_path), "--alias", "production")
    assert result.exit_code == 0, result.output
    assert "registered loan-approval:1" in result.stdout
    assert "alias production" in result.stdout
    assert (tmp_path / "home" / "registry.db").is_file() == (database_url is None)
    assert len(list((tmp_path / "home" / "artifacts" / "sha256").iterdir())) == 1

    result = run("register", str(loan_package_path))
    assert result.exit_code == 0
    assert "already registered loan-approval:1" in result.stdout

    result = run("register", str(second_loan_package))
    assert result.exit_code == 0
    assert "registered loan-approval:2" in result.stdout

    result = run("list")
    assert result.exit_code == 0
    line = next(ln for ln in result.stdout.splitlines() if "loan-approval" in ln)
    assert "production → 1" in line and " 2 " in line

    result = run("alias", "loan-approval", "staging", "2")
    assert result.exit_code == 0
    assert "loan-approval@staging → version 2 (new alias)" in result.stdout
    result = run("alias", "loan-approval", "production", "2")
    assert "→ version 2 (was version 1)" in result.stdout

    result = run("show", "loan-approval")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "small forest" in out
    assert "contract of loan-approval:2 (production, staging)" in out
    for field in ("annual_income", "home_ownership", "mortgage"):
        assert field in out

    result = run("show", "loan-approval:1")
    assert "contract of loan-approval:1" in result.stdout


def test_show_without_production_uses_the_latest(run: Run, loan_package_path: Path) -> None:
    run("register", str(loan_package_path), "--alias", "staging")
    result = run("show", "loan-approval")
    assert result.exit_code == 0, result.output
    assert "contract of loan-approval:1 (staging)" in result.stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("show", "nope"), "model_not_found", "no model named 'nope'"),
        (("show", "loan-approval@shadow"), "alias_not_found", "has no alias 'shadow'"),
        (("show", "../etc"), "invalid_name", "invalid model name '../etc'"),
        (("alias", "loan-approval", "staging", "9"), "version_not_found", "has no version 9"),
        (("alias", "loan-approval", "a/b", "1"), "invalid_name", "invalid alias 'a/b'"),
        (("alias", "loan-approval", "staging", "0"), "invalid_name", "invalid version 0"),
        (("register", "/nonexistent/pkg"), "package_error", "no package at"),
    ],
)
def test_errors_are_one_line_and_exit_one(
    run: Run, loan_package_path: Path, args: tuple[str, ...], code: str, message: str
) -> None:
    run("register", str(loan_package_path))
    result = run(*args)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert f"({code})" in result.stderr and message in result.stderr
    assert "Traceback" not in result.output


def test_a_tampered_package_is_refused_on_the_command_line(
    run: Run, loan_copy: Path, tmp_path: Path
) -> None:
    (loan_copy / "model.onnx").write_bytes(b"not the model")
    result = run("register", str(loan_copy))
    assert result.exit_code == 1
    assert "(integrity_error)" in result.stderr and "model.onnx" in result.stderr
    assert not (tmp_path / "home" / "artifacts" / "sha256").exists() or not any(
        (tmp_path / "home" / "artifacts" / "sha256").iterdir()
    )
    assert run("list").stdout.startswith("no models registered")


def test_usage_errors_exit_two(run: Run) -> None:
    assert run("alias", "loan-approval", "staging", "two").exit_code == 2
    assert run("frobnicate").exit_code == 2


def test_the_group_is_mounted_on_the_modelport_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modelport.cli.main import app as main_app

    monkeypatch.delenv("MODELPORT_DATABASE_URL", raising=False)
    runner = CliRunner(env={"MODELPORT_HOME": str(tmp_path / "home")})
    result = runner.invoke(main_app, ["models", "list"])
    assert result.exit_code == 0, result.output
    assert "no models registered" in result.stdout
