"""The artifact store behind an fsspec URL: upload with a commit marker, verified local cache.

Two real remote file systems stand in for an object store:

- ``memory://``: fsspec's in-process file system (one per process, so the "second
  machine" here is a second registry with its own empty cache);
- a directory reached through fsspec's LocalFileSystem, driven by ``RemoteArtifactStore``
  directly. ``open_store`` would treat a ``file://`` URL as a local store (renames,
  read-only entries); constructing the remote store for it runs exactly the calls an
  object store gets (put_file, get_file, cat_file, ls, rm) against real files, which
  another process can see too.
"""

from __future__ import annotations

import importlib.util
import logging
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fsspec
import pandas as pd
import pytest
from sqlalchemy.engine import URL

import modelport as mp
from modelport.datasets import LOAN_FEATURES
from modelport.errors import IntegrityError, RegistryError
from modelport.package.load import load_scorer
from modelport.package.manifest import MANIFEST_FILE
from modelport.package.reference import check_reference
from modelport.registry import Registry
from modelport.registry.remote_store import RemoteArtifactStore
from modelport.registry.store import ArtifactStore, open_store
from modelport.settings import Settings

MODEL_FILE = "model.onnx"


@dataclass(frozen=True)
class Remote:
    """A remote store location and the file system to inspect (and tamper with) it."""

    url: str
    fs: Any
    root: str

    def entry(self, digest: str) -> str:
        return f"{self.root}/sha256/{digest}"

    def store(self, cache_dir: Path) -> RemoteArtifactStore:
        return RemoteArtifactStore(self.url, cache_dir=cache_dir)

    def names(self, digest: str) -> list[str]:
        return sorted(p.rsplit("/", 1)[-1] for p in self.fs.ls(self.entry(digest), detail=False))


@pytest.fixture(params=["memory", "file"])
def remote(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Remote]:
    if request.param == "memory":
        root = f"/modelport-tests/{uuid.uuid4().hex}"  # the memory file system is global
        fs = fsspec.filesystem("memory")
        yield Remote(f"memory://{root}", fs, root)
        with suppress(FileNotFoundError):
            fs.rm(root, recursive=True)
    else:
        bucket = tmp_path / "bucket"
        bucket.mkdir()
        yield Remote(bucket.as_uri(), fsspec.filesystem("file"), bucket.as_posix())


def _database(tmp_path: Path) -> str:
    return URL.create("sqlite", database=str(tmp_path / "registry.db")).render_as_string()


@pytest.fixture
def open_registry(tmp_path: Path, remote: Remote) -> Callable[[str], Registry]:
    """``open_registry(cache)``: a registry on the shared database and remote store, with
    its own local cache, as another machine would have."""
    return lambda cache: Registry(_database(tmp_path), remote.store(tmp_path / cache))


def _cache_names(tmp_path: Path, cache: str) -> list[str]:
    """Entries and any leftovers (scratch directories) in a cache."""
    objects = tmp_path / cache / "sha256"
    return sorted(p.name for p in objects.iterdir()) if objects.is_dir() else []


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in directory.iterdir()}


def test_register_uploads_the_package_and_open_gives_a_verified_cache_copy(
    open_registry: Callable[[str], Registry],
    remote: Remote,
    tmp_path: Path,
    loan_package_path: Path,
) -> None:
    with open_registry("cache-a") as registry:
        version = registry.register(loan_package_path, alias="production")
        assert remote.names(version.digest) == sorted(p.name for p in loan_package_path.iterdir())
        for name in remote.names(version.digest):
            uploaded = remote.fs.cat_file(f"{remote.entry(version.digest)}/{name}")
            assert uploaded == (loan_package_path / name).read_bytes()
        assert version.path == tmp_path / "cache-a" / "sha256" / version.digest
        package = registry.open("loan-approval")
    assert (package.path, package.digest) == (version.path, version.digest)
    assert _files(package.path) == _files(loan_package_path)
    assert all(p.stat().st_mode & 0o222 == 0 for p in package.path.iterdir())
    assert _cache_names(tmp_path, "cache-a") == [version.digest]  # no scratch left behind


def test_a_registry_with_an_empty_cache_downloads_the_entry(
    open_registry: Callable[[str], Registry], tmp_path: Path, loan_package_path: Path
) -> None:
    with open_registry("cache-a") as first:
        version = first.register(loan_package_path)
    with open_registry("cache-b") as second:
        assert _cache_names(tmp_path, "cache-b") == []
        assert not second.resolve("loan-approval:1").path.exists()  # path_for: after open
        package = second.open("loan-approval:1")
    assert package.path == tmp_path / "cache-b" / "sha256" / version.digest
    assert _files(package.path) == _files(loan_package_path)
    assert all(p.stat().st_mode & 0o222 == 0 for p in package.path.iterdir())
    assert _cache_names(tmp_path, "cache-b") == [version.digest]


def test_another_process_downloads_from_the_store(tmp_path: Path, loan_package_path: Path) -> None:
    bucket = tmp_path / "bucket"
    with Registry(
        _database(tmp_path), RemoteArtifactStore(bucket.as_uri(), cache_dir=tmp_path / "a")
    ) as registry:
        digest = registry.register(loan_package_path).digest
    script = (
        "import sys; from pathlib import Path\n"
        "from modelport.registry import Registry\n"
        "from modelport.registry.remote_store import RemoteArtifactStore\n"
        "db, url, cache = sys.argv[1:]\n"
        "with Registry(db, RemoteArtifactStore(url, cache_dir=Path(cache))) as registry:\n"
        "    print(registry.open('loan-approval:1').path)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, _database(tmp_path), bucket.as_uri(), str(tmp_path / "b")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()) == tmp_path / "b" / "sha256" / digest
    assert _files(tmp_path / "b" / "sha256" / digest) == _files(loan_package_path)


def test_a_damaged_cached_copy_is_downloaded_again(
    open_registry: Callable[[str], Registry],
    loan_package_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with open_registry("cache-a") as registry:
        cached = registry.register(loan_package_path).path
        (cached / MODEL_FILE).chmod(0o644)
        (cached / MODEL_FILE).write_bytes(b"not the model")
        with caplog.at_level(logging.WARNING, logger="modelport.registry"):
            package = registry.open("loan-approval:1")
    assert "damaged" in caplog.text
    assert package.path == cached
    assert _files(cached) == _files(loan_package_path)


def _append(fs: Any, path: str) -> None:
    fs.pipe_file(path, fs.cat_file(path) + b"\x00")


def _edit_manifest(fs: Any, entry: str) -> None:
    path = f"{entry}/{MANIFEST_FILE}"
    fs.pipe_file(path, fs.cat_file(path).replace(b"description: ''", b"description: x"))


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda fs, entry: _append(fs, f"{entry}/{MODEL_FILE}"), id="model-bytes"),
        pytest.param(
            lambda fs, entry: _append(fs, f"{entry}/reference.parquet"), id="reference-bytes"
        ),
        pytest.param(lambda fs, entry: fs.rm_file(f"{entry}/{MODEL_FILE}"), id="missing-file"),
        pytest.param(_edit_manifest, id="manifest-edited"),
        pytest.param(
            lambda fs, entry: fs.pipe_file(f"{entry}/{MANIFEST_FILE}", b"{{{"), id="manifest-junk"
        ),
    ],
)
def test_a_tampered_remote_entry_is_refused_and_nothing_is_cached(
    open_registry: Callable[[str], Registry],
    remote: Remote,
    tmp_path: Path,
    loan_package_path: Path,
    tamper: Callable[[Any, str], object],
) -> None:
    with open_registry("cache-a") as first:
        digest = first.register(loan_package_path).digest
        tamper(remote.fs, remote.entry(digest))
        # a verified cached copy is served without asking the remote store again
        assert first.open("loan-approval:1").digest == digest
    with open_registry("cache-b") as second, pytest.raises(IntegrityError) as caught:
        second.open("loan-approval:1")
    assert digest in str(caught.value)
    assert ".incoming" not in str(caught.value)
    assert _cache_names(tmp_path, "cache-b") == []  # no entry, no scratch directory


def test_a_remote_entry_swapped_for_another_package_is_refused(
    open_registry: Callable[[str], Registry],
    remote: Remote,
    tmp_path: Path,
    loan_package_path: Path,
    reseal: Callable[..., Path],
) -> None:
    with open_registry("cache-a") as first:
        digest = first.register(loan_package_path).digest
    impostor = reseal(description="not the registered one")
    for path in impostor.iterdir():
        remote.fs.put_file(str(path), f"{remote.entry(digest)}/{path.name}")
    with open_registry("cache-b") as second, pytest.raises(IntegrityError, match="replaced"):
        second.open("loan-approval:1")
    assert _cache_names(tmp_path, "cache-b") == []


def test_an_interrupted_upload_is_absent_and_the_next_add_uploads_it_again(
    open_registry: Callable[[str], Registry],
    remote: Remote,
    tmp_path: Path,
    loan_package_path: Path,
) -> None:
    with open_registry("cache-a") as first:
        digest = first.register(loan_package_path).digest
        entry = remote.entry(digest)
        # What an upload cut short leaves behind: a file only partly written and no
        # manifest, since the manifest (the commit) is always uploaded last.
        remote.fs.rm_file(f"{entry}/{MANIFEST_FILE}")
        remote.fs.pipe_file(
            f"{entry}/{MODEL_FILE}", remote.fs.cat_file(f"{entry}/{MODEL_FILE}")[:99]
        )
        with (
            open_registry("cache-b") as second,
            pytest.raises(IntegrityError, match="did not finish"),
        ):
            second.open("loan-approval:1")
        assert _cache_names(tmp_path, "cache-b") == []
        assert first.register(loan_package_path).version == 1
    assert remote.names(digest) == sorted(p.name for p in loan_package_path.iterdir())
    with open_registry("cache-c") as third:
        assert _files(third.open("loan-approval:1").path) == _files(loan_package_path)


def test_the_next_add_repairs_a_damaged_committed_entry(
    open_registry: Callable[[str], Registry], remote: Remote, loan_package_path: Path
) -> None:
    with open_registry("cache-a") as first:
        digest = first.register(loan_package_path).digest
        remote.fs.rm_file(f"{remote.entry(digest)}/reference.parquet")
        assert first.register(loan_package_path).version == 1
    with open_registry("cache-b") as second:
        assert _files(second.open("loan-approval:1").path) == _files(loan_package_path)


def test_a_tampered_package_is_refused_before_anything_is_uploaded(
    open_registry: Callable[[str], Registry], remote: Remote, loan_copy: Path
) -> None:
    _append(fsspec.filesystem("file"), str(loan_copy / MODEL_FILE))
    with open_registry("cache-a") as registry, pytest.raises(IntegrityError) as caught:
        registry.register(loan_copy)
    assert str(loan_copy) in str(caught.value)
    assert not remote.fs.exists(f"{remote.root}/sha256")


def test_remove_deletes_the_remote_entry_and_its_cached_copy(
    remote: Remote, tmp_path: Path, loan_package_path: Path
) -> None:
    store = remote.store(tmp_path / "cache-a")
    digest = store.add(loan_package_path).digest
    cached = store.open(digest).path
    store.remove(digest)
    assert not remote.fs.exists(f"{remote.entry(digest)}/{MANIFEST_FILE}")
    assert not remote.fs.exists(remote.entry(digest))
    assert not cached.exists()
    assert _cache_names(tmp_path, "cache-a") == []
    with pytest.raises(IntegrityError, match="missing"):
        store.open(digest)
    store.remove(digest)  # removing again is fine
    assert store.add(loan_package_path).digest == digest  # and the package can come back
    assert remote.store(tmp_path / "cache-b").open(digest).digest == digest


def test_remove_deletes_a_read_only_local_entry(tmp_path: Path, loan_package_path: Path) -> None:
    store = open_store(tmp_path / "artifacts")
    digest = store.add(loan_package_path).digest
    entry = store.path_for(digest)
    entry.chmod(0o555)  # sealed files are 0o444; even the directory may be read-only
    store.remove(digest)
    assert not entry.exists()
    assert list((tmp_path / "artifacts" / "sha256").iterdir()) == []
    store.remove(digest)
    with pytest.raises(IntegrityError, match="missing"):
        store.open(digest)
    with pytest.raises(IntegrityError, match="not a SHA-256"):
        store.remove("../../etc")


def test_a_server_or_batch_load_scores_from_a_remote_store(
    open_registry: Callable[[str], Registry],
    loan_package_path: Path,
    loan_frame: pd.DataFrame,
) -> None:
    with open_registry("cache-a") as first:
        first.register(loan_package_path, alias="production")
    rows = loan_frame[LOAN_FEATURES].head(50)
    expected = mp.load(loan_package_path).predict(rows)
    with open_registry("cache-b") as second:
        package = second.open("loan-approval")  # what the serving pool and batch CLI do
        scorer = load_scorer(package)
        pd.testing.assert_frame_equal(scorer.predict(rows), expected)
        assert check_reference(package, scorer) <= package.manifest.parity.tolerance
        pd.testing.assert_frame_equal(
            mp.load("loan-approval", registry=second).predict(rows), expected
        )


def test_settings_choose_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loan_package_path: Path
) -> None:
    home = tmp_path / "home"
    url = f"memory:///modelport-tests/{uuid.uuid4().hex}"
    monkeypatch.setenv("MODELPORT_ARTIFACTS_URL", url)
    settings = Settings(home=home)
    assert settings.resolved_artifacts_url == url
    try:
        with Registry.from_settings(settings) as registry:
            version = registry.register(loan_package_path)
            assert version.path == settings.artifacts_cache_dir / "sha256" / version.digest
            assert url in repr(registry)
        assert not settings.artifacts_dir.exists()  # nothing went to the local default
    finally:
        fsspec.filesystem("memory").rm(url.removeprefix("memory://"), recursive=True)


def test_paths_and_file_urls_are_local_stores(tmp_path: Path) -> None:
    odd = tmp_path / "a b%20#c?"
    for location in [odd, str(odd), odd.as_uri(), "file://localhost" + odd.as_uri()[7:]]:
        store = open_store(location)
        assert isinstance(store, ArtifactStore) and store.root == odd
    default = Settings(home=odd)
    assert default.resolved_artifacts_url.startswith("file:///")
    assert open_store(default.resolved_artifacts_url).root == default.artifacts_dir
    with pytest.raises(RegistryError, match="names the host"):
        open_store("file://fileserver/share/artifacts")
    with pytest.raises(RegistryError, match="cache"):
        open_store("memory:///x")  # a remote store needs somewhere to cache


@pytest.mark.parametrize(
    ("url", "backend"),
    [("s3://modelport-bucket/models", "s3fs"), ("oci://bucket@namespace/models", "ocifs")],
)
def test_a_missing_backend_says_what_to_install_in_one_line(
    tmp_path: Path, url: str, backend: str
) -> None:
    if importlib.util.find_spec(backend) is not None:
        pytest.skip(f"{backend} is installed here")
    settings = Settings(home=tmp_path / "home", artifacts_url=url)
    with pytest.raises(RegistryError) as caught:
        Registry.from_settings(settings)
    message = caught.value.message
    assert "\n" not in message
    assert url in message and backend in message and "not installed" in message


def test_an_unknown_protocol_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="Protocol not known: nosuchfs"):
        open_store("nosuchfs://bucket/models", cache_dir=tmp_path / "cache")
