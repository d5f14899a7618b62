"""Scoring by entity: a chunk of entity keys in, the chunk with the model's sourced inputs out.

When a package declares where its inputs come from (its orchestration spec) and the input
has the entity keys (``customer_id``) instead of the sourced inputs (``date_of_birth``,
``state``), every chunk is looked up before the pre-steps and the contract, the same way
``POST /v1/score`` looks up one entity:

    chunk ──► EntityLookup ──► pre-steps ──► contract ──► scorer
                  │ one fetch per source per chunk (a query per 500 distinct keys)
                  └─► rejects: a key missing or of the wrong kind, a sourced input sent,
                      an entity a source does not have (naming the entity and the source)

A source that is down fails the chunk (and so the job) with
:class:`~modelport.errors.FeatureSourceUnavailable`; nothing is ever scored with an input
missing or filled in. :class:`EntityLookup` keeps nothing between chunks but its open
sources, so any engine can run it: build one per process (or Dask worker) with
:meth:`EntityLookup.open` from the spec and the bindings, both plain data.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from modelport.batch.chunks import Chunk, Reject
from modelport.errors import BatchError, FieldError
from modelport.orchestrate.columns import fetch_columns, typed_keys
from modelport.orchestrate.config import load_bindings
from modelport.orchestrate.sources import SourceBinding, SqlSource
from modelport.orchestrate.spec import OrchestrationSpec

__all__ = ["Enriched", "EntityLookup", "SourcesArgument", "by_entity", "resolve_bindings"]

SourcesArgument = str | Path | Mapping[str, SourceBinding] | None
"""A sources file (YAML, see :mod:`modelport.orchestrate.config`) or bindings by name."""

_MISSING_KEY = "missing: an entity key of this model"  # the words of POST /v1/score


def by_entity(spec: OrchestrationSpec | None, names: Collection[str]) -> bool:
    """Whether an input with columns ``names`` is scored by entity: the package says where
    its inputs come from, and the input has every entity key but not every sourced input."""
    if spec is None or not spec.inputs:
        return False
    return all(k in names for k in spec.entity) and not all(n in names for n in spec.inputs)


def resolve_bindings(sources: SourcesArgument, spec: OrchestrationSpec) -> dict[str, SourceBinding]:
    """The bindings of the sources ``spec`` reads; a clear error for any that is not bound."""
    where = (
        f"the sources file {sources}" if isinstance(sources, str | Path) else "the bindings given"
    )
    if sources is None:
        raise BatchError(
            f"this model reads {', '.join(spec.inputs)} from feature sources "
            f"({', '.join(spec.sources)}) by {', '.join(spec.entity)}, and no sources are "
            "bound: give a sources file binding them to databases (--sources FILE, "
            "MODELPORT_SOURCES_FILE, or sources= in Python)"
        )
    bindings = load_bindings(sources) if isinstance(sources, str | Path) else dict(sources)
    unbound = [name for name in spec.sources if name not in bindings]
    if unbound:
        known = ", ".join(sorted(bindings)) or "none"
        raise BatchError(
            f"this model reads from source {', '.join(map(repr, unbound))}, which is not bound "
            f"in {where} (bound: {known})"
        )
    for name in spec.sources:
        foreign = [k for k in bindings[name].keys if k not in spec.entity]
        if foreign:
            raise BatchError(
                f"source {name!r} is keyed by {', '.join(foreign)}, which is not an entity "
                f"key of this model ({', '.join(spec.entity)})"
            )
    return {name: bindings[name] for name in spec.sources}


@dataclass(frozen=True, slots=True)
class Enriched:
    """A chunk after the lookup: the rows it kept, with their sourced inputs, and the rest."""

    chunk: Chunk  # the kept rows; its record numbers are not the input's (see renumbered)
    rows: np.ndarray | None  # positions of the kept rows in the chunk looked up (None: all)
    rejects: list[Reject]  # rows the lookup refused, with the input's record numbers

    def renumbered(
        self, accepted: np.ndarray, rejects: list[Reject]
    ) -> tuple[np.ndarray, list[Reject]]:
        """Positions and rejects of :attr:`chunk` as those of the chunk looked up, with the
        lookup's own rejects merged in, in record order."""
        if self.rows is None:
            return accepted, sorted([*self.rejects, *rejects], key=_record)
        start, rows = self.chunk.start, self.rows
        moved = []
        for reject in rejects:
            record = start + int(rows[reject.record - start])
            errors = [FieldError(record, e.field, e.reason) for e in reject.errors]
            moved.append(Reject(record, errors, reject.row, reject.line))
        return rows[accepted], sorted([*self.rejects, *moved], key=_record)


def _record(reject: Reject) -> int:
    return reject.record


class EntityLookup:
    """The sourced inputs of a chunk's entities, from the package's feature sources.

    ``keep``: entity keys the model reads itself (contract fields, pre-step inputs), which
    stay in the chunk; other keys leave it after the lookup unless carried. ``key_types``:
    by source, the Python type of each key column (see :meth:`SqlSource.key_types`).
    """

    def __init__(
        self,
        spec: OrchestrationSpec,
        sources: Mapping[str, SqlSource],
        *,
        keep: Collection[str] = (),
        key_types: Mapping[str, Mapping[str, type]] | None = None,
    ) -> None:
        unbound = [name for name in spec.sources if name not in sources]
        if unbound:
            raise BatchError(f"no feature source {', '.join(map(repr, unbound))} is open")
        self.spec = spec
        self.sources = {name: sources[name] for name in spec.sources}
        self.keep = frozenset(keep)
        self.key_types = {name: dict((key_types or {}).get(name, {})) for name in self.sources}
        self._fields = {
            name: {i: f.column or i for i, f in spec.inputs.items() if f.source == name}
            for name in self.sources
        }

    @classmethod
    def open(
        cls, spec: OrchestrationSpec, sources: SourcesArgument, *, keep: Collection[str] = ()
    ) -> EntityLookup:
        """Connect to the sources ``spec`` reads (bound by ``sources``) and learn their key
        types; a source that is down fails here, before anything is read or written."""
        bindings = resolve_bindings(sources, spec)
        opened: dict[str, SqlSource] = {}
        try:
            for name, binding in bindings.items():
                opened[name] = SqlSource(binding)
            types = {name: source.key_types() for name, source in opened.items()}
        except BaseException:
            for source in opened.values():
                source.close()
            raise
        return cls(spec, opened, keep=keep, key_types=types)

    def close(self) -> None:
        for source in self.sources.values():
            source.close()

    def __enter__(self) -> EntityLookup:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __call__(self, chunk: Chunk, carry: Sequence[str] = ()) -> Enriched:
        """Look the chunk's entities up; entity keys neither kept nor carried are dropped."""
        n = chunk.n_rows
        refused: dict[int, list[FieldError]] = {}
        objects = chunk.objects()
        given = chunk.columns(self.spec.entity)
        keys = {name: given.get(name, pa.nulls(n)) for name in self.spec.entity}
        for name, column in keys.items():
            _refuse(refused, objects & ~_valid(column), name, _MISSING_KEY)
        for name, column in chunk.columns(list(self.spec.inputs)).items():
            sent = f"comes from source {self.spec.inputs[name].source!r}; do not send it"
            _refuse(refused, objects & _valid(column), name, sent)
        candidates = objects & ~_positions_mask(refused, n)
        found: dict[str, tuple[np.ndarray, pa.Array]] = {}  # input -> (its rows, values)
        for name in self.sources:
            found.update(self._look_up(name, keys, candidates, refused))
        drop = [k for k in self.spec.entity if k not in self.keep and k not in carry]
        if not refused:
            added = {name: _spread(rows, values, n, None) for name, (rows, values) in found.items()}
            return Enriched(chunk.joined(None, added, drop), None, [])
        kept = np.flatnonzero(~_positions_mask(refused, n))
        added = {name: _spread(rows, values, n, kept) for name, (rows, values) in found.items()}
        return Enriched(chunk.joined(kept, added, drop), kept, chunk.rejects(refused))

    def _look_up(
        self,
        name: str,
        keys: Mapping[str, pa.Array],
        candidates: np.ndarray,
        refused: dict[int, list[FieldError]],
    ) -> dict[str, tuple[np.ndarray, pa.Array]]:
        """One source's inputs for the ``candidates`` rows, by input: the rows looked up
        and their values; what cannot be looked up or is not found goes to ``refused``."""
        source = self.sources[name]
        rows = candidates.copy()
        typed = {}
        for key in source.binding.keys:
            kind = self.key_types[name].get(key)
            typed[key], lost = typed_keys(keys[key], kind)
            lost &= candidates
            for p in np.flatnonzero(lost).tolist():
                shown = keys[key][p].as_py()
                reason = f"{shown!r} cannot be looked up in source {name!r}, whose {key} is "
                reason += "an integer" if kind is int else "text"  # typed_keys' two kinds
                refused.setdefault(p, []).append(FieldError(None, key, reason))
            rows &= ~lost
        where = np.flatnonzero(rows)
        taken = pa.array(where, type=pa.int64())
        fetched = fetch_columns(
            source, {k: a.take(taken) for k, a in typed.items()}, self._fields[name]
        )
        missing = where[~fetched.found]
        if len(missing):
            field = source.binding.keys[0] if len(source.binding.keys) == 1 else None
            lost_keys = pa.array(missing, type=pa.int64())
            named = {k: typed[k].take(lost_keys).to_pylist() for k in source.binding.keys}
            for i, p in enumerate(missing.tolist()):
                shown = ", ".join(f"{k}={column[i]!r}" for k, column in named.items())
                reason = f"no entity {shown} in source {name!r}"  # the words of POST /v1/score
                refused.setdefault(p, []).append(FieldError(None, field, reason))
        return {column: (where, values) for column, values in fetched.columns.items()}


def _valid(column: pa.Array) -> np.ndarray:
    return column.is_valid().to_numpy(zero_copy_only=False)  # type: ignore[no-any-return]


def _refuse(
    refused: dict[int, list[FieldError]], mask: np.ndarray, field: str, reason: str
) -> None:
    for p in np.flatnonzero(mask).tolist():
        refused.setdefault(p, []).append(FieldError(None, field, reason))


def _positions_mask(refused: Mapping[int, object], n: int) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    if refused:
        mask[np.fromiter(refused, dtype=np.int64, count=len(refused))] = True
    return mask


def _spread(rows: np.ndarray, values: pa.Array, n: int, kept: np.ndarray | None) -> pa.Array:
    """``values`` (one per position in ``rows``) at the chunk's positions ``kept`` (``None``:
    all), null where a position was not looked up (a JSON Lines line that is no record)."""
    if kept is None and len(rows) == n:
        return values
    index = np.full(n, -1, dtype=np.int64)
    index[rows] = np.arange(len(rows))
    if kept is not None:
        index = index[kept]
    return values.take(pa.array(index, mask=index < 0))
