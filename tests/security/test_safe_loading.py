"""Safe loading, proven at run time (MLflow CVE-2024-37052..37060, BentoML CVE-2025-27520
and CVE-2025-32375: models and requests deserialised with pickle).

A child process installs an audit hook (PEP 578) recording every ``pickle.find_class``,
``marshal.loads`` outside the import system, ``os.system``, ``os.exec*``, ``os.posix_spawn``
and ``subprocess.Popen``; it then opens and scores an ONNX and a native (skops) package
through every load path (a directory, an ``.mpk``, a registry reference, the serving
service the HTTP server uses) and reports what was recorded: nothing. A control at the
end proves the hook sees a real ``pickle.loads``.

Native packages are checked against the code's own allowlist: a skops file holding a
function (``os.system``, ``eval``) or a class with side effects is refused even when the
(resealed) manifest lists it in ``trusted_types``.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import skops.io as sio
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

import modelport as mp
from modelport.errors import PackageError
from modelport.files import sha256_file
from modelport.package import Manifest
from modelport.runtime.native import is_safe_native_type

SRC = Path(mp.__file__).resolve().parents[1]

CHILD = textwrap.dedent(
    """
    import json, sys

    WATCHED = {"pickle.find_class", "marshal.loads", "marshal.load", "os.system",
               "os.exec", "os.posix_spawn", "os.spawn", "subprocess.Popen"}
    events = []

    def in_import():
        frame = sys._getframe(2)
        while frame is not None:
            if frame.f_code.co_filename.startswith("<frozen importlib"):
                return True
            frame = frame.f_back
        return False

    def hook(event, args):
        if event not in WATCHED:
            return
        if event.startswith("marshal.") and in_import():
            return  # the import system reading .pyc files
        where = ""
        if len(events) < 3 or event != "pickle.find_class":  # where it came from
            import traceback
            where = "".join(traceback.format_stack(sys._getframe(1), limit=40))
        events.append([event, repr(args)[:200], where])

    # Libraries imported before the hook: ``import skops.io`` imports dask, whose module
    # code round-trips its own operator functions through pickle to tokenize them (bytes
    # it made itself a moment before, no package data). Everything after this line is
    # watched, including the modules the load paths import lazily.
    import dask.delayed, onnxruntime, skops.io  # noqa: E401

    sys.addaudithook(hook)

    onnx_dir, native_dir, mpk, home = sys.argv[1:5]
    import pandas as pd
    import modelport as mp
    from modelport.package import open_package
    from modelport.registry import Registry
    from modelport.serving.service import ServingService
    from modelport.settings import Settings

    def rows(path):
        package = open_package(path)
        return package.reference()[package.manifest.contract.names].head(5)

    scored = {}
    frames = {"onnx": rows(onnx_dir), "native": rows(native_dir)}
    for kind, source in (("onnx", onnx_dir), ("native", native_dir), ("onnx", mpk)):
        scored[f"path:{source}"] = len(mp.load(source).predict(frames[kind]))

    with Registry.from_settings(Settings(home=home, database_url=None)) as registry:
        registry.register(onnx_dir, alias="production")
        registry.register(native_dir, alias="production")
        for kind, ref in (("onnx", "loan-approval"), ("native", "knn@production")):
            scored[f"registry:{ref}"] = len(mp.load(ref, registry=registry).predict(frames[kind]))
        service = ServingService(registry, poll_seconds=60)
        for kind, name in (("onnx", "loan-approval"), ("native", "knn")):
            loaded = service.find(name, None, None)
            records = frames[kind].astype(object).where(frames[kind].notna(), None)
            validated = loaded.scorer.validate(records.to_dict("records"))
            scored[f"service:{name}"] = len(loaded.scorer.score(validated).answers())

    seen = list(events)
    import collections, pickle
    pickle.loads(pickle.dumps(collections.OrderedDict(a=1)))  # the control
    control = [e for e in events[len(seen):] if e[0] == "pickle.find_class"]
    print(json.dumps({"events": seen, "scored": scored, "control": control}))
    """
)


def test_no_pickle_or_shell_on_any_load_path(
    tmp_path: Path, loan_package_path: Path, native_package_path: Path, loan_mpk: Path
) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    env.pop("MODELPORT_DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, str(script), str(loan_package_path), str(native_package_path),
         str(loan_mpk), str(tmp_path / "home")],
        capture_output=True, text=True, env=env, timeout=180, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["control"], "the audit hook did not see the control pickle.loads"
    assert len(report["scored"]) == 7 and set(report["scored"].values()) == {5}, report
    events = [e for e in report["events"] if not _known(e)]
    assert events == [], "\n".join(
        [f"{len(events)} events", *(f"{e} {a}\n{w}" for e, a, w in events[:3])]
    )


def _known(event: list[str]) -> bool:
    """The one process started on a load path, with a fixed command line: joblib's loky
    counting physical cores (``lscpu --parse=core``) the first time scikit-learn's
    neighbours search asks how many threads to use. No package or request data in it."""
    name, args, where = event
    return (
        name == "subprocess.Popen"
        and args.startswith("('lscpu', ['lscpu', '--parse=core'],")
        and "joblib/externals/loky/backend/context.py" in where
    )


# -- the native allowlist -------------------------------------------------------------


def _forge(package: Path, payload: object, *, trust: bool) -> list[str]:
    """Replace the package's model with ``payload`` and reseal the manifest (a forger can
    recompute every digest), listing the payload's types as trusted if ``trust``."""
    manifest = Manifest.read(package)
    model = package / manifest.model_file
    model.unlink()
    sio.dump(payload, model)
    types = sorted(sio.get_untrusted_types(file=model))
    trusted = sorted({*manifest.trusted_types, *types}) if trust else manifest.trusted_types
    files = {**manifest.files, manifest.model_file: sha256_file(model)}
    resealed = manifest.model_copy(update={"files": files, "trusted_types": trusted}).sealed()
    (package / "modelport.yaml").write_text(resealed.to_yaml())
    return types


@pytest.mark.parametrize("trust", [True, False], ids=["listed-in-manifest", "not-listed"])
@pytest.mark.parametrize(
    ("make", "type_name"),
    [
        (lambda: Pipeline([("x", FunctionTransformer(func=os.system))]), "posix.system"),
        (lambda: FunctionTransformer(func=eval), "builtins.eval"),
        (lambda: FunctionTransformer(func=exec, kw_args={"x": 1}), "builtins.exec"),
        (lambda: FunctionTransformer(func=subprocess.check_output), "subprocess.check_output"),
        (lambda: {"run": os.popen}, "os.popen"),
    ],
)
def test_a_function_in_a_native_model_is_refused(
    make: object, type_name: str, trust: bool, native_copy: Path
) -> None:
    types = _forge(native_copy, make(), trust=trust)  # type: ignore[operator]
    assert type_name in types
    with pytest.raises(PackageError, match=type_name.replace(".", r"\.")):
        mp.load(native_copy)


def test_a_class_with_a_finalizer_is_refused(native_copy: Path, tmp_path: Path) -> None:
    """``numpy.lib.npyio.DataSource.__del__`` deletes ``_destpath`` when ``_istmpdest``:
    a skops file restoring that state deletes any directory once the object is collected.
    A prefix rule ("anything under numpy.") admitted it."""
    from numpy.lib import npyio

    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("precious")
    gadget = npyio.DataSource.__new__(npyio.DataSource)
    gadget.__dict__.update({"_istmpdest": True, "_destpath": str(victim)})
    try:
        types = _forge(native_copy, {"model": gadget}, trust=True)
    finally:
        gadget._istmpdest = False  # type: ignore[attr-defined]
        del gadget
    assert any(t.endswith("DataSource") for t in types)
    with pytest.raises(PackageError, match="DataSource"):
        mp.load(native_copy)
    gc.collect()
    assert (victim / "keep.txt").read_text() == "precious"


@pytest.mark.parametrize(
    "name",
    [
        "posix.system",
        "os.system",
        "builtins.eval",
        "builtins.exec",
        "builtins.getattr",
        "builtins.__import__",
        "builtins.object",
        "builtins.type",
        "subprocess.Popen",
        "pickle.loads",
        "numpy.load",
        "numpy.fromfile",
        "numpy.memmap",
        "numpy.lib.npyio.DataSource",
        "numpy.lib._datasource.DataSource",
        "numpy.ctypeslib.load_library",
        "numpy.testing.Tester",
        "numpy._pyinstaller.hook-numpy",
        "scipy.sparse.load_npz",
        "scipy.io.loadmat",
        "sklearn.utils._testing.TempMemmap",
        "sklearn.datasets.fetch_openml",
        "sklearn.utils.fixes.os",
        "sklearn.base.clone",
        "sklearn.",
        "sklearn",
        "numpy..dtype",
        "sklearn.neighbors._classification.KNeighborsClassifier.__init__",
        "sklearnx.Evil",
        "",
    ],
)
def test_the_allowlist_refuses(name: str) -> None:
    assert not is_safe_native_type(name)


@pytest.mark.parametrize(
    "name",
    [
        "builtins.dict",
        "numpy.dtype",
        "numpy.float64",
        "numpy.ndarray",
        "numpy.random.RandomState",
        "numpy.random.mtrand.RandomState",
        "scipy.sparse._csr.csr_matrix",
        "sklearn.tree._tree.Tree",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.neighbors._classification.KNeighborsClassifier",
        "sklearn.pipeline.Pipeline",
    ],
)
def test_the_allowlist_admits_what_estimators_are_made_of(name: str) -> None:
    assert is_safe_native_type(name)


def test_the_built_native_package_lists_only_allowed_types(native_package_path: Path) -> None:
    manifest = Manifest.read(native_package_path)
    assert manifest.runtime == "native"
    assert all(is_safe_native_type(t) for t in manifest.trusted_types)
