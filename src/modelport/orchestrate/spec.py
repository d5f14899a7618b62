"""What a package says about where its inputs come from (declared at build time).

    OrchestrationSpec(
        entity=["customer_id"],
        inputs={"date_of_birth": FieldSource(source="customers"),
                "home_lat": FieldSource(source="customers", column="latitude")},
    )

Inputs not listed come from the request. A source is named, not located: the deployment
binds ``customers`` to a database (:mod:`modelport.orchestrate.config`). Each source's keys
are read from the entity by name, so every key a source needs must be one of ``entity``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["FieldSource", "OrchestrationSpec"]


class FieldSource(BaseModel):
    """One input read from a source row: the row's ``column`` (default: the input's name)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    column: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class OrchestrationSpec(BaseModel):
    """The entity keys callers send, and which inputs come from which source."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    entity: list[str] = Field(min_length=1)
    inputs: dict[str, FieldSource] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _keys_are_not_inputs(self) -> OrchestrationSpec:
        clash = sorted(set(self.entity) & set(self.inputs))
        if clash:
            raise ValueError(f"entity keys cannot also be sourced inputs: {', '.join(clash)}")
        return self

    @property
    def sources(self) -> list[str]:
        """The source names used, in first-use order."""
        return list(dict.fromkeys(f.source for f in self.inputs.values()))
