"""The checks before a batch job reads a row: paths, carried columns and the input's columns.

Everything here fails fast, with what to do, before any output exists.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np
import pyarrow as pa

from modelport.batch.chunks import Chunk
from modelport.batch.locations import Location
from modelport.batch.readers import Reader
from modelport.batch.score import prediction_schema
from modelport.contract import ExtraFieldPolicy
from modelport.errors import BatchError
from modelport.orchestrate.spec import OrchestrationSpec
from modelport.runtime import Scorer

__all__ = ["check_carry", "check_paths", "check_record_column", "peek_names", "plan_columns"]


def peek_names(
    reader: Reader, chunk_rows: int, spec: OrchestrationSpec | None
) -> tuple[Iterator[Chunk] | None, list[str]]:
    """The input's column names, from its header or schema; for JSON Lines, when it matters
    (a model that may score by entity), the keys of the first record, read ahead: then
    also the chunks, that first one included."""
    if reader.schema is not None:
        return None, list(reader.schema.names)
    if spec is None:
        return None, []
    chunks = reader.chunks(chunk_rows)
    first = next(chunks, None)
    if first is None:
        return iter(()), []
    records = np.flatnonzero(first.objects())
    names: list[str] = []
    if len(records):
        at = int(records[0])
        probed = first.columns([*spec.entity, *spec.inputs])
        names = [name for name, column in probed.items() if column[at].is_valid]
    return itertools.chain([first], chunks), names


def check_paths(source: Location, target: Location, rejects: Location) -> None:
    paths = {"input": source, "output": target, "rejects": rejects}
    where = {
        name: str(p.local.resolve()) if p.local is not None else str(p) for name, p in paths.items()
    }
    for a, b in (("output", "input"), ("rejects", "input"), ("rejects", "output")):
        if where[a] == where[b]:
            raise BatchError(f"the {a} file would overwrite the {b} file ({paths[b]})")
    for name in ("output", "rejects"):
        if paths[name].is_dir():
            raise BatchError(f"the {name} path {paths[name]} is a directory")


def check_carry(carry: list[str], scorer: Scorer) -> list[str]:
    duplicates = sorted({c for c in carry if carry.count(c) > 1})
    if duplicates:
        raise BatchError(f"carried columns named twice: {', '.join(duplicates)}")
    names = prediction_schema(scorer).names
    clash = [c for c in carry if c in names]
    if clash:
        raise BatchError(
            f"cannot carry {', '.join(map(repr, clash))}: the output has prediction columns "
            f"named {', '.join(names)}"
        )
    return carry


def check_record_column(name: str | None, carry: list[str], scorer: Scorer) -> list[pa.Field]:
    if name is None:
        return []
    taken = [*carry, *prediction_schema(scorer).names]
    if not name or name in taken:
        raise BatchError(f"the record column needs a name not among {', '.join(taken)}")
    return [pa.field(name, pa.int64())]


def plan_columns(
    reader: Reader,
    scorer: Scorer,
    carry: list[str],
    ignore_extra: bool,
    entity: OrchestrationSpec | None,
    declared: OrchestrationSpec | None,
) -> list[str] | None:
    """Check the input's columns against the contract; the columns to read (``None``: all).

    Only formats with a header or schema are checked here; JSON Lines is checked per line.
    With pre-steps, the input holds what they read (``date_of_birth``), not what they make
    (``age``). Scoring by ``entity``, it holds the entity keys, not the sourced inputs.
    """
    contract = scorer.contract
    sourced = set(entity.inputs) if entity is not None else set()
    keys = list(entity.entity) if entity is not None else []
    made = set(scorer.derived) | sourced
    read = [n for n in scorer.inputs if n not in contract.names and n not in sourced]
    schema = reader.schema
    if schema is None:
        return None
    names = list(schema.names)
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise BatchError(f"{reader.path} has more than one column named {', '.join(duplicates)}")
    present = set(names)
    missing_carry = [c for c in carry if c not in present]
    if missing_carry:
        raise BatchError(
            f"{reader.path} has no column {', '.join(map(repr, missing_carry))} to carry"
        )
    sent = [n for n in names if n in sourced]
    if sent and entity is not None:
        raise BatchError(
            f"{reader.path} has columns this model reads from its feature sources by "
            f"{', '.join(keys)}: {', '.join(sent)}; drop them to look them up, or give every "
            "sourced input to score without lookups"
        )
    required = [f.name for f in contract.fields if f.required and f.name not in present | made]
    required += [n for n in read if n not in present]
    if required:
        raise BatchError(
            f"{reader.path} lacks the columns of required fields: {', '.join(required)}"
            + _lookup_hint(declared, required)
        )
    fields = set(contract.names) | set(read) | set(keys)
    extras = [n for n in names if n not in fields and n not in carry]
    if not extras:
        return None
    if ignore_extra:
        return [n for n in names if n in fields or n in carry]
    if contract.extra_fields is ExtraFieldPolicy.IGNORE:
        return None
    raise BatchError(
        f"{reader.path} has columns that are not fields of this model: {', '.join(extras)}; "
        "carry them into the output (--carry) or ignore them (--ignore-extra)"
    )


def _lookup_hint(declared: OrchestrationSpec | None, required: list[str]) -> str:
    """How the missing columns could be looked up instead, if the package says."""
    if declared is None or not any(n in declared.inputs for n in required):
        return ""
    return (
        f" (or give the entity key column {', '.join(declared.entity)} to look the sourced "
        f"ones up in {', '.join(map(repr, declared.sources))})"
    )
