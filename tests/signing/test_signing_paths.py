"""With signatures required, a package opened by its path (``mp.load``, ``modelport batch
score``, a scheduled job's ``model:``) is held to the rule the registry and server follow:
a valid signature by a trusted key, else a refusal naming the reason."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from signing_helpers import Signer, altered_base64, copy_package, edit_signature_file
from typer.testing import CliRunner

import modelport as mp
from modelport.cli.main import app
from modelport.errors import SignatureError
from modelport.package.archive import pack
from modelport.registry.opening import open_model
from modelport.settings import Settings
from modelport.signing import SIGNATURE_FILE, Keyring, sign_package


@pytest.fixture
def required(monkeypatch: pytest.MonkeyPatch, keyring: Keyring, tmp_path: Path) -> Settings:
    """Signatures required by the environment, as an operator sets them."""
    monkeypatch.setenv("MODELPORT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MODELPORT_REQUIRE_SIGNATURE", "true")
    monkeypatch.setenv("MODELPORT_TRUSTED_KEYS_DIR", str(keyring.directory))
    return Settings()


def test_a_signed_package_path_loads_and_scores(
    required: Settings, signed_copy: Path, loan_frame: pd.DataFrame
) -> None:
    scorer = mp.load(signed_copy)
    assert len(scorer.predict(loan_frame[scorer.contract.names].head(3))) == 3


def test_a_signed_archive_loads(required: Settings, signed_copy: Path, tmp_path: Path) -> None:
    archive = pack(signed_copy, tmp_path / "loan.mpk")
    assert open_model(archive, required).label == str(archive)


@pytest.mark.parametrize(
    ("spoil", "says"),
    [
        ("unsigned", "unsigned; signatures are required"),
        ("stranger", "which is not trusted"),
        ("altered signature", "does not verify"),
        ("resealed after signing", "signatures are over other packages"),
    ],
)
def test_a_package_path_without_a_trusted_signature_is_refused(
    required: Settings,
    signed_copy: Path,
    stranger: Signer,
    loan_package_path: Path,
    tmp_path: Path,
    spoil: str,
    says: str,
) -> None:
    path = signed_copy
    if spoil == "unsigned":
        (path / SIGNATURE_FILE).unlink()
    elif spoil == "stranger":
        (path / SIGNATURE_FILE).unlink()
        sign_package(path, stranger.private_key)
    elif spoil == "altered signature":
        encoded = json.loads((path / SIGNATURE_FILE).read_text())["signatures"][0]["signature"]
        edit_signature_file(path, signature=altered_base64(encoded))
    else:  # a different package, carrying the signature of the one that was signed
        path = copy_package(loan_package_path, tmp_path / "resealed", description="changed")
        shutil.copy(signed_copy / SIGNATURE_FILE, path / SIGNATURE_FILE)
    with pytest.raises(SignatureError, match=says):
        mp.load(path)
    result = CliRunner().invoke(
        app, ["batch", "score", str(path), "-i", "in.csv", "-o", str(tmp_path / "out.csv")]
    )
    assert result.exit_code == 1 and says in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert not (tmp_path / "out.csv").exists()


def test_without_the_setting_an_unsigned_path_still_loads(
    unsigned_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MODELPORT_REQUIRE_SIGNATURE", raising=False)
    assert mp.load(unsigned_copy).contract is not None
