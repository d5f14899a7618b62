"""``modelport sign``, ``modelport keys signing-key|trust|trusted|distrust`` and
``modelport models register --require-signature``, against a real registry under a
temporary MODELPORT_HOME (SQLite, and PostgreSQL through MODELPORT_DATABASE_URL)."""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from signing_helpers import MODEL, MODEL_FILE, flip_byte
from typer.testing import CliRunner, Result

from modelport.cli.main import app
from modelport.errors import SignatureError
from modelport.registry import Registry
from modelport.settings import Settings
from modelport.signing import read_signature_file

Run = Callable[..., Result]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def run(home: Path, monkeypatch: pytest.MonkeyPatch, database_url: str | None) -> Run:
    for name in ("MODELPORT_DATABASE_URL", "MODELPORT_REQUIRE_SIGNATURE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("MODELPORT_TRUSTED_KEYS_DIR", raising=False)
    env = {"MODELPORT_HOME": str(home), "COLUMNS": "200"}
    if database_url is not None:
        env["MODELPORT_DATABASE_URL"] = database_url
    runner = CliRunner(env=env)

    def invoke(*args: str) -> Result:
        result = runner.invoke(app, list(args))
        assert "Traceback" not in result.output
        return result

    return invoke


def _settings(home: Path, database_url: str | None, **changes: object) -> Settings:
    return Settings(home=home, database_url=database_url).model_copy(update=changes)


def test_keys_generate_trust_list_and_distrust(run: Run, tmp_path: Path, home: Path) -> None:
    result = run("keys", "signing-key", "--out", str(tmp_path / "keys" / "release"))
    assert result.exit_code == 0, result.output
    private, public = tmp_path / "keys" / "release.key", tmp_path / "keys" / "release.pub"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600 and public.is_file()
    key_id = result.stdout.split("key id", 1)[1].split()[0]
    assert len(key_id) == 16

    assert run("keys", "signing-key", "--out", str(tmp_path / "keys" / "release")).exit_code == 1

    result = run("keys", "trusted")
    assert result.exit_code == 0 and "no trusted keys" in result.stdout

    result = run("keys", "trust", str(public))
    assert result.exit_code == 0, result.output
    assert f"trusted release (key id {key_id})" in result.stdout
    assert (home / "trusted-keys" / "release.pub").is_file()

    result = run("keys", "trusted")
    row = next(line for line in result.stdout.splitlines() if "release" in line)
    assert key_id in row and "release.pub" in row

    result = run("keys", "trust", str(private))  # the private key by mistake
    assert result.exit_code == 1 and "not a PEM public key" in result.output

    result = run("keys", "distrust", key_id)
    assert result.exit_code == 0 and "distrusted release" in result.stdout
    result = run("keys", "distrust", key_id)
    assert result.exit_code == 1 and "no trusted key" in result.output


def test_sign_a_package_then_register_it_with_signatures_required(
    run: Run, tmp_path: Path, unsigned_copy: Path
) -> None:
    base = tmp_path / "keys" / "release"
    assert run("keys", "signing-key", "--out", str(base)).exit_code == 0
    assert run("keys", "trust", f"{base}.pub").exit_code == 0

    result = run("models", "register", str(unsigned_copy), "--require-signature")
    assert result.exit_code == 1
    assert "(signature_error)" in result.output and "is refused: unsigned" in result.output

    result = run("sign", str(unsigned_copy), "--key", f"{base}.key")
    assert result.exit_code == 0, result.output
    (signature,) = read_signature_file(unsigned_copy)
    assert f"with key {signature.key_id}" in result.stdout
    assert "not trusted" not in result.output

    result = run("models", "register", str(unsigned_copy), "--require-signature")
    assert result.exit_code == 0, result.output
    assert f"registered {MODEL}:1" in result.stdout


def test_the_setting_requires_signatures_without_the_flag(
    run: Run, tmp_path: Path, unsigned_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELPORT_REQUIRE_SIGNATURE", "true")
    result = run("models", "register", str(unsigned_copy))
    assert result.exit_code == 1 and "unsigned" in result.output


def test_sign_a_registered_version(
    run: Run, tmp_path: Path, home: Path, database_url: str | None, unsigned_copy: Path
) -> None:
    base = tmp_path / "keys" / "release"
    assert run("keys", "signing-key", "--out", str(base)).exit_code == 0
    assert run("models", "register", str(unsigned_copy), "--alias", "production").exit_code == 0

    result = run("sign", f"{MODEL}:1", "--key", f"{base}.key")
    assert result.exit_code == 0, result.output
    assert f"signed {MODEL}:1" in result.stdout
    assert "is not trusted on this machine" in result.output  # a hint, not a failure

    strict = _settings(home, database_url, require_signature=True)
    with Registry.from_settings(strict) as registry:
        with pytest.raises(SignatureError, match="not trusted"):
            registry.open(MODEL)
        assert run("keys", "trust", f"{base}.pub").exit_code == 0
        assert registry.open(MODEL).digest == registry.resolve(MODEL).digest


def test_sign_fails_in_one_line(run: Run, tmp_path: Path, signed_copy: Path) -> None:
    base = tmp_path / "keys" / "release"
    assert run("keys", "signing-key", "--out", str(base)).exit_code == 0

    result = run("sign", str(signed_copy), "--key", str(tmp_path / "missing.key"))
    assert result.exit_code == 1 and "cannot read the private key" in result.output

    result = run("sign", str(tmp_path / "nope.mpk"), "--key", f"{base}.key")
    assert result.exit_code == 1 and "no package at" in result.output

    result = run("sign", f"{MODEL}:1", "--key", f"{base}.key")
    assert result.exit_code == 1 and "(model_not_found)" in result.output

    flip_byte(signed_copy / MODEL_FILE)
    result = run("sign", str(signed_copy), "--key", f"{base}.key")
    assert result.exit_code == 1 and "(integrity_error)" in result.output

    result = run("sign", str(signed_copy))
    assert result.exit_code == 2  # usage: --key is required
