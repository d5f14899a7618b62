"""The one scoring path: what a caller sends in, validated, scored, answered.

Every door (HTTP predict and score-by-entity, batch files, promotion metrics, the parity
proof, reference re-checks and warm-up, the Python API) goes through a :class:`Scorer`
and only through its two doors:

* :meth:`Scorer.validate` takes records (a list of JSON-like objects) or columns (a
  mapping of name to values, or a DataFrame), runs the package's pre-steps (e.g. ``age``
  from ``date_of_birth``), checks the contract, and restates refusals of derived fields
  on the field the caller sent;
* :meth:`Scorer.score` runs the model on what passed and returns a :class:`Scored`, from
  which each door takes its shape: JSON answers with the package's decision fields and
  the contract's warnings, decision columns for files, the bare :class:`Prediction`.

A scorer is built complete by :func:`modelport.package.load_scorer` (or by the build,
for the parity proof) and never changes afterwards, so every door sees the same chain.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from modelport.contract import Contract, Validated, Validator
from modelport.errors import FieldError, InvalidInput
from modelport.runtime.prediction import Prediction, Task

__all__ = [
    "CONTRACT_MESSAGE",
    "Decisions",
    "InputSteps",
    "ModelRuntime",
    "Scored",
    "Scorer",
    "WARNINGS_ATTR",
]

CONTRACT_MESSAGE = "input does not match the model's contract"
WARNINGS_ATTR = "modelport_warnings"
"""``DataFrame.attrs`` key of :meth:`Scorer.predict`'s answer: the contract's warnings."""


class ModelRuntime(Protocol):
    """What runs the model: validated columns in, predictions out (ONNX or native)."""

    def run(self, columns: Mapping[str, np.ndarray], n_rows: int) -> Prediction: ...


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


class Decisions(Protocol):
    """The decision and confidence fields a package adds to every answer."""

    def answers(self, prediction: Prediction) -> list[dict[str, Any]]:
        """One dict of extra fields per row (``decision``, ``rule``, ``confidence``...)."""
        ...

    def columns(self, prediction: Prediction) -> Mapping[str, Any]:
        """The same fields as columns, for files (``decision``, ``rule_index``, ...)."""
        ...


class Scorer:
    """A package's whole scoring chain: pre-steps, contract, runtime, decisions.

    Built once, complete, and never modified; only :meth:`validate` and :meth:`score`
    (and :meth:`predict`, the two together for DataFrames) are for callers.
    """

    __slots__ = (
        "_classes",
        "_contract",
        "_decision_fields",
        "_decisions",
        "_derived",
        "_inputs",
        "_runtime",
        "_step_inputs",
        "_steps",
        "_task",
        "_validator",
    )
    _runtime: ModelRuntime
    _contract: Contract
    _task: Task
    _classes: list[Any] | None
    _validator: Validator
    _steps: InputSteps | None
    _decisions: Decisions | None
    _derived: tuple[str, ...]
    _step_inputs: tuple[str, ...]
    _inputs: tuple[str, ...]
    _decision_fields: tuple[str, ...]

    def __init__(
        self,
        runtime: ModelRuntime,
        contract: Contract,
        task: Task,
        classes: list[Any] | None,
        *,
        pre_steps: InputSteps | None = None,
        decisions: Decisions | None = None,
    ) -> None:
        derived = tuple(pre_steps.outputs) if pre_steps is not None else ()
        step_inputs = tuple(pre_steps.inputs) if pre_steps is not None else ()
        sent = [name for name in contract.names if name not in derived]
        # which decision fields there are depends on the declaration and the task, never
        # on the rows: those of no rows at all are those of every answer
        decision_fields = (
            tuple(decisions.columns(Prediction.empty(task, classes)))
            if decisions is not None
            else ()
        )
        built = {
            "_runtime": runtime,
            "_contract": contract,
            "_task": task,
            "_classes": classes,
            "_validator": Validator(contract),
            "_steps": pre_steps,
            "_decisions": decisions,
            "_derived": derived,
            "_step_inputs": step_inputs,
            "_inputs": tuple(dict.fromkeys([*sent, *step_inputs])),
            "_decision_fields": decision_fields,
        }
        for name, value in built.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(
            f"a Scorer is built complete and never changes (cannot set {name!r}): build "
            "another with modelport.package.load_scorer"
        )

    # -- what the model is ------------------------------------------------------------

    @property
    def contract(self) -> Contract:
        """The contract of the model's inputs (after the pre-steps)."""
        return self._contract

    @property
    def task(self) -> Task:
        return self._task

    @property
    def classes(self) -> list[Any] | None:
        return self._classes

    @property
    def inputs(self) -> tuple[str, ...]:
        """The columns callers send: contract fields, less those the pre-steps derive, plus
        the columns the pre-steps read (``date_of_birth`` instead of ``age``)."""
        return self._inputs

    @property
    def derived(self) -> tuple[str, ...]:
        """Contract fields the pre-steps make: callers do not send them."""
        return self._derived

    @property
    def decision_fields(self) -> tuple[str, ...]:
        """The columns :meth:`Scored.decision_columns` holds (none without decisions)."""
        return self._decision_fields

    # -- door one: validate -----------------------------------------------------------

    def validate(
        self,
        rows: Sequence[Any] | Mapping[str, Any] | pd.DataFrame,
        *,
        n_rows: int | None = None,
        lenient: bool = False,
        extra_names: Sequence[str] | None = None,
        steps: bool = True,
        check_domain: bool = True,
    ) -> Validated:
        """Check what a caller sent against the contract, after the package's pre-steps.

        ``rows`` is a list of records (JSON-like objects, strictly typed: ``"5"`` is not a
        number) or columns: a mapping of name to values (``n_rows`` long) or a DataFrame.
        For columns, ``lenient`` reads numbers and booleans written as text (CSV), and
        ``extra_names`` are the source's other columns, refused when the contract refuses
        extra fields (a DataFrame's own columns by default). ``steps=False`` takes rows
        that already hold what the pre-steps make (a package's reference rows);
        ``check_domain=False`` skips bounds and categories (rows recorded under an older
        contract). Refusals name the record (its position in ``rows``) and the field.
        """
        if isinstance(rows, pd.DataFrame):
            columns: Mapping[str, Any] = {str(c): rows[c] for c in rows.columns}
            extra = list(columns) if extra_names is None else extra_names
            return self._validate_columns(columns, len(rows), lenient, extra, steps, check_domain)
        if isinstance(rows, Mapping):
            n = _length(rows) if n_rows is None else n_rows
            return self._validate_columns(rows, n, lenient, extra_names or (), steps, check_domain)
        return self._validate_records(rows, steps, check_domain)

    def _validate_records(
        self, records: Sequence[Any], steps: bool, check_domain: bool
    ) -> Validated:
        if self._steps is None or not steps:
            return self._validator.validate_records(records, enforce_domain=check_domain)
        validated = self._validator.validate_records(
            self._steps.records(records), enforce_domain=check_domain
        )
        if validated.errors:  # "age is required" means "date_of_birth is not a date"
            validated.errors = self._steps.explain(validated.errors, records)
        return validated

    def _validate_columns(
        self,
        columns: Mapping[str, Any],
        n_rows: int,
        lenient: bool,
        extra_names: Sequence[str],
        steps: bool,
        check_domain: bool,
    ) -> Validated:
        run_steps = self._steps is not None and steps
        prepared = self._steps.columns(columns) if run_steps else columns  # type: ignore[union-attr]
        read = frozenset(self._step_inputs) if run_steps else frozenset()
        validated = self._validator.validate_columns(
            prepared,
            n_rows,
            lenient=lenient,
            enforce_domain=check_domain,
            extra_names=[name for name in extra_names if name not in read],
        )
        if run_steps and validated.errors:
            sent = {name: columns[name] for name in self._step_inputs if name in columns}
            validated.errors = self._steps.explain(validated.errors, _Rows(sent))  # type: ignore[union-attr]
        return validated

    # -- door two: score --------------------------------------------------------------

    def score(self, validated: Validated) -> Scored:
        """Run the model on the rows ``validated`` accepted (refused rows are not scored)."""
        prediction = self._runtime.run(validated.columns, validated.n_accepted)
        return Scored(prediction, validated, self._decisions)

    # -- the two together, for the Python API -------------------------------------------

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Score a DataFrame: ``label`` + ``proba_<class>`` columns, or ``value``, then the
        package's decision fields. Any refused row refuses the call (:class:`InvalidInput`
        names each); values outside the contract's expected ranges are scored and listed
        in the answer's ``attrs["modelport_warnings"]``."""
        validated = self.validate(frame)
        if validated.errors:
            raise InvalidInput(CONTRACT_MESSAGE, validated.errors)
        return self.score(validated).frame(index=frame.index)

    def __repr__(self) -> str:
        return f"Scorer({self._task.value}, {len(self._contract.fields)} fields)"


@dataclass(frozen=True, slots=True)
class Scored:
    """What :meth:`Scorer.score` made of the accepted rows, in each door's shape."""

    prediction: Prediction
    validated: Validated
    decisions: Decisions | None = None

    def __len__(self) -> int:
        return len(self.prediction)

    def answers(self) -> list[dict[str, Any]]:
        """JSON-ready answers, one per accepted row: the prediction, the package's decision
        fields, and ``warnings`` (field and reason) for rows outside the expected ranges."""
        records = self.prediction.to_records()
        if self.decisions is not None:
            for record, extra in zip(records, self.decisions.answers(self.prediction), strict=True):
                record.update(extra)
        warnings = self.validated.warnings
        if warnings:
            positions = np.searchsorted(self.validated.accepted, [w.record for w in warnings])
            for warning, position in zip(warnings, positions.tolist(), strict=True):
                listed = records[position].setdefault("warnings", [])
                listed.append({"field": warning.field, "reason": warning.reason})
        return records

    def decision_columns(self) -> Mapping[str, Any]:
        """The decision fields as columns (empty without decisions)."""
        if self.decisions is None:
            return {}
        return self.decisions.columns(self.prediction)

    def frame(self, index: Any = None) -> pd.DataFrame:
        """The prediction's columns and the decision fields, as a DataFrame on ``index``."""
        frame = self.prediction.to_frame(index=index)
        for name, values in self.decision_columns().items():
            frame[name] = np.asarray(values)
        if self.validated.warnings:
            frame.attrs[WARNINGS_ATTR] = [
                {"record": w.record, "field": w.field, "reason": w.reason}
                for w in self.validated.warnings
            ]
        return frame


class _Rows(Sequence[dict[str, Any]]):
    """Columns seen as records, built only for the rows asked for (refused ones)."""

    def __init__(self, columns: Mapping[str, Any]) -> None:
        self._columns = {name: np.asarray(values, dtype=object) for name, values in columns.items()}

    def __len__(self) -> int:
        return _length(self._columns)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return {name: _plain(values[index]) for name, values in self._columns.items()}


def _plain(value: Any) -> Any:
    if value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return None
    return value


def _length(columns: Mapping[str, Any]) -> int:
    for values in columns.values():
        return len(values)
    return 0
