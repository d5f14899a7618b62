"""modelport.files: a write appears whole or not at all, and leaves nothing behind on failure."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import fsspec
import pytest

from modelport.errors import BatchError, ModelportError
from modelport.files import (
    PARTIAL_SUFFIX,
    atomic_directory,
    atomic_file,
    atomic_upload,
    write_file_atomically,
)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def test_atomic_file_replaces_the_target_only_on_success(tmp_path: Path) -> None:
    target = tmp_path / "new" / "scores.csv"  # the directory is created
    with atomic_file(target) as temporary:
        assert temporary.parent == target.parent
        assert temporary.name.startswith(".scores.csv.") and temporary.name.endswith(PARTIAL_SUFFIX)
        temporary.write_text("today\n")
        assert not target.exists()
    assert target.read_text() == "today\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~_umask()

    with pytest.raises(KeyboardInterrupt), atomic_file(target) as temporary:
        temporary.write_text("half of tomorrow")
        raise KeyboardInterrupt
    assert target.read_text() == "today\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["scores.csv"]


def test_atomic_file_names_the_directory_it_cannot_create(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    target = tmp_path / "file" / "out.csv"
    with (
        pytest.raises(BatchError, match="cannot create the directory"),
        atomic_file(target, error=BatchError),
    ):
        pass


def test_write_file_atomically_sets_the_mode(tmp_path: Path) -> None:
    target = tmp_path / "key.pem"
    target.write_bytes(b"old")
    write_file_atomically(target, b"new", mode=0o600)
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["key.pem"]


def test_atomic_upload_moves_a_whole_object_into_place() -> None:
    fs = fsspec.filesystem("memory")
    path = "/atomic-upload/out/scores.csv"
    with atomic_upload(fs, path) as temporary:
        temporary.write_text("a,b\n1,2\n")
        assert not fs.exists(path)
    assert fs.cat_file(path) == b"a,b\n1,2\n"
    assert fs.ls("/atomic-upload/out", detail=False) == [path]
    fs.rm("/atomic-upload", recursive=True)


class _FailingMove:
    """A file system whose final move fails, as a store that refuses the write would."""

    def __init__(self) -> None:
        self.fs = fsspec.filesystem("memory")

    def put_file(self, local: str, remote: str) -> None:
        self.fs.put_file(local, remote)

    def mv(self, source: str, target: str) -> None:
        raise PermissionError("access denied")

    def rm(self, path: str) -> None:
        self.fs.rm(path)


def test_a_failed_upload_leaves_nothing_and_names_the_shown_url() -> None:
    store: Any = _FailingMove()
    with (
        pytest.raises(ModelportError, match=r"cannot write s3://b/scores.csv: access denied"),
        atomic_upload(store, "/failed-upload/scores.csv", shown="s3://b/scores.csv") as temporary,
    ):
        temporary.write_text("x\n")
    assert store.fs.find("/failed-upload") == []  # the uploaded partial object was removed


def test_atomic_directory_leaves_nothing_on_failure_and_replaces_on_request(
    tmp_path: Path,
) -> None:
    target = tmp_path / "package"
    with pytest.raises(RuntimeError), atomic_directory(target) as scratch:
        (scratch / "model.onnx").write_bytes(b"half")
        raise RuntimeError("conversion failed")
    assert list(tmp_path.iterdir()) == []

    with atomic_directory(target) as scratch:
        (scratch / "model.onnx").write_bytes(b"first")
    with pytest.raises(FileExistsError), atomic_directory(target):
        pass
    with atomic_directory(target, replace=True) as scratch:
        (scratch / "model.onnx").write_bytes(b"second")
    assert (target / "model.onnx").read_bytes() == b"second"
    assert [p.name for p in tmp_path.iterdir()] == ["package"]
