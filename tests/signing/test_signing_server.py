"""A real server on loopback (uvicorn in a subprocess) that requires signatures: it serves
a version signed by a trusted key and refuses, with a generic 503, an unsigned one and
ones whose signature row was tampered with; ``/readyz`` names each refusal.

Runs on SQLite and PostgreSQL (``database_url``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from signing_helpers import MODEL, Signer, altered_base64, copy_package, run_sql

import live_server as server_helpers
from modelport.registry import Registry
from modelport.settings import Settings
from modelport.signing import Keyring, sign_package

GENERIC = "this model version cannot be served right now; the server log says why"


@pytest.fixture
def live(
    tmp_path: Path,
    database_url: str | None,
    loan_package_path: Path,
    signer: Signer,
    keyring: Keyring,
) -> Iterator[tuple[Any, httpx.Client]]:
    """v1 unsigned (production); v2 signed; v3 signed, its signature row then altered;
    v4 unsigned, given v2's signature row with the digest swapped. Registered without
    requiring signatures; served by a server that requires them."""
    home = tmp_path / "home"
    settings = Settings(home=home, database_url=database_url)
    packages = [copy_package(loan_package_path, tmp_path / "v1")]
    packages += [
        copy_package(loan_package_path, tmp_path / f"v{n}", description=f"v{n}") for n in (2, 3, 4)
    ]
    sign_package(packages[1], signer.private_key)
    sign_package(packages[2], signer.private_key)
    registry = Registry.from_settings(settings)
    digests = [registry.register(packages[0], alias="production").digest]
    digests += [registry.register(path).digest for path in packages[1:]]
    registry.close()
    (encoded,) = run_sql(
        settings, "SELECT signature FROM package_signatures WHERE digest = :d", d=digests[2]
    )[0]
    run_sql(
        settings,
        "UPDATE package_signatures SET signature = :s WHERE digest = :d",
        s=altered_base64(encoded),
        d=digests[2],
    )
    run_sql(
        settings,
        "INSERT INTO package_signatures (digest, key_id, signature, added_at, added_by) "
        "SELECT :four, key_id, signature, added_at, added_by FROM package_signatures "
        "WHERE digest = :two",
        four=digests[3],
        two=digests[1],
    )
    deployment = server_helpers.Deployment(home, database_url, registry)
    server = server_helpers.start_server(
        deployment,
        extra_env={
            "MODELPORT_REQUIRE_SIGNATURE": "true",
            "MODELPORT_TRUSTED_KEYS_DIR": str(keyring.directory),
        },
    )
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            yield server, client
    finally:
        server_helpers.stop_server(server)


def test_only_a_version_signed_by_a_trusted_key_is_served(
    live: tuple[Any, httpx.Client], loan_package_path: Path, signer: Signer
) -> None:
    server, client = live
    record = server_helpers.reference_records(loan_package_path, 1)[0]

    signed = client.post(f"/v1/models/{MODEL}/versions/2/predict", json=record)
    assert signed.status_code == 200, signed.text
    assert signed.json()["success"] is True

    for path in (
        f"/v1/models/{MODEL}/predict",  # production: v1, unsigned
        f"/v1/models/{MODEL}/versions/1/predict",
        f"/v1/models/{MODEL}/versions/3/predict",  # signature row altered
        f"/v1/models/{MODEL}/versions/4/predict",  # another package's signature row
    ):
        response = client.post(path, json=record)
        body = server_helpers.refusal(response, 503, "signature_error")
        assert body["message"] == GENERIC, "the reason stays in the server log"
        assert str(server.home) not in response.text

    ready = client.get("/readyz").json()
    assert ready["failed"] == [
        f"{MODEL} version {n} cannot be loaded (signature_error)" for n in (1, 3, 4)
    ]
    log = server.log.read_text()
    assert "loan-approval:1" in log and "is refused: unsigned" in log
    assert f"signature by key {signer.key_id} does not verify" in log
