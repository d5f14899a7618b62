"""The enrichment cache: rows fetched from feature sources, kept in process for a while.

Bounded in entries (least recently used go first) and with a time to live per source, so a
hot entity costs one dictionary lookup and a changed row is seen again within the TTL.
Thread-safe: the server looks rows up from its worker threads. Hits, misses and evictions
are counted for the metrics; :meth:`EnrichmentCache.invalidate` drops a source's rows (or
one entity's) when the operator knows they changed.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from modelport.orchestrate.sources import EntityKey

__all__ = ["CacheStats", "EnrichmentCache"]

_ABSENT = object()


@dataclass(frozen=True)
class CacheStats:
    hits: int
    misses: int
    evictions: int
    entries: int


class EnrichmentCache:
    """``(source, key) -> row`` with a per-source TTL and an overall entry bound.

    A row that the source did not have (an unknown entity) is cached too, as absent, so a
    client asking again and again for a missing id does not reach the database each time.
    """

    def __init__(self, max_entries: int = 100_000, clock: Callable[[], float] = time.monotonic):
        if max_entries < 0:
            raise ValueError("max_entries must be zero (no cache) or more")
        self.max_entries = max_entries
        self._clock = clock
        self._rows: OrderedDict[tuple[str, EntityKey], tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._hits = self._misses = self._evictions = 0

    def get_many(
        self, source: str, keys: Iterable[EntityKey]
    ) -> tuple[dict[EntityKey, dict[str, Any] | None], list[EntityKey]]:
        """The cached rows of ``keys`` (``None``: known to be absent) and the keys to fetch."""
        now = self._clock()
        found: dict[EntityKey, dict[str, Any] | None] = {}
        missing: list[EntityKey] = []
        with self._lock:
            for key in keys:
                entry = self._rows.get((source, key))
                if entry is None or entry[0] <= now:
                    if entry is not None:
                        del self._rows[(source, key)]
                    missing.append(key)
                    self._misses += 1
                    continue
                self._rows.move_to_end((source, key))
                found[key] = None if entry[1] is _ABSENT else entry[1]
                self._hits += 1
        return found, missing

    def put_many(
        self,
        source: str,
        ttl_seconds: float,
        rows: dict[EntityKey, dict[str, Any]],
        absent: Iterable[EntityKey] = (),
    ) -> None:
        """Keep ``rows`` (and ``absent`` keys) of ``source`` for ``ttl_seconds``."""
        if self.max_entries == 0 or ttl_seconds <= 0:
            return
        expires = self._clock() + ttl_seconds
        with self._lock:
            for key, row in rows.items():
                self._store((source, key), expires, row)
            for key in absent:
                self._store((source, key), expires, _ABSENT)

    def invalidate(self, source: str | None = None, key: EntityKey | None = None) -> int:
        """Drop every row, a source's rows, or one entity's row; how many were dropped."""
        with self._lock:
            if source is None:
                dropped = len(self._rows)
                self._rows.clear()
                return dropped
            if key is not None:
                return 0 if self._rows.pop((source, key), None) is None else 1
            doomed = [k for k in self._rows if k[0] == source]
            for k in doomed:
                del self._rows[k]
            return len(doomed)

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(self._hits, self._misses, self._evictions, len(self._rows))

    def _store(self, where: tuple[str, EntityKey], expires: float, row: Any) -> None:
        self._rows[where] = (expires, row)
        self._rows.move_to_end(where)
        while len(self._rows) > self.max_entries:
            self._rows.popitem(last=False)
            self._evictions += 1
