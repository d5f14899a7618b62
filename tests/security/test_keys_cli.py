"""``modelport keys`` and ``modelport token`` as users run them: the key printed once on
stdout, listed without secrets, revoked; a development token the server's verifier accepts."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from modelport.cli.main import app
from modelport.registry import Registry
from modelport.security.api_keys import ApiKeyVerifier, split_api_key
from modelport.security.tokens import TokenVerifier
from modelport.settings import Settings

SECRET = "cli-test-secret-0123456789-0123456789-0123"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MODELPORT_HOME", str(tmp_path))
    monkeypatch.delenv("MODELPORT_DATABASE_URL", raising=False)
    return tmp_path


def test_create_list_revoke(home: Path) -> None:
    runner = CliRunner()
    created = runner.invoke(
        app, ["keys", "create", "ci-deployer", "--scope", "predict:loan", "--expires", "30d"]
    )
    assert created.exit_code == 0, created.output
    key = created.stdout.strip()
    key_id, _ = split_api_key(key) or (None, None)
    assert key_id is not None, created.stdout
    assert "shown only now" in created.stderr

    listed = runner.invoke(app, ["keys", "list"])
    assert listed.exit_code == 0 and key_id in listed.stdout and "active" in listed.stdout
    assert key.split("_")[-1] not in listed.stdout

    with Registry.from_settings(Settings(home=home)) as registry:
        assert ApiKeyVerifier(registry.api_keys.find).verify(key).may_predict("loan")
    revoked = runner.invoke(app, ["keys", "revoke", key_id])
    assert revoked.exit_code == 0, revoked.output
    assert key_id not in runner.invoke(app, ["keys", "list"]).stdout
    assert "revoked" in runner.invoke(app, ["keys", "list", "--all"]).stdout


@pytest.mark.parametrize(
    ("arguments", "code", "says"),
    [
        (["keys", "create", "x", "--scope", "root"], 1, "unknown scope"),
        (["keys", "create", "Bad Name", "--scope", "admin"], 1, "invalid key name"),
        (["keys", "create", "x", "--scope", "admin", "--expires", "soon"], 2, "not a duration"),
        (["keys", "revoke", "0123456789ab"], 1, "no API key"),
    ],
)
def test_mistakes_are_one_line_errors(
    home: Path, arguments: list[str], code: int, says: str
) -> None:
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == code, result.output
    assert says in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_a_development_token_verifies_with_the_server_settings(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELPORT_JWT_SECRET", SECRET)
    monkeypatch.setenv("MODELPORT_JWT_AUDIENCE", "modelport")
    result = CliRunner().invoke(
        app, ["token", "create", "--subject", "dev", "-s", "predict:*", "--expires", "10m"]
    )
    assert result.exit_code == 0, result.output
    settings = Settings(auth="jwt", jwt_secret=SecretStr(SECRET), jwt_audience="modelport")
    principal = TokenVerifier.from_settings(settings).verify(result.stdout.strip())
    assert principal.subject == "dev" and principal.may_predict("any-model")
    assert principal.expires_at is not None


def test_a_token_without_a_secret_says_what_to_set(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MODELPORT_JWT_SECRET", raising=False)
    result = CliRunner().invoke(app, ["token", "create", "--subject", "dev", "-s", "admin"])
    assert result.exit_code == 1 and "MODELPORT_JWT_SECRET" in result.output
