"""A package proves it is unchanged: any modified, added or missing file is refused."""

from __future__ import annotations

import io
import shutil
import tarfile
from pathlib import Path

import pytest
import yaml

import modelport as mp
from modelport.errors import IntegrityError, PackageError, UnsafeArchive
from modelport.package import open_package, pack, unpack


@pytest.fixture
def package_copy(loan_package_path: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "pkg"
    shutil.copytree(loan_package_path, copy)
    return copy


def test_a_fresh_package_verifies(package_copy: Path) -> None:
    package = open_package(package_copy)
    assert package.name == "loan-approval"
    assert len(package.digest) == 64
    assert set(package.manifest.files) == {"model.onnx", "reference.parquet"}


@pytest.mark.parametrize("name", ["model.onnx", "reference.parquet"])
def test_a_modified_file_is_refused_naming_the_file(package_copy: Path, name: str) -> None:
    path = package_copy / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match=name):
        open_package(package_copy)
    with pytest.raises(IntegrityError, match=name):
        mp.load(package_copy)


def test_an_edited_manifest_is_refused(package_copy: Path) -> None:
    manifest_path = package_copy / "modelport.yaml"
    data = yaml.safe_load(manifest_path.read_text())
    data["contract"]["fields"][0]["minimum"] = -1000.0  # widen a bound: looks harmless
    manifest_path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(IntegrityError, match="modelport.yaml"):
        open_package(package_copy)


def test_an_added_or_missing_file_is_refused(package_copy: Path) -> None:
    (package_copy / "extra.bin").write_bytes(b"surprise")
    with pytest.raises(IntegrityError, match="extra.bin"):
        open_package(package_copy)
    (package_copy / "extra.bin").unlink()
    (package_copy / "reference.parquet").unlink()
    with pytest.raises(IntegrityError, match="reference.parquet"):
        open_package(package_copy)


def test_not_a_package_says_so(tmp_path: Path) -> None:
    with pytest.raises(PackageError, match="modelport.yaml is missing"):
        open_package(tmp_path)


def test_archive_round_trip_verifies(package_copy: Path, tmp_path: Path) -> None:
    archive = pack(package_copy, tmp_path / "loan.mpk")
    opened = open_package(archive)
    assert opened.digest == open_package(package_copy).digest
    unpacked = unpack(archive, tmp_path / "unpacked")
    assert open_package(unpacked).digest == opened.digest


def _archive_with(tmp_path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    path = tmp_path / "evil.mpk"
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _file(name: str, data: bytes = b"x") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _link(name: str, target: str, kind: bytes) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info, None


@pytest.mark.parametrize(
    "member",
    [
        _file("../escape.txt"),
        _file("/etc/passwd"),
        _file("sub/dir.txt"),
        _file("..%2fescape"),
        _link("modelport.yaml", "/etc/passwd", tarfile.SYMTYPE),
        _link("model.onnx", "/etc/shadow", tarfile.LNKTYPE),
    ],
    ids=["dotdot", "absolute", "subdir", "encoded", "symlink", "hardlink"],
)
def test_unsafe_archive_members_are_refused_before_extraction(
    tmp_path: Path, member: tuple[tarfile.TarInfo, bytes | None]
) -> None:
    archive = _archive_with(tmp_path, [_file("modelport.yaml"), member])
    target = tmp_path / "out"
    with pytest.raises(UnsafeArchive):
        unpack(archive, target)
    assert not target.exists()
    assert not (tmp_path / "escape.txt").exists()


def test_a_decompression_bomb_is_capped(tmp_path: Path) -> None:
    archive = _archive_with(tmp_path, [_file("modelport.yaml", b"0" * 4096)])
    with pytest.raises(UnsafeArchive, match="more than"):
        unpack(archive, tmp_path / "out", max_bytes=1024)
    assert not (tmp_path / "out").exists()


def test_garbage_is_not_an_archive(tmp_path: Path) -> None:
    path = tmp_path / "garbage.mpk"
    path.write_bytes(b"not a tar at all")
    with pytest.raises(UnsafeArchive, match="not a readable package archive"):
        open_package(path)
