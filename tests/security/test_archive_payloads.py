"""Malicious ``.mpk`` archives (BentoML CVE-2026-27905 and the classic tar-slip family):
every one is refused with :class:`UnsafeArchive` by ``unpack``, ``open_package``, the
registry and the CLI, and none leaves anything behind: no file outside the target, no
partial target directory, no registry row, no store entry."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
import tempfile
import tracemalloc
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelport.cli.main import app as cli
from modelport.errors import PackageError, UnsafeArchive
from modelport.package import open_package
from modelport.package.archive import unpack
from modelport.registry import Registry
from modelport.settings import Settings

MANIFEST = "modelport.yaml"
SMALL_CAP = 1 << 20  # the max_bytes these tests give unpack


def _file(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    return info, data


def _special(name: str, kind: bytes, linkname: str = "") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    info.mode = 0o777
    if kind in (tarfile.CHRTYPE, tarfile.BLKTYPE):
        info.devmajor, info.devminor = 1, 3  # /dev/null
    return info, b""


def _write_tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes]], **options: object) -> Path:
    with tarfile.open(path, "w:gz", **options) as tar:  # type: ignore[call-overload]
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return path


def _lying_size(path: Path, manifest: bytes) -> Path:
    """A tar whose second member's header declares far more bytes than follow it."""
    raw = io.BytesIO()
    info, _ = _file(MANIFEST, manifest)
    raw.write(info.tobuf(format=tarfile.GNU_FORMAT))
    raw.write(manifest + b"\0" * (-len(manifest) % 512))
    liar = tarfile.TarInfo("model.onnx")
    liar.size = 10 * SMALL_CAP  # 10 MiB promised, 100 bytes given
    raw.write(liar.tobuf(format=tarfile.GNU_FORMAT))
    raw.write(b"x" * 100)
    path.write_bytes(gzip.compress(raw.getvalue()))
    return path


def _bomb(path: Path, manifest: bytes, size: int) -> Path:
    """A gzip bomb: ``size`` bytes of zeros compress to about a thousandth of that."""
    with tarfile.open(path, "w:gz", compresslevel=9) as tar:
        info, data = _file(MANIFEST, manifest)
        tar.addfile(info, io.BytesIO(data))
        zeros = tarfile.TarInfo("model.onnx")
        zeros.size = size
        tar.addfile(zeros, _Zeros(size))
    assert path.stat().st_size < size // 100
    return path


class _Zeros(io.RawIOBase):
    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n


def _zip(path: Path, manifest: bytes) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(MANIFEST, manifest)
        archive.writestr("../../escaped", b"pwned")
    return path


Payload = Callable[[Path, bytes, Path], Path]  # (archive path, manifest bytes, victim dir)


def _payloads() -> dict[str, Payload]:
    def members(*extra: Callable[[Path], tuple[tarfile.TarInfo, bytes]], **options: object):
        def build(path: Path, manifest: bytes, victim: Path) -> Path:
            return _write_tar(
                path, [_file(MANIFEST, manifest), *(e(victim) for e in extra)], **options
            )

        return build

    return {
        "absolute path": members(lambda v: _file(str(v / "escaped"), b"pwned")),
        "dot-dot": members(lambda v: _file("../escaped", b"pwned")),
        "nested dot-dot": members(lambda v: _file("a/../../escaped", b"pwned")),
        "subdirectory file": members(lambda v: _file("sub/model.onnx", b"x")),
        "backslash dot-dot": members(lambda v: _file("..\\..\\escaped", b"pwned")),
        "leading dot": members(lambda v: _file(".hidden", b"x")),
        "NUL in pax name": members(
            lambda v: (_pax("model.onnx\x00/../../escaped"), b"pwned"), format=tarfile.PAX_FORMAT
        ),
        "pax path header": members(
            lambda v: (
                _pax("../../escaped"),
                b"pwned",
            ),
            format=tarfile.PAX_FORMAT,
        ),
        "GNU long name": members(
            lambda v: _file("../" * 60 + "escaped", b"pwned"), format=tarfile.GNU_FORMAT
        ),
        "symlink out": members(lambda v: _special("model.onnx", tarfile.SYMTYPE, str(v))),
        "symlink to passwd": members(
            lambda v: _special("model.onnx", tarfile.SYMTYPE, "/etc/passwd")
        ),
        "hardlink out": members(
            lambda v: _special("model.onnx", tarfile.LNKTYPE, str(v / "target"))
        ),
        "hardlink to member": members(lambda v: _special("copy.yaml", tarfile.LNKTYPE, MANIFEST)),
        "fifo": members(lambda v: _special("model.onnx", tarfile.FIFOTYPE)),
        "char device": members(lambda v: _special("model.onnx", tarfile.CHRTYPE)),
        "block device": members(lambda v: _special("model.onnx", tarfile.BLKTYPE)),
        "directory": members(lambda v: _special("models", tarfile.DIRTYPE)),
        "duplicate name": members(lambda v: _file(MANIFEST, b"name: other\n")),
        "too many members": lambda path, manifest, victim: _write_tar(
            path,
            [_file(MANIFEST, manifest), *(_file(f"f{i}.bin", b"x") for i in range(80))],
        ),
        "no manifest": lambda path, manifest, victim: _write_tar(path, [_file("model.onnx", b"x")]),
        "lying header size": lambda path, manifest, victim: _lying_size(path, manifest),
        "not a tar": lambda path, manifest, victim: _bytes(path, os.urandom(4096)),
        "empty file": lambda path, manifest, victim: _bytes(path, b""),
        "zip file": lambda path, manifest, victim: _zip(path, manifest),
        "truncated gzip": lambda path, manifest, victim: _bytes(
            path, _write_tar(path, [_file(MANIFEST, manifest)]).read_bytes()[:-40]
        ),
    }


def _pax(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo("innocent.bin")
    info.size = len(b"pwned")
    info.pax_headers = {"path": name}
    return info


def _bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


PAYLOADS = _payloads()


@pytest.fixture(scope="module")
def manifest_bytes(loan_package_path: Path) -> bytes:
    return (loan_package_path / MANIFEST).read_bytes()


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A directory outside every target, where an escaping member would land."""
    path = tmp_path / "victim"
    path.mkdir()
    (path / "target").write_text("precious")
    return path


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The process's temporary directory, made private to the test to see what is left."""
    path = tmp_path / "tmp"
    path.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(path))
    yield path


@pytest.fixture
def sqlite_registry(tmp_path: Path) -> Iterator[Registry]:
    with Registry.from_settings(Settings(home=tmp_path / "home", database_url=None)) as registry:
        yield registry


def _build(name: str, tmp_path: Path, manifest: bytes, victim: Path) -> Path:
    return PAYLOADS[name](tmp_path / "evil.mpk", manifest, victim)


def _untouched(victim: Path, tmp_path: Path) -> None:
    assert sorted(p.name for p in victim.iterdir()) == ["target"]
    assert (victim / "target").read_text() == "precious"
    assert not (tmp_path / "escaped").exists()
    assert not (tmp_path.parent / "escaped").exists()


def _files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if not p.is_dir()]


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_unpack_refuses_and_leaves_nothing(
    name: str, tmp_path: Path, manifest_bytes: bytes, victim: Path
) -> None:
    archive = _build(name, tmp_path, manifest_bytes, victim)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(UnsafeArchive):
        unpack(archive, out / "package", max_bytes=SMALL_CAP)
    assert list(out.iterdir()) == []  # no target, no .partial scratch directory
    _untouched(victim, tmp_path)


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_open_package_refuses_and_leaves_no_files(
    name: str, tmp_path: Path, manifest_bytes: bytes, victim: Path, private_tmp: Path
) -> None:
    archive = _build(name, tmp_path, manifest_bytes, victim)
    with pytest.raises(UnsafeArchive):
        open_package(archive)
    assert _files_under(private_tmp) == []
    assert list(private_tmp.rglob("package")) == []
    _untouched(victim, tmp_path)


def test_open_package_of_a_refused_archive_leaves_no_temporary_directory(
    tmp_path: Path, manifest_bytes: bytes, victim: Path, private_tmp: Path
) -> None:
    archive = _build("dot-dot", tmp_path, manifest_bytes, victim)
    with pytest.raises(UnsafeArchive):
        open_package(archive)
    assert list(private_tmp.iterdir()) == []


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_register_refuses_and_records_nothing(
    name: str, tmp_path: Path, manifest_bytes: bytes, victim: Path, sqlite_registry: Registry
) -> None:
    archive = _build(name, tmp_path, manifest_bytes, victim)
    with pytest.raises(UnsafeArchive):
        sqlite_registry.register(archive, alias="production")
    assert sqlite_registry.list_models() == []
    objects = tmp_path / "home" / "artifacts" / "sha256"
    assert not objects.exists() or list(objects.iterdir()) == []
    _untouched(victim, tmp_path)


def test_a_bomb_is_refused_before_a_byte_is_written(tmp_path: Path, manifest_bytes: bytes) -> None:
    archive = _bomb(tmp_path / "bomb.mpk", manifest_bytes, 4 * SMALL_CAP)
    out = tmp_path / "out"
    with pytest.raises(UnsafeArchive, match="more than"):
        unpack(archive, out / "package", max_bytes=SMALL_CAP)
    assert not out.exists() or list(out.iterdir()) == []


def test_an_archive_of_countless_empty_members_is_refused_in_little_memory(
    tmp_path: Path, manifest_bytes: bytes
) -> None:
    # 100,000 empty members gzip to a few hundred kB; every header kept would be ~30 MB.
    raw = io.BytesIO()
    raw.write(_file(MANIFEST, manifest_bytes)[0].tobuf() + manifest_bytes)
    raw.write(b"\0" * (-len(manifest_bytes) % 512))
    empty = _file("x", b"")[0]
    for i in range(100_000):
        empty.name = f"f{i}"
        raw.write(empty.tobuf())
    raw.write(b"\0" * 1024)
    archive = tmp_path / "many.mpk"
    archive.write_bytes(gzip.compress(raw.getvalue(), compresslevel=1))
    tracemalloc.start()
    try:
        with pytest.raises(UnsafeArchive, match="more than 64 members"):
            unpack(archive, tmp_path / "out" / "package", max_bytes=SMALL_CAP)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * 1024**2, f"{peak:,} bytes at the peak"
    assert not (tmp_path / "out").exists()


def test_the_cap_counts_every_member_together(tmp_path: Path, manifest_bytes: bytes) -> None:
    third = SMALL_CAP // 3 + 1
    archive = _write_tar(
        tmp_path / "parts.mpk",
        [_file(MANIFEST, manifest_bytes), *(_file(f"p{i}.bin", bytes(third)) for i in range(3))],
    )
    out = tmp_path / "out"
    with pytest.raises(UnsafeArchive, match="more than"):
        unpack(archive, out / "package", max_bytes=SMALL_CAP)
    assert not out.exists() or list(out.iterdir()) == []


def test_the_default_cap_refuses_a_header_beyond_it(
    tmp_path: Path, manifest_bytes: bytes, private_tmp: Path, sqlite_registry: Registry
) -> None:
    """The default cap (4 GiB) cannot be tested with a real bomb in a unit test; a header
    declaring more is refused from the headers alone, by open_package and the registry."""
    raw = io.BytesIO()
    info, _ = _file(MANIFEST, manifest_bytes)
    raw.write(info.tobuf(format=tarfile.GNU_FORMAT))
    raw.write(manifest_bytes + b"\0" * (-len(manifest_bytes) % 512))
    huge = tarfile.TarInfo("model.onnx")
    huge.size = 5 * 1024**3
    raw.write(huge.tobuf(format=tarfile.GNU_FORMAT))
    archive = tmp_path / "huge.mpk"
    archive.write_bytes(gzip.compress(raw.getvalue()))
    with pytest.raises(UnsafeArchive):
        open_package(archive)
    with pytest.raises(UnsafeArchive):
        sqlite_registry.register(archive)
    assert _files_under(private_tmp) == []
    assert sqlite_registry.list_models() == []


def test_a_valid_archive_still_opens_and_registers(
    loan_mpk: Path, tmp_path: Path, sqlite_registry: Registry
) -> None:
    """The control: the checks refuse the payloads, not archives in general."""
    assert open_package(loan_mpk).name == "loan-approval"
    assert unpack(loan_mpk, tmp_path / "out" / "package").is_dir()
    assert sqlite_registry.register(loan_mpk).version == 1


def test_unpack_never_overwrites_an_existing_target(loan_mpk: Path, tmp_path: Path) -> None:
    target = tmp_path / "existing"
    target.mkdir()
    (target / "keep.txt").write_text("precious")
    with pytest.raises(FileExistsError):
        unpack(loan_mpk, target)
    assert [p.name for p in target.iterdir()] == ["keep.txt"]


CLI_CASES = [
    "absolute path",
    "dot-dot",
    "symlink out",
    "hardlink out",
    "char device",
    "lying header size",
    "zip file",
    "not a tar",
]


@pytest.mark.parametrize("name", CLI_CASES)
@pytest.mark.parametrize("command", [["package", "verify"], ["models", "register"]])
def test_the_cli_refuses_with_one_line(
    name: str,
    command: list[str],
    tmp_path: Path,
    manifest_bytes: bytes,
    victim: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MODELPORT_DATABASE_URL", raising=False)
    archive = _build(name, tmp_path, manifest_bytes, victim)
    home = tmp_path / "home"
    runner = CliRunner(env={"MODELPORT_HOME": str(home), "COLUMNS": "400"})
    result = runner.invoke(cli, [*command, str(archive)])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # typer.Exit, not an escaped error
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error (unsafe_archive):")
    assert "Traceback" not in result.output
    _untouched(victim, tmp_path)
    if command[0] == "models":
        with Registry.from_settings(Settings(home=home, database_url=None)) as registry:
            assert registry.list_models() == []


def test_a_package_error_is_what_callers_catch() -> None:
    assert issubclass(UnsafeArchive, PackageError)
