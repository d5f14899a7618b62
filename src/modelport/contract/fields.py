"""The input contract: what a model accepts, field by field.

A contract is data (it lives in the package manifest); :mod:`modelport.contract.validate`
turns it into a validator. See ``docs/contract.md``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

__all__ = ["Contract", "ExtraFieldPolicy", "FieldSpec", "FieldType", "UnknownCategoryPolicy"]


class FieldType(StrEnum):
    NUMBER = "number"
    INTEGER = "integer"
    STRING = "string"
    BOOLEAN = "boolean"
    DATE = "date"

    @property
    def is_numeric(self) -> bool:
        """Fed to the model as a float64 column."""
        return self in (FieldType.NUMBER, FieldType.INTEGER, FieldType.BOOLEAN)


_RANGED = (FieldType.NUMBER, FieldType.INTEGER)
_EXPECTATIONS = ("expected_minimum", "expected_maximum", "expected_categories")


class UnknownCategoryPolicy(StrEnum):
    REJECT = "reject"  # refuse the record, naming the field and the allowed values
    ALLOW = "allow"  # pass it to the model (OneHotEncoder(handle_unknown="ignore") copes)


class ExtraFieldPolicy(StrEnum):
    REJECT = "reject"
    IGNORE = "ignore"


class FieldSpec(BaseModel):
    """One input field.

    ``minimum``, ``maximum`` and ``categories`` are hard: a value outside them is refused
    (categories under ``unknown_categories=reject``). The ``expected_*`` attributes are
    what the sample showed: a value outside them is scored, with a warning.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    type: FieldType
    required: bool = True
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    categories: list[str] | None = None
    expected_minimum: float | None = None
    expected_maximum: float | None = None
    expected_categories: list[str] | None = None
    description: str | None = None

    @model_validator(mode="after")
    def _check(self) -> FieldSpec:
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError(f"{self.name}: minimum {self.minimum} exceeds maximum {self.maximum}")
        low, high = self.expected_minimum, self.expected_maximum
        if low is not None and high is not None and low > high:
            raise ValueError(f"{self.name}: expected minimum {low} exceeds expected maximum {high}")
        if (low is not None or high is not None) and self.type not in _RANGED:
            raise ValueError(f"{self.name}: only number and integer fields take an expected range")
        if self.type is not FieldType.STRING and (
            self.categories is not None or self.expected_categories is not None
        ):
            raise ValueError(f"{self.name}: only string fields take categories")
        if self.default is not None and self.required:
            raise ValueError(f"{self.name}: a field with a default is optional (required=false)")
        return self

    @model_serializer(mode="wrap")
    def _without_unset_expectations(self, handler: SerializerFunctionWrapHandler) -> Any:
        """Expectations are written only when set: a manifest written before they existed
        reads back to the same bytes, so its digest still verifies."""
        data = handler(self)
        if isinstance(data, dict):
            for name in _EXPECTATIONS:
                if data.get(name, 0) is None:
                    del data[name]
        return data


class Contract(BaseModel):
    """The ordered fields a model accepts and the policies for what falls outside them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fields: list[FieldSpec]
    unknown_categories: UnknownCategoryPolicy = UnknownCategoryPolicy.REJECT
    extra_fields: ExtraFieldPolicy = ExtraFieldPolicy.REJECT

    @model_validator(mode="after")
    def _unique_names(self) -> Contract:
        names = [f.name for f in self.fields]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate field names: {', '.join(duplicates)}")
        if not names:
            raise ValueError("a contract needs at least one field")
        return self

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    def field(self, name: str) -> FieldSpec:
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def json_schema(self) -> dict[str, Any]:
        """JSON Schema of one record, for OpenAPI documentation."""
        properties: dict[str, Any] = {}
        for spec in self.fields:
            properties[spec.name] = _field_schema(spec)
        schema: dict[str, Any] = {
            "type": "object",
            "properties": properties,
            "required": [f.name for f in self.fields if f.required],
            "additionalProperties": self.extra_fields is ExtraFieldPolicy.IGNORE,
        }
        return schema


_SCHEMA_KEYS = (
    ("minimum", "minimum"),
    ("maximum", "maximum"),
    ("categories", "enum"),
    ("expected_minimum", "x-expected-minimum"),
    ("expected_maximum", "x-expected-maximum"),
    ("expected_categories", "x-expected-categories"),
)


def _field_schema(spec: FieldSpec) -> dict[str, Any]:
    kinds = {
        FieldType.NUMBER: {"type": "number"},
        FieldType.INTEGER: {"type": "integer"},
        FieldType.STRING: {"type": "string"},
        FieldType.BOOLEAN: {"type": "boolean"},
        FieldType.DATE: {"type": "string", "format": "date"},
    }
    schema: dict[str, Any] = dict(kinds[spec.type])
    # Expectations refuse nothing: OpenAPI extensions (x-), so callers can see them.
    for attribute, key in _SCHEMA_KEYS:
        value = getattr(spec, attribute)
        if value is not None:
            schema[key] = list(value) if isinstance(value, list) else value
    if spec.description:
        schema["description"] = spec.description
    if not spec.required:
        schema = {"anyOf": [schema, {"type": "null"}]}
        if spec.default is not None:
            schema["default"] = spec.default
    return schema
