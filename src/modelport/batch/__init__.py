"""Batch scoring: files in (CSV, Parquet, JSON Lines), predictions and rejects out, in chunks.

    from modelport.batch import score_file
    summary = score_file(scorer, "applications.parquet", "scores.parquet", carry=["id"])

:func:`score_file` streams a file through :func:`score_chunk`, the unit every engine runs:
one chunk of rows in, an Arrow table of carried columns + predictions and the rejected
rows out; scoring by entity, an :class:`EntityLookup` first gives the chunk its sourced
inputs. See ``docs/batch.md``.
"""

from modelport.batch.chunks import ArrowChunk, Checked, Chunk, RecordsChunk, Reject, Unreadable
from modelport.batch.entities import Enriched, EntityLookup
from modelport.batch.formats import Format, detect_format, resolve_format
from modelport.batch.job import (
    DEFAULT_CHUNK_ROWS,
    BatchSummary,
    ProgressCallback,
    default_rejects_path,
    score_file,
)
from modelport.batch.readers import Reader, open_reader
from modelport.batch.score import ScoredChunk, prediction_schema, score_chunk
from modelport.batch.writers import RejectsWriter, Writer, open_writer

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "ArrowChunk",
    "BatchSummary",
    "Checked",
    "Chunk",
    "Enriched",
    "EntityLookup",
    "Format",
    "ProgressCallback",
    "Reader",
    "RecordsChunk",
    "Reject",
    "RejectsWriter",
    "ScoredChunk",
    "Unreadable",
    "Writer",
    "default_rejects_path",
    "detect_format",
    "open_reader",
    "open_writer",
    "prediction_schema",
    "resolve_format",
    "score_chunk",
    "score_file",
]
