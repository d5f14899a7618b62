"""One entity's request, checked against the model's spec, and refusals explained.

A caller names an entity by its keys and may add request-time inputs, either nested
(``entity`` and ``inputs`` apart) or flat (one mapping, the spec says which fields are
keys). :func:`split_entity` turns either into the entity's keys and the inputs, refusing
missing or unknown keys by name. :func:`name_sources` rewrites a contract refusal of a
value the caller did not send (it came from a source) so that it says where it came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelport.errors import FieldError, InvalidInput
from modelport.orchestrate.spec import OrchestrationSpec

__all__ = ["MISSING_KEY", "name_sources", "split_entity"]

MISSING_KEY = "missing: an entity key of this model"


def split_entity(
    spec: OrchestrationSpec, entity: Mapping[str, Any], inputs: Mapping[str, Any]
) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """The entity's keys and the request-time inputs; :class:`InvalidInput` naming every
    missing or unknown key. An empty ``entity`` means the flat form: the keys are taken out
    of ``inputs`` (a copy; what was given is never changed)."""
    if not entity:
        remaining = dict(inputs)  # copied only here: the nested form is passed through as is
        entity = {k: remaining.pop(k) for k in spec.entity if k in remaining}
        inputs = remaining
    missing = [k for k in spec.entity if entity.get(k) is None]
    unknown = sorted(set(entity) - set(spec.entity))
    if missing or unknown:
        errors = [FieldError(None, k, MISSING_KEY) for k in missing]
        errors += [FieldError(None, k, "not an entity key of this model") for k in unknown]
        raise InvalidInput(f"the model identifies entities by {', '.join(spec.entity)}", errors)
    return entity, inputs


def name_sources(refused: InvalidInput, spec: OrchestrationSpec) -> InvalidInput:
    """``refused`` with every field that came from a source saying so: the caller did not
    send it and cannot correct it (the model was packaged for a narrower range than the
    source holds). ``refused`` itself when no field came from a source."""
    errors = []
    for error in refused.errors:
        source = spec.inputs.get(error.field or "")
        if source is not None:
            reason = f"{error.reason} (the value in source {source.source!r} for this entity)"
            error = FieldError(error.record, error.field, reason)
        errors.append(error)
    if errors == refused.errors:
        return refused
    return InvalidInput("the entity's data does not match the model's contract", errors)
