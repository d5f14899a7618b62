"""Declared, versioned pre-steps: derived features computed before the ONNX graph.

Some features cannot live in the graph: age needs the date the model scores at, and
both date features parse dates, which ONNX graphs do not. They run as *pre-steps*: the
package manifest lists them in order, each with a name, a version and its parameters::

    presteps:
      - {step: age_from_date, version: 1, column: date_of_birth, output: age,
         now: null, drop: true}
      - {step: date_parts, version: 1, column: applied_on, parts: [month, day_of_week],
         prefix: applied_on, drop: true}

and :class:`PreSteps` applies them to a DataFrame (or to columns) before validation and
scoring, in online, orchestrated and batch scoring alike. The training-side transformers
(:mod:`modelport.features.date_transformers`) call the very same :meth:`apply` code, so
what was trained on is what is served.

Versions: a step's behaviour never changes under the same version. A change adds a
version (the old one stays implemented), so an old package scores as it was proven; a
package naming a step or version this modelport does not know fails to load.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

from modelport.features._arrays import as_dates
from modelport.features.dates import DATE_PARTS, age_years, date_parts, today_utc

__all__ = [
    "AgeFromDateStep",
    "DatePartsStep",
    "PreStep",
    "PreSteps",
    "split_presteps",
]

Columns = dict[str, Any]


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    versions: ClassVar[tuple[int, ...]] = (1,)

    version: int = 1
    column: str = Field(min_length=1)
    drop: bool = True  # drop the source column once read: the graph never sees raw dates

    @field_validator("version")
    @classmethod
    def _known_version(cls, value: int) -> int:
        if value not in cls.versions:
            raise ValueError(
                f"version {value} of this pre-step is not known to this modelport (it runs "
                f"{', '.join(map(str, cls.versions))}); upgrade modelport"
            )
        return value

    @property
    def outputs(self) -> list[str]:
        raise NotImplementedError

    def compute(self, values: Any, today: dt.date) -> dict[str, np.ndarray]:
        """The output columns from the source column's values."""
        raise NotImplementedError


class AgeFromDateStep(_Step):
    """Whole years from ``column`` to ``now`` (``None``: the scoring date, today in UTC)."""

    step: Literal["age_from_date"] = "age_from_date"
    output: str = Field(min_length=1)
    now: dt.date | None = None

    @property
    def outputs(self) -> list[str]:
        return [self.output]

    def compute(self, values: Any, today: dt.date) -> dict[str, np.ndarray]:
        return {self.output: age_years(values, self.now or today)}


class DatePartsStep(_Step):
    """``<prefix>_<part>`` columns (:func:`~modelport.features.dates.date_parts`)."""

    step: Literal["date_parts"] = "date_parts"
    parts: list[str] = Field(default_factory=lambda: list(DATE_PARTS))
    prefix: str | None = None

    @model_validator(mode="after")
    def _known_parts(self) -> DatePartsStep:
        unknown = [p for p in self.parts if p not in DATE_PARTS]
        if unknown or not self.parts:
            raise ValueError(f"unknown date parts {unknown}; choose from {', '.join(DATE_PARTS)}")
        return self

    @property
    def outputs(self) -> list[str]:
        return [f"{self.prefix or self.column}_{part}" for part in self.parts]

    def compute(self, values: Any, today: dt.date) -> dict[str, np.ndarray]:
        frame = date_parts(values, self.parts)
        pairs = zip(self.outputs, self.parts, strict=True)
        return {name: frame[part].to_numpy() for name, part in pairs}


PreStep = Annotated[AgeFromDateStep | DatePartsStep, Field(discriminator="step")]
_STEPS: TypeAdapter[list[PreStep]] = TypeAdapter(list[PreStep])


class PreSteps:
    """An ordered list of pre-steps and the one code path that runs them."""

    def __init__(self, steps: Sequence[PreStep | Mapping[str, Any]] = ()) -> None:
        self.steps: list[PreStep] = _STEPS.validate_python(
            [s if isinstance(s, _Step) else dict(s) for s in steps]
        )

    @classmethod
    def from_manifest(cls, data: Sequence[Mapping[str, Any]] | None) -> PreSteps:
        """From the manifest's ``presteps`` list (``None`` or empty: no pre-steps)."""
        return cls(list(data or []))

    def to_manifest(self) -> list[dict[str, Any]]:
        """JSON-ready dicts, the form the manifest stores."""
        return [s.model_dump(mode="json") for s in self.steps]

    def __len__(self) -> int:
        return len(self.steps)

    def __bool__(self) -> bool:
        return bool(self.steps)

    def __repr__(self) -> str:
        return f"PreSteps({self.to_manifest()!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PreSteps) and self.steps == other.steps

    __hash__ = None  # type: ignore[assignment]

    @property
    def inputs(self) -> list[str]:
        """Columns the caller must send: those read and not made by an earlier step."""
        made: set[str] = set()
        needed: list[str] = []
        for step in self.steps:
            if step.column not in made and step.column not in needed:
                needed.append(step.column)
            made.update(step.outputs)
        return needed

    @property
    def outputs(self) -> list[str]:
        """Columns the pre-steps add, in order."""
        return [name for step in self.steps for name in step.outputs]

    @property
    def dropped(self) -> list[str]:
        """Columns removed after the pre-steps ran (sources with ``drop``)."""
        made = set(self.outputs)
        return [s.column for s in self.steps if s.drop and s.column not in made]

    def request_schema(self, contract_schema: Mapping[str, Any]) -> dict[str, Any]:
        """The JSON Schema of a record as callers send it: the contract's, with the columns
        the steps make replaced by the date columns they read (required if an output was)."""
        made = set(self.outputs)
        properties = {k: v for k, v in contract_schema["properties"].items() if k not in made}
        required = [name for name in contract_schema["required"] if name not in made]
        for step in self.steps:
            if step.column in properties:
                continue  # kept (drop: false), and already in the contract
            makes = ", ".join(step.outputs)
            properties[step.column] = {
                "type": "string",
                "format": "date",
                "description": f"Read by the pre-step {step.step} (makes {makes})",
            }
            if any(o in contract_schema["required"] for o in step.outputs):
                required.append(step.column)
        return {**contract_schema, "properties": properties, "required": required}

    def apply_columns(
        self, columns: Mapping[str, Any], *, now: dt.date | None = None
    ) -> dict[str, Any]:
        """Run the steps over named columns; returns a new dict (the input is untouched).

        ``now`` is the scoring date for steps declared with ``now: null`` (default:
        :func:`~modelport.features.dates.today_utc`); pin it once per batch job so a job
        running over midnight scores every row against the same date.
        """
        today = now or today_utc()
        out = dict(columns)
        for step in self.steps:
            if step.column not in out:
                raise KeyError(f"pre-step {step.step} reads the column {step.column!r}, absent")
            values = out[step.column]
            if step.drop:
                del out[step.column]
            out.update(step.compute(values, today))
        return out

    def apply(self, frame: pd.DataFrame, *, now: dt.date | None = None) -> pd.DataFrame:
        """Run the steps over a DataFrame: sources dropped, outputs appended (index kept)."""
        columns = self.apply_columns({str(c): frame[c] for c in frame.columns}, now=now)
        return pd.DataFrame(
            {n: v if isinstance(v, pd.Series) else np.asarray(v) for n, v in columns.items()},
            index=frame.index,
        )

    def unreadable(self, columns: Mapping[str, Any]) -> list[tuple[int, str]]:
        """``(row, column)`` where a source holds a value that is present but not a date.

        Pre-steps turn such values into ``NaN``; a server can refuse those records instead,
        naming the field the client actually sent.
        """
        found: list[tuple[int, str]] = []
        for name in self.inputs:
            if name not in columns:
                continue
            raw = pd.Series(np.asarray(columns[name], dtype=object).reshape(-1))
            bad = raw.notna().to_numpy() & np.isnat(as_dates(raw))
            found.extend((int(row), name) for row in np.flatnonzero(bad))
        return sorted(found)


def split_presteps(model: Any) -> tuple[PreSteps, Any]:
    """Peel the pre-step transformers off the head of a fitted ``Pipeline``.

    Returns the pre-steps and the rest of the pipeline (a new ``Pipeline`` sharing the
    fitted steps, or ``model`` itself when it starts with none), which is what the ONNX
    converter receives. Pre-step transformers anywhere else are left in place (the
    converter then refuses them, naming the fix).
    """
    from sklearn.pipeline import Pipeline

    if not isinstance(model, Pipeline):
        return PreSteps(), model
    specs: list[PreStep] = []
    for _, step in model.steps:
        to_prestep = getattr(step, "to_prestep", None)
        if to_prestep is None:
            break
        specs.append(to_prestep())
    if not specs:
        return PreSteps(), model
    rest = model.steps[len(specs) :]
    return PreSteps(specs), Pipeline(rest, memory=model.memory, verbose=model.verbose)
