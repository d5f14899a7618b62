"""Score a whole file, chunk by chunk, into an output that appears only when complete.

    reader ──chunks──► score_chunk ──table──► writer   (temporary file beside the output)
                                  └─rejects─► rejects writer (temporary file beside it)
    at the end: rows in == rows out + rows rejected, then both files are renamed into place

On any failure, or Ctrl-C, both temporary files are removed and nothing appears.

Scoring by entity (the package declares where its inputs come from and the input has the
entity keys instead): each chunk is looked up in the feature sources first, see
:mod:`modelport.batch.entities`.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from modelport.batch.atomic import atomic_file
from modelport.batch.chunks import Chunk
from modelport.batch.entities import EntityLookup, SourcesArgument, by_entity, resolve_bindings
from modelport.batch.formats import COMPRESSIONS, Format, resolve_format
from modelport.batch.readers import Reader, open_reader
from modelport.batch.score import prediction_schema, score_chunk
from modelport.batch.writers import OutputSchema, RejectsWriter, open_writer
from modelport.contract import ExtraFieldPolicy
from modelport.errors import BatchError
from modelport.orchestrate.spec import OrchestrationSpec
from modelport.package import Package, load_scorer
from modelport.runtime import Scorer
from modelport.settings import Settings

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "BatchSummary",
    "ProgressCallback",
    "default_rejects_path",
    "score_file",
]

DEFAULT_CHUNK_ROWS: int = Settings.model_fields["batch_chunk_rows"].default
REJECTS_SUFFIX = ".rejects.jsonl"

ProgressCallback = Callable[[int, int | None], None]
"""Called with (rows read so far, total rows or ``None``) at the start and after each chunk."""


@dataclass(frozen=True, slots=True)
class BatchSummary:
    """What a batch run did. ``rows_read == rows_scored + rows_rejected`` always."""

    input: Path
    output: Path
    rejects: Path
    input_format: Format
    output_format: Format
    rows_read: int
    rows_scored: int
    rows_rejected: int
    elapsed_seconds: float
    rejected_fields: dict[str, int] = field(default_factory=dict)
    """How many rejected rows name each field (``"(row)"``: a reason about the whole row)."""
    entity_keys: list[str] = field(default_factory=list)
    """The keys rows were looked up by in the feature sources (empty: not by entity)."""

    @property
    def rows_per_second(self) -> float:
        return self.rows_read / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "input": str(self.input),
            "output": str(self.output),
            "rejects": str(self.rejects),
            "input_format": self.input_format.value,
            "output_format": self.output_format.value,
            "rows_read": self.rows_read,
            "rows_scored": self.rows_scored,
            "rows_rejected": self.rows_rejected,
            "elapsed_seconds": self.elapsed_seconds,
            "rows_per_second": self.rows_per_second,
            "rejected_fields": dict(self.rejected_fields),
            "entity_keys": list(self.entity_keys),
        }


def default_rejects_path(output: Path) -> Path:
    """``<output>.rejects.jsonl``, beside the output."""
    output = Path(output)
    return output.with_name(output.name + REJECTS_SUFFIX)


def score_file(
    scorer_or_package: Scorer | Package,
    input: str | Path,
    output: str | Path,
    *,
    input_format: Format | str | None = None,
    output_format: Format | str | None = None,
    carry: Sequence[str] | None = None,
    rejects: str | Path | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: ProgressCallback | None = None,
    ignore_extra: bool = False,
    record_column: str | None = None,
    orchestration: OrchestrationSpec | None = None,
    sources: SourcesArgument = None,
) -> BatchSummary:
    """Score ``input`` into ``output``, ``chunk_rows`` rows at a time; refused rows to ``rejects``.

    Formats come from the file names unless given (``csv``, ``parquet``, ``jsonl``). The
    output holds the ``carry`` columns of the input, then the prediction columns, for the
    accepted rows in input order. ``rejects`` (default ``<output>.rejects.jsonl``) gets one
    JSON line per refused row. Both files appear only once the whole input is scored.

    Input columns that are not fields of the model are refused up front unless carried,
    ``ignore_extra`` is set, or the model's contract ignores extra fields.
    ``record_column`` names an output column, first, holding each row's record number
    (its 0-based row index in the input), to join the output back to the input.

    ``orchestration`` (default: the package's, when a package is given) says where the
    model's inputs come from: an input with the entity keys but not the sourced inputs is
    scored by entity, each chunk looked up in the feature sources ``sources`` binds (a
    sources file or bindings by name), one query per source per 500 distinct keys.
    Entities a source does not have are rejects; a source that is down fails the run.
    ``carry`` then defaults to the entity keys (``None``; ``()`` carries nothing).
    """
    started = time.perf_counter()
    if isinstance(scorer_or_package, Package):
        scorer = load_scorer(scorer_or_package)
        if orchestration is None:
            orchestration = scorer_or_package.manifest.orchestration
    else:
        scorer = scorer_or_package
    source, target = Path(input), Path(output)
    rejects_path = Path(rejects) if rejects is not None else default_rejects_path(target)
    in_format = resolve_format(source, input_format)
    out_format = resolve_format(target, output_format)
    if target.suffix.lower() in COMPRESSIONS:
        raise BatchError(
            f"output {target} names a compression ({target.suffix}); outputs are written "
            "uncompressed (Parquet compresses inside the file): drop the suffix"
        )
    _check_paths(source, target, rejects_path)
    if carry is not None:
        carry = _check_carry(list(carry), scorer)
    predictions = prediction_schema(scorer)

    with open_reader(source, in_format) as reader:
        chunks, names = _peek_names(reader, chunk_rows, orchestration)
        spec = orchestration if by_entity(orchestration, names) else None
        bindings = resolve_bindings(sources, spec) if spec is not None else {}
        if carry is None:
            carry = _check_carry(list(spec.entity) if spec is not None else [], scorer)
        leading = _check_record_column(record_column, carry, scorer)
        columns = _plan_columns(reader, scorer, carry, ignore_extra, spec, orchestration)
        if chunks is None:
            chunks = reader.chunks(chunk_rows, columns=columns)
        output_schema = OutputSchema(reader.schema, carry, leading, predictions)
        total = reader.total_rows
        read = scored = rejected = 0
        fields: Counter[str] = Counter()
        lookup = None
        if spec is not None:
            steps = scorer.pre_steps.inputs if scorer.pre_steps is not None else []
            keep = {*scorer.contract.names, *steps}
            lookup = EntityLookup.open(spec, bindings, keep=keep)
        with (
            _closing(lookup),
            atomic_file(target) as out_tmp,
            atomic_file(rejects_path) as rejects_tmp,
        ):
            writer = open_writer(out_tmp, out_format)
            rejects_writer = RejectsWriter(rejects_tmp)
            try:
                if progress is not None:
                    progress(0, total)
                for chunk in chunks:
                    result = score_chunk(
                        scorer,
                        chunk,
                        carry=carry,
                        ignore_extra=ignore_extra,
                        record_column=record_column,
                        schema=predictions,
                        lookup=lookup,
                    )
                    writer.write(output_schema.conform(result.table))
                    rejects_writer.write(result.rejects)
                    for reject in result.rejects:
                        fields.update({e.field or "(row)" for e in reject.errors})
                    read += result.n_rows
                    scored += result.table.num_rows
                    rejected += len(result.rejects)
                    if progress is not None:
                        progress(read, total)
                writer.close(output_schema.final())
                rejects_writer.close()
            except BaseException:
                writer.abort()
                rejects_writer.abort()
                raise
            if (
                read != scored + rejected
                or writer.rows != scored
                or rejects_writer.rows != rejected
            ):
                raise BatchError(
                    f"{read} rows read but {writer.rows} written and {rejects_writer.rows} "
                    "rejected; nothing was written"
                )
            if total is not None and read != total:
                raise BatchError(f"{source} announces {total} rows but {read} were read")
    return BatchSummary(
        input=source,
        output=target,
        rejects=rejects_path,
        input_format=in_format,
        output_format=out_format,
        rows_read=read,
        rows_scored=scored,
        rows_rejected=rejected,
        elapsed_seconds=time.perf_counter() - started,
        rejected_fields=dict(fields.most_common()),
        entity_keys=list(spec.entity) if spec is not None else [],
    )


@contextmanager
def _closing(lookup: EntityLookup | None) -> Iterator[None]:
    try:
        yield
    finally:
        if lookup is not None:
            lookup.close()


def _peek_names(
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


def _check_paths(source: Path, target: Path, rejects: Path) -> None:
    paths = {"input": source, "output": target, "rejects": rejects}
    resolved = {name: path.resolve() for name, path in paths.items()}
    for a, b in (("output", "input"), ("rejects", "input"), ("rejects", "output")):
        if resolved[a] == resolved[b]:
            raise BatchError(f"the {a} file would overwrite the {b} file ({paths[b]})")
    for name in ("output", "rejects"):
        if paths[name].is_dir():
            raise BatchError(f"the {name} path {paths[name]} is a directory")


def _check_carry(carry: list[str], scorer: Scorer) -> list[str]:
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


def _check_record_column(name: str | None, carry: list[str], scorer: Scorer) -> list[pa.Field]:
    if name is None:
        return []
    taken = [*carry, *prediction_schema(scorer).names]
    if not name or name in taken:
        raise BatchError(f"the record column needs a name not among {', '.join(taken)}")
    return [pa.field(name, pa.int64())]


def _plan_columns(
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
    steps = scorer.pre_steps
    sourced = set(entity.inputs) if entity is not None else set()
    keys = list(entity.entity) if entity is not None else []
    made = (set(steps.outputs) if steps is not None else set()) | sourced
    read = [n for n in (steps.inputs if steps is not None else []) if n not in sourced]
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
