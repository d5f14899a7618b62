"""Scorers: validated columns in, a :class:`Prediction` out.

One scorer serves every entry point (HTTP, batch, Python). The runtime is either an
ONNX graph run by onnxruntime or, for models that cannot be converted with parity, the
native estimator loaded with skops from an explicit list of trusted types.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from modelport.contract import Contract, FieldType, Validated, Validator
from modelport.errors import FieldError, InvalidInput, PackageError
from modelport.runtime.prediction import Prediction, Task

__all__ = ["MISSING_STRING", "NativeScorer", "OnnxScorer", "Scorer", "is_safe_native_type"]

MISSING_STRING = ""  # how a missing string value is fed to an ONNX graph


# What a native (skops) package may ask to trust: the libraries the estimator is made of.
# The list comes from the package, so it is checked against this policy, not believed.
# A prefix alone is not a policy: ``numpy.lib.npyio.DataSource`` is a NumPy class whose
# finalizer deletes the directory its (loaded) state names. So, beyond the prefix:
#   - classes only, named where they are defined or re-exported by the library itself;
#   - no class with a finalizer (``__del__`` runs whatever state skops restored);
#   - nothing from test or testing modules;
#   - NumPy: dtypes, scalar types, plain arrays and the random generators only;
#   - SciPy: sparse matrices and arrays only (subclasses of ``scipy.sparse``'s base).
_SAFE_TYPE_PREFIXES = ("sklearn.", "numpy.", "scipy.sparse.")
_SAFE_BUILTINS = frozenset(
    f"builtins.{name}" for name in ("dict", "list", "tuple", "set", "frozenset", "slice", "str")
)
_TEST_SEGMENTS = frozenset({"tests", "test", "testing", "_testing", "conftest"})


def is_safe_native_type(name: str) -> bool:
    """Whether a type may be loaded from a native package (never functions or modules)."""
    if name in _SAFE_BUILTINS:
        return True
    if not isinstance(name, str) or not name.startswith(_SAFE_TYPE_PREFIXES):
        return False
    module_name, _, attribute = name.rpartition(".")
    segments = module_name.split(".")
    if any(s in _TEST_SEGMENTS or s.startswith("test_") for s in segments):
        return False
    if not all(s.isidentifier() for s in [*segments, attribute]):
        return False  # "hook-numpy" and the like: not modules an estimator is made of
    # Classes only: a function (a FunctionTransformer's ``func``, a numpy ufunc) is how
    # code would ride in. Importing these libraries' own modules to look is harmless.
    try:
        found = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError, ValueError):
        return False
    if not isinstance(found, type):
        return False
    if any("__del__" in vars(base) for base in found.__mro__ if base is not object):
        return False
    if name.startswith("numpy."):
        return _is_numpy_data_type(found)
    if name.startswith("scipy.sparse."):
        from scipy.sparse._base import _spbase

        return issubclass(found, _spbase)
    return True


def _is_numpy_data_type(found: type) -> bool:
    """Dtypes, scalars, ``ndarray`` itself and the random generators: data, not I/O."""
    if found is np.ndarray or issubclass(found, np.dtype | np.generic):
        return True
    random = np.random
    return found in (random.RandomState, random.Generator, random.SeedSequence) or issubclass(
        found, random.BitGenerator
    )


class InputSteps(Protocol):
    """Steps run on the raw inputs before validation (see ``modelport.features.presteps``)."""

    @property
    def inputs(self) -> list[str]:
        """Columns callers send for the steps (e.g. ``date_of_birth``)."""
        ...

    @property
    def outputs(self) -> list[str]:
        """Contract fields the steps make (e.g. ``age``): callers do not send them."""
        ...

    def records(self, records: Sequence[Any]) -> list[Any]: ...

    def columns(self, columns: Mapping[str, Any]) -> dict[str, Any]: ...

    def explain(self, errors: list[FieldError], records: Sequence[Any]) -> list[FieldError]:
        """``errors`` on the steps' outputs restated on the inputs callers sent."""
        ...


class Scorer(ABC):
    """Validate, then score. Subclasses implement :meth:`run` on validated columns."""

    def __init__(self, contract: Contract, task: Task, classes: list[Any] | None) -> None:
        self.contract = contract
        self.task = task
        self.classes = classes
        self.validator = Validator(contract)
        # fields the package adds to every answer (decision, rule, confidence); set by
        # modelport.package.load_scorer when the manifest declares them
        self.extras: Callable[[Prediction], list[dict[str, Any]]] | None = None
        # the same fields as columns (decision, rule, probability, margin, interval bounds)
        # for batch output; set together with ``extras``
        self.decision_columns: Callable[[Prediction], Mapping[str, Any]] | None = None
        # the package's declared pre-steps (e.g. age from a date of birth), run on what
        # callers send before validation; set by modelport.package.load_scorer
        self.pre_steps: InputSteps | None = None

    @abstractmethod
    def run(self, columns: Mapping[str, np.ndarray], n_rows: int) -> Prediction:
        """Score columns that have passed the validator (see :mod:`modelport.contract.validate`)."""

    def score_validated(self, validated: Validated) -> Prediction:
        return self.run(validated.columns, validated.n_accepted)

    def answers(self, prediction: Prediction) -> list[dict[str, Any]]:
        """JSON-ready answers: the prediction's records plus the package's extras."""
        records = prediction.to_records()
        if self.extras is not None:
            for record, extra in zip(records, self.extras(prediction), strict=True):
                record.update(extra)
        return records

    def validate_records(self, records: Sequence[Any]) -> Validated:
        """Validate what a caller sent (after the package's pre-steps, if any)."""
        if self.pre_steps is None:
            return self.validator.validate_records(records)
        validated = self.validator.validate_records(self.pre_steps.records(records))
        if validated.errors:  # "age is required" means "date_of_birth is not a date"
            validated.errors = self.pre_steps.explain(validated.errors, records)
        return validated

    def predict_records(self, records: Sequence[Any]) -> Prediction:
        """Score JSON-like records; any invalid record refuses the whole call."""
        validated = self.validate_records(records)
        if validated.errors:
            raise InvalidInput("input does not match the model's contract", validated.errors)
        return self.score_validated(validated)

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Score a DataFrame: ``label`` + ``proba_<class>`` columns, or ``value``."""
        columns: dict[str, Any] = {str(c): frame[c] for c in frame.columns}
        if self.pre_steps is not None:
            columns = self.pre_steps.columns(columns)
        validated = self.validator.validate_columns(columns, len(frame), extra_names=list(columns))
        if validated.errors:
            raise InvalidInput("input does not match the model's contract", validated.errors)
        return self.score_validated(validated).to_frame(index=frame.index)


class OnnxScorer(Scorer):
    """Runs the package's ONNX graph; preprocessing is inside the graph.

    ``lazy``: the onnxruntime session is created when first needed, not now (a batch job's
    main process, whose workers score, never needs one). ``arena``: onnxruntime's memory
    arena, which keeps the largest batch's buffers for the next; a batch worker scoring
    chunks of tens of thousands of rows is about 40 MB smaller without it, as fast.
    """

    def __init__(
        self,
        model: bytes | Path,
        contract: Contract,
        task: Task,
        classes: list[Any] | None,
        *,
        threads: int = 1,
        lazy: bool = False,
        arena: bool = True,
    ) -> None:
        super().__init__(contract, task, classes)
        self._source = model if isinstance(model, bytes) else str(model)
        self._threads = threads
        self._arena = arena
        self._session: Any = None
        self._outputs = ["label", "probabilities"] if task.is_classification else ["value"]
        self._feed_kinds: list[tuple[str, bool]] = []
        if not lazy:
            self._open()

    @property
    def session(self) -> Any:
        """The onnxruntime ``InferenceSession``."""
        return self._session if self._session is not None else self._open()

    def _open(self) -> Any:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = self._threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        options.enable_cpu_mem_arena = self._arena
        try:
            session = ort.InferenceSession(
                self._source, sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise PackageError(f"the ONNX graph cannot be loaded: {exc}") from None
        strings = {f.name for f in self.contract.fields if not f.type.is_numeric}
        outputs = [o.name for o in session.get_outputs()]
        missing = [name for name in self._outputs if name not in outputs]
        if missing:
            raise PackageError(f"the ONNX graph lacks the outputs {missing}")
        self._feed_kinds = [(i.name, i.name in strings) for i in session.get_inputs()]
        self._session = session
        return session

    def feeds(self, columns: Mapping[str, np.ndarray], n_rows: int) -> dict[str, np.ndarray]:
        """The graph's inputs: validated columns as ``(n, 1)`` tensors, text missing as ``""``."""
        if self._session is None:
            self._open()
        feeds: dict[str, np.ndarray] = {}
        for name, is_text in self._feed_kinds:
            column = columns[name]
            if is_text:
                text = np.array(column, dtype=object)  # a copy: the caller's column stays as is
                missing = pd.isna(text)
                if missing.any():
                    text[missing] = MISSING_STRING
                feeds[name] = text.reshape(n_rows, 1)
            else:
                feeds[name] = np.ascontiguousarray(column, dtype=np.float64).reshape(n_rows, 1)
        return feeds

    def run(self, columns: Mapping[str, np.ndarray], n_rows: int) -> Prediction:
        if n_rows == 0:
            return _empty(self.task, self.classes)
        outputs = self.session.run(self._outputs, self.feeds(columns, n_rows))
        if self.task is Task.REGRESSION:
            values = np.asarray(outputs[0], dtype=np.float64).reshape(n_rows)
            return Prediction(self.task, self.classes, values=values)
        labels = np.asarray(outputs[0]).reshape(n_rows)
        probabilities = np.asarray(outputs[1], dtype=np.float64).reshape(n_rows, -1)
        return Prediction(self.task, self.classes, labels=labels, probabilities=probabilities)


class NativeScorer(Scorer):
    """The original estimator, loaded with skops from an explicit list of trusted types."""

    def __init__(
        self,
        path: Path,
        contract: Contract,
        task: Task,
        classes: list[Any] | None,
        trusted_types: list[str],
    ) -> None:
        import skops.io as sio

        super().__init__(contract, task, classes)
        unsafe = sorted(t for t in trusted_types if not is_safe_native_type(t))
        if unsafe:
            raise PackageError(
                f"native model {path.name} asks to trust types modelport never loads: "
                f"{', '.join(unsafe)}"
            )
        untrusted = set(sio.get_untrusted_types(file=path)) - set(trusted_types)
        if untrusted:
            raise PackageError(
                f"native model {path.name} holds types outside its trusted list: "
                f"{', '.join(sorted(untrusted))}"
            )
        self.estimator = sio.load(path, trusted=trusted_types)

    def frame(self, columns: Mapping[str, np.ndarray]) -> pd.DataFrame:
        data: dict[str, Any] = {}
        for spec in self.contract.fields:
            column = columns[spec.name]
            if (
                spec.type is FieldType.INTEGER
                or spec.type is FieldType.NUMBER
                or spec.type is FieldType.BOOLEAN
            ):
                data[spec.name] = column
            else:
                data[spec.name] = np.where(pd.isna(column), np.nan, column).astype(object)
        return pd.DataFrame(data)

    def run(self, columns: Mapping[str, np.ndarray], n_rows: int) -> Prediction:
        if n_rows == 0:
            return _empty(self.task, self.classes)
        frame = self.frame(columns)
        if self.task is Task.REGRESSION:
            values = np.asarray(self.estimator.predict(frame), dtype=np.float64).reshape(n_rows)
            return Prediction(self.task, self.classes, values=values)
        probabilities = np.asarray(self.estimator.predict_proba(frame), dtype=np.float64)
        labels = np.asarray(self.estimator.predict(frame))
        return Prediction(self.task, self.classes, labels=labels, probabilities=probabilities)


def _empty(task: Task, classes: list[Any] | None) -> Prediction:
    if task is Task.REGRESSION:
        return Prediction(task, classes, values=np.empty(0))
    return Prediction(
        task,
        classes,
        labels=np.empty(0, dtype=object),
        probabilities=np.empty((0, len(classes or []))),
    )
