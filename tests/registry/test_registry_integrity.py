"""Nothing unverified gets in, and nothing modified gets out."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from modelport.errors import IntegrityError, PackageError, UnsafeArchive
from modelport.package import pack
from modelport.package.manifest import MANIFEST_FILE, Manifest
from modelport.registry import Registry


def _overwrite(path: Path, data: bytes) -> None:
    path.chmod(0o644)  # store entries are read-only: tampering takes intent
    path.write_bytes(data)


def _append(path: Path, extra: bytes = b"\x00") -> None:
    _overwrite(path, path.read_bytes() + extra)


def _nothing_changed(registry: Registry, entries: Callable[[], set[str]], before: set[str]) -> None:
    assert entries() == before  # no new entry, no leftover scratch directory
    assert [m.name for m in registry.list_models()] == ["loan-approval"]
    assert len(registry.get_model("loan-approval").versions) == 1
    assert registry.alias_state() == {("loan-approval", "production"): 1}


@pytest.fixture
def registered(registry: Registry, loan_package_path: Path) -> Registry:
    registry.register(loan_package_path, alias="production")
    return registry


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda p: _append(p / "model.onnx"), id="model-bytes"),
        pytest.param(lambda p: _append(p / "reference.parquet"), id="reference-bytes"),
        pytest.param(lambda p: (p / "model.onnx").unlink(), id="missing-file"),
        pytest.param(lambda p: (p / "extra.py").write_text("import os"), id="extra-file"),
        pytest.param(
            lambda p: _overwrite(
                p / MANIFEST_FILE,
                (p / MANIFEST_FILE).read_bytes().replace(b"description: ''", b"description: x"),
            ),
            id="manifest-edited",
        ),
        pytest.param(
            lambda p: ((p / "model.onnx").unlink(), (p / "model.onnx").symlink_to("/etc/hosts")),
            id="symlinked-file",
        ),
    ],
)
def test_a_tampered_package_is_refused_and_nothing_is_written(
    registered: Registry,
    loan_copy: Path,
    entries: Callable[[], set[str]],
    tamper: Callable[[Path], object],
) -> None:
    before = entries()
    tamper(loan_copy)
    manifest = Manifest.read(loan_copy)
    with pytest.raises(IntegrityError) as caught:
        registered.register(loan_copy, alias="staging")
    assert str(loan_copy) in str(caught.value)  # names the user's path, not a scratch copy
    assert ".incoming" not in str(caught.value)
    assert manifest.name == "loan-approval"
    _nothing_changed(registered, entries, before)


def test_a_tampered_archive_is_refused(
    registered: Registry, loan_copy: Path, tmp_path: Path, entries: Callable[[], set[str]]
) -> None:
    before = entries()
    _append(loan_copy / "model.onnx")
    archive = tmp_path / "tampered.mpk"
    shutil.copy(Path(__file__), archive)  # not even a tar file
    with pytest.raises(UnsafeArchive):
        registered.register(archive)
    (loan_copy / "model.onnx").write_bytes((loan_copy / "model.onnx").read_bytes()[:-1])
    pack(loan_copy, archive)
    with archive.open("r+b") as handle:  # corrupt the compressed stream
        handle.seek(200)
        handle.write(b"\xff" * 16)
    with pytest.raises(PackageError):
        registered.register(archive)
    _nothing_changed(registered, entries, before)


def test_a_package_with_subdirectories_is_refused(
    registered: Registry, loan_copy: Path, entries: Callable[[], set[str]]
) -> None:
    """A manifest may only list plain file names: packages are flat."""
    before = entries()
    (loan_copy / "sub").mkdir()
    (loan_copy / "reference.parquet").rename(loan_copy / "sub" / "reference.parquet")
    manifest = Manifest.read(loan_copy)
    files = dict(manifest.files)
    files["sub/reference.parquet"] = files.pop("reference.parquet")
    resealed = manifest.model_copy(update={"files": files, "description": "nested"}).sealed()
    (loan_copy / MANIFEST_FILE).write_text(resealed.to_yaml(), encoding="utf-8")
    with pytest.raises(IntegrityError, match="not a plain package file name"):
        registered.register(loan_copy)
    _nothing_changed(registered, entries, before)


def test_open_refuses_a_store_entry_modified_after_registration(registered: Registry) -> None:
    stored = registered.resolve("loan-approval").path
    assert registered.open("loan-approval").digest == stored.name
    _append(stored / "model.onnx")
    with pytest.raises(IntegrityError, match="model.onnx does not match"):
        registered.open("loan-approval")
    with pytest.raises(IntegrityError):
        registered.open("loan-approval:1")


def test_open_refuses_a_store_entry_swapped_for_another_valid_package(
    registered: Registry, reseal: Callable[..., Path]
) -> None:
    stored = registered.resolve("loan-approval").path
    impostor = reseal(description="not the registered one")
    for path in stored.iterdir():
        path.chmod(0o644)
    shutil.rmtree(stored)
    shutil.copytree(impostor, stored)
    with pytest.raises(IntegrityError, match="replaced after registration"):
        registered.open("loan-approval")


def test_open_reports_a_missing_store_entry(registered: Registry) -> None:
    stored = registered.resolve("loan-approval").path
    shutil.rmtree(stored)
    with pytest.raises(IntegrityError, match="is missing"):
        registered.open("loan-approval")


def test_registering_again_repairs_a_damaged_store_entry(
    registered: Registry, loan_package_path: Path
) -> None:
    stored = registered.resolve("loan-approval").path
    _append(stored / "model.onnx")
    assert registered.register(loan_package_path).version == 1
    assert registered.open("loan-approval").digest == stored.name


def test_store_entries_are_read_only_copies(registered: Registry, loan_package_path: Path) -> None:
    stored = registered.resolve("loan-approval").path
    for path in stored.iterdir():
        assert not path.is_symlink()
        assert path.stat().st_mode & 0o222 == 0
        assert path.stat().st_ino != (loan_package_path / path.name).stat().st_ino
    assert os.access(stored, os.R_OK | os.X_OK)
