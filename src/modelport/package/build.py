"""Build a package: convert, prove parity, write the files, seal the manifest."""

from __future__ import annotations

import hashlib
import importlib.metadata
import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from modelport.contract import Contract, FieldSpec, infer_contract
from modelport.decisions import (
    Decisioning,
    ThresholdRules,
    TopK,
    calibrate_for_package,
    parse_rules,
)
from modelport.errors import ParityError, UnsupportedModel
from modelport.extras import require
from modelport.features.presteps import split_presteps
from modelport.files import atomic_directory, sha256_file
from modelport.orchestrate.spec import OrchestrationSpec
from modelport.package.category_use import model_categories
from modelport.package.load import REFERENCE_FILE, Package, open_package
from modelport.package.manifest import (
    MANIFEST_FILE,
    Manifest,
    OutputSpec,
    PackageMetadata,
    Runtime,
    check_name,
)
from modelport.package.parity import DEFAULT_TOLERANCE, ParityReport, measure_parity
from modelport.runtime import NativeRuntime, OnnxRuntime, Scorer, Task
from modelport.runtime.native import is_safe_native_type

__all__ = ["BuiltPackage", "package", "sample_fingerprint"]

ONNX_FILE = "model.onnx"
NATIVE_FILE = "model.skops"
REFERENCE_ROWS = 1_000


@dataclass(frozen=True, slots=True)
class BuiltPackage:
    """What :func:`package` made: the verified package and the full parity report."""

    package: Package
    parity: ParityReport

    @property
    def path(self) -> Path:
        return self.package.path

    @property
    def manifest(self) -> Manifest:
        return self.package.manifest

    @property
    def digest(self) -> str:
        return self.package.digest


def package(
    model: Any,
    sample: pd.DataFrame,
    *,
    name: str,
    path: str | Path,
    contract: Contract | None = None,
    overrides: Mapping[str, Mapping[str, Any] | FieldSpec] | None = None,
    description: str = "",
    tolerance: float = DEFAULT_TOLERANCE,
    allow_native: bool = False,
    reference_rows: int = REFERENCE_ROWS,
    replace: bool = False,
    owner: str | None = None,
    tags: Sequence[str] = (),
    lineage: Mapping[str, Any] | None = None,
    training_metrics: Mapping[str, float] | None = None,
    decisions: str | ThresholdRules | TopK | None = None,
    calibration: tuple[pd.DataFrame, str] | None = None,
    coverage: float = 0.9,
    orchestration: OrchestrationSpec | Mapping[str, Any] | None = None,
) -> BuiltPackage:
    """Package a fitted scikit-learn pipeline with a parity proof.

    ``sample`` holds training rows (target column may be present; only the model's input
    columns are used). The ONNX graph must match the original within ``tolerance`` on the
    sample and on generated edge rows, with identical labels; otherwise :class:`ParityError`
    names the worst rows, unless ``allow_native`` stores the estimator itself (with skops).

    ``owner``, ``tags``, ``lineage`` (e.g. code version, data source) and
    ``training_metrics`` are recorded in the manifest with a fingerprint of ``sample``;
    the registry shows them with the version.

    ``decisions`` declares the decision rules every answer carries (``"score>=0.7:decline,
    score>=0.4:refer, else:accept"``, see :mod:`modelport.decisions`); ``calibration``
    (rows and their target column) calibrates a regressor's split-conformal interval at
    ``coverage``. Both are checked here, before anything is converted.

    ``orchestration`` says which inputs come from which feature source when a caller
    names an entity (``POST /v1/score``); see :mod:`modelport.orchestrate.spec`.
    """
    require("build", "mp.package")
    check_name(name)
    if not isinstance(sample, pd.DataFrame) or sample.empty:
        raise ValueError("sample must be a non-empty pandas DataFrame of training rows")
    steps, graph_model = split_presteps(model)
    raw_inputs = list(getattr(model, "feature_names_in_", []))
    spec = _orchestration(orchestration, raw_inputs)
    if steps:
        # the date-based steps run before the graph (they need "today"); the graph, the
        # contract and the reference rows are all about what the steps produce
        sample = steps.apply(sample)
    columns = _input_columns(graph_model, sample)
    sample = sample[columns].reset_index(drop=True)
    metadata = PackageMetadata(
        owner=owner,
        tags=list(tags),
        lineage=dict(lineage or {}),
        training_metrics={k: float(v) for k, v in (training_metrics or {}).items()},
        sample_fingerprint=sample_fingerprint(sample),
        sample_rows=len(sample),
    )
    if contract is None:
        # categories are hard unless the model is seen to score unseen ones (category_use)
        known = model_categories(graph_model, columns)
        contract = infer_contract(sample, overrides=overrides, model_categories=known)
    task, classes = _task_of(model)
    decisioning = _decisioning(model, task, classes, decisions, calibration, coverage)

    report: ParityReport | None = None
    onnx_bytes: bytes | None = None
    estimator = type(getattr(model, "steps", [[None, model]])[-1][1]).__name__
    try:
        from modelport.package.converters import convert_sklearn

        converted = convert_sklearn(graph_model, contract)
        onnx_bytes = converted.onnx_model.SerializeToString()
        graph = OnnxRuntime(onnx_bytes, contract, task, classes)
        scorer = Scorer(graph, contract, task, classes)
        report = measure_parity(graph_model, scorer, sample, Runtime.ONNX, tolerance=tolerance)
    except UnsupportedModel:
        if not allow_native:
            raise
    if report is not None and not report.passed and not allow_native:
        raise ParityError(
            f"the converted graph of {name!r} does not match the original model; "
            "pass allow_native=True to store the estimator itself (skops)\n" + str(report)
        )
    target = Path(path)
    if replace and target.exists() and not (target / MANIFEST_FILE).is_file():
        # replace=True swaps one package for another, never someone's other directory.
        raise FileExistsError(f"{target} exists and is not a modelport package; not replacing it")
    with atomic_directory(target, replace=replace) as scratch:
        if report is not None and report.passed and onnx_bytes is not None:
            (scratch / ONNX_FILE).write_bytes(onnx_bytes)
            runtime, model_file, trusted = Runtime.ONNX, ONNX_FILE, []
        else:
            trusted = _dump_native(graph_model, scratch / NATIVE_FILE)
            native = NativeRuntime(scratch / NATIVE_FILE, contract, task, classes, trusted)
            scorer = Scorer(native, contract, task, classes)
            report = measure_parity(
                graph_model, scorer, sample, Runtime.NATIVE, tolerance=tolerance
            )
            if not report.passed:
                raise ParityError(f"even the native runtime does not reproduce {name!r}\n{report}")
            runtime, model_file = Runtime.NATIVE, NATIVE_FILE
        _write_reference(graph_model, sample.head(reference_rows), task, classes, scratch)
        files = {p.name: sha256_file(p) for p in sorted(scratch.iterdir()) if p.is_file()}
        manifest = Manifest(
            name=name,
            created=datetime.now(UTC).replace(microsecond=0),
            description=description,
            task=task,
            classes=classes,
            framework={"name": "scikit-learn", "estimator": estimator},
            libraries=_library_versions(),
            contract=contract,
            outputs=_outputs(task, classes),
            runtime=runtime,
            model_file=model_file,
            trusted_types=trusted,
            parity=report.summary(),
            files=files,
            metadata=metadata,
            decisioning=decisioning,
            presteps=steps.to_manifest() if steps else None,
            orchestration=spec,
        ).sealed()
        (scratch / MANIFEST_FILE).write_text(manifest.to_yaml(), encoding="utf-8")
    return BuiltPackage(package=open_package(path), parity=report)


def _orchestration(
    given: OrchestrationSpec | Mapping[str, Any] | None, raw_inputs: list[str]
) -> OrchestrationSpec | None:
    """The spec, with every sourced input one the model takes (before any pre-steps)."""
    if given is None:
        return None
    spec = given if isinstance(given, OrchestrationSpec) else OrchestrationSpec(**given)
    unknown = sorted(set(spec.inputs) - {str(c) for c in raw_inputs})
    if unknown:
        raise ValueError(
            f"orchestration sources inputs the model does not take: {', '.join(unknown)} "
            f"(its inputs: {', '.join(str(c) for c in raw_inputs)})"
        )
    return spec


def _decisioning(
    model: Any,
    task: Task,
    classes: list[Any] | None,
    decisions: str | ThresholdRules | TopK | None,
    calibration: tuple[pd.DataFrame, str] | None,
    coverage: float,
) -> Decisioning | None:
    """The declared rules and the conformal calibration, checked against the model."""
    if decisions is None and calibration is None:
        return None
    rules = parse_rules(decisions) if isinstance(decisions, str) else decisions
    conformal = None
    if calibration is not None:
        frame, target = calibration
        # the original model, not the scorer: the decisions are part of the scorer being
        # built, and parity keeps the two within the tolerance
        conformal = calibrate_for_package(model, frame, target, coverage)
    return Decisioning(rules=rules, conformal=conformal).check(task, classes)


def sample_fingerprint(sample: pd.DataFrame) -> str:
    """SHA-256 over column names, dtypes and every value (row order matters)."""
    digest = hashlib.sha256()
    for name, dtype in sample.dtypes.items():
        digest.update(f"{name}\x00{dtype}\x00".encode())
    hashed = pd.util.hash_pandas_object(sample, index=False).to_numpy()
    digest.update(hashed.tobytes())
    return digest.hexdigest()


def _input_columns(model: Any, sample: pd.DataFrame) -> list[str]:
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        raise UnsupportedModel(
            "the model was not fitted on a DataFrame (it has no feature_names_in_); "
            "fit it on a pandas DataFrame so its input columns have names"
        )
    columns = [str(n) for n in names]
    missing = [c for c in columns if c not in sample.columns]
    if missing:
        raise ValueError(f"sample lacks the model's input columns: {', '.join(missing)}")
    return columns


def _task_of(model: Any) -> tuple[Task, list[Any] | None]:
    classes = getattr(model, "classes_", None)
    if classes is None:
        return Task.REGRESSION, None
    if not hasattr(model, "predict_proba"):
        raise UnsupportedModel(
            "the classifier has no predict_proba (e.g. RidgeClassifier, LinearSVC); modelport "
            "answers with class probabilities: wrap it in CalibratedClassifierCV or use "
            "LogisticRegression"
        )
    plain = [c.item() if isinstance(c, np.generic) else c for c in classes]
    return (Task.BINARY if len(plain) == 2 else Task.MULTICLASS), plain


def _outputs(task: Task, classes: list[Any] | None) -> list[OutputSpec]:
    if task is Task.REGRESSION:
        return [OutputSpec(name="value", type="number", description="predicted value")]
    outputs = [
        OutputSpec(name="label", type="label", description="predicted class"),
        *(
            OutputSpec(name=f"proba_{c}", type="probability", description=f"probability of {c}")
            for c in classes or []
        ),
    ]
    if task is Task.BINARY:
        outputs.append(
            OutputSpec(name="score", type="probability", description="positive-class probability")
        )
    return outputs


def _write_reference(
    model: Any, rows: pd.DataFrame, task: Task, classes: list[Any] | None, directory: Path
) -> None:
    from modelport.package.parity import original_prediction

    expected = original_prediction(model, rows, task, classes).to_frame()
    expected.columns = [f"expected_{c}" for c in expected.columns]
    table = pd.concat([rows.reset_index(drop=True), expected], axis=1)
    pq.write_table(pa.Table.from_pandas(table, preserve_index=False), directory / REFERENCE_FILE)


def _dump_native(model: Any, path: Path) -> list[str]:
    """Store the estimator with skops; return the explicit list of types loading must trust."""
    import skops.io as sio

    sio.dump(model, path)
    types = sorted(sio.get_untrusted_types(file=path))
    foreign = [t for t in types if not is_safe_native_type(t)]
    if foreign:
        path.unlink()
        raise UnsupportedModel(
            "the native fallback only stores scikit-learn, NumPy and SciPy objects; "
            f"this model holds {', '.join(foreign)}"
        )
    return types


def _library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for dist in ("modelport", "scikit-learn", "onnx", "onnxruntime", "numpy", "pandas"):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions
