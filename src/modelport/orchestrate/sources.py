"""Feature sources: where a model's inputs come from when the caller sends only an entity id.

A package names a source (``customers``); the deployment binds the name to a database
(:class:`SourceBinding`), so the same package runs against a test and a production
database. A source is a table keyed by one or more entity keys, or a parameterised query
whose bind parameters are the keys:

    customers = SqlSource(SourceBinding(name="customers", url="postgresql+psycopg://...",
                                        table="customers", keys=["customer_id"]))
    customers.fetch([{"customer_id": 17}, {"customer_id": 18}])   # one query for both

A table source fetches a whole chunk of entities in one query (``WHERE key IN (...)``, or a
row-value ``IN`` for composite keys); a query source runs once per entity. Every fetch is
bounded by ``timeout_seconds``: a source that is down or slow raises
:class:`FeatureSourceUnavailable` naming it (503 over HTTP), never a partial answer.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import (
    Engine,
    bindparam,
    column,
    create_engine,
    inspect,
    select,
    table,
    text,
    tuple_,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from modelport.errors import FeatureSourceUnavailable, FieldError, InvalidInput
from modelport.extras import require

__all__ = ["EntityKey", "SourceBinding", "SqlSource", "entity_key"]

EntityKey = tuple[Any, ...]
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
INTEGER_TEXT = re.compile(r"[+-]?[0-9]{1,18}")  # text that is an int64 without a doubt
_FETCH_CHUNK = 500  # entities per query: bounded statement size on every database


class SourceBinding(BaseModel):
    """A source name bound to a database at deployment time."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    url: str
    keys: list[str] = Field(min_length=1)
    table: str | None = None
    query: str | None = None
    columns: list[str] | None = None  # a table source's columns to read (default: all)
    timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    ttl_seconds: float = Field(default=60.0, ge=0)  # how long the cache may keep a row

    @model_validator(mode="after")
    def _one_kind(self) -> SourceBinding:
        if (self.table is None) == (self.query is None):
            raise ValueError(f"source {self.name}: give exactly one of table or query")
        names = [*self.keys, *(self.columns or []), *([self.table] if self.table else [])]
        bad = [n for n in names if not _IDENTIFIER.fullmatch(n)]
        if bad:
            raise ValueError(f"source {self.name}: not plain SQL identifiers: {', '.join(bad)}")
        if self.query is not None:
            missing = [k for k in self.keys if f":{k}" not in self.query]
            if missing:
                raise ValueError(
                    f"source {self.name}: the query must bind every key as :name "
                    f"(missing {', '.join(':' + k for k in missing)})"
                )
        return self


def entity_key(
    binding: SourceBinding,
    entity: Mapping[str, Any],
    types: Mapping[str, type] | None = None,
) -> EntityKey:
    """The entity's key values in the binding's key order, typed like the source's key
    columns when ``types`` says what they are (:meth:`SqlSource.key_types`): a client's
    ``"17"`` finds customer 17, and ``"abc"`` is refused rather than sent to the database.
    """
    missing = [k for k in binding.keys if entity.get(k) is None]
    if missing:
        raise InvalidInput(
            f"the entity lacks {', '.join(missing)}, the key of source {binding.name!r}"
        )
    kinds = types or {}
    return tuple(_typed(binding.name, k, entity[k], kinds.get(k)) for k in binding.keys)


_INT64 = (-(2**63), 2**63 - 1)


def _typed(source: str, name: str, value: Any, kind: type | None) -> Any:
    """One key value as the source's key column holds it, or a refusal naming the key.

    Whatever reaches the database must be a value it can compare: no bool, no nested
    value, no integer beyond 64 bits, no NUL character (PostgreSQL refuses those for the
    whole statement, which would fail the neighbours a query is shared with)."""
    usable = not isinstance(value, bool) and isinstance(value, str | int | float)
    if isinstance(value, float) and not math.isfinite(value):
        usable = False
    if isinstance(value, int) and not _INT64[0] <= value <= _INT64[1]:
        usable = False
    if isinstance(value, str) and "\x00" in value:
        usable = False
    if not usable:
        reason = f"{_shown(value)} is not a key value: send a string or a number"
        raise InvalidInput(f"entity key {name} is not usable", [FieldError(None, name, reason)])
    converted = _converted(value, kind)
    if converted is not _NOT_CONVERTED:
        return converted
    wanted = _WANTED.get(kind, "another type") if kind is not None else "another type"
    reason = f"{_shown(value)} is not {wanted}, as the key column of source {source!r} is"
    raise InvalidInput(f"entity key {name} cannot be looked up", [FieldError(None, name, reason)])


_NOT_CONVERTED = object()
_WANTED: dict[type, str] = {
    int: "an integer",
    str: "text",
    uuid.UUID: "a UUID",
    dt.date: "a date (YYYY-MM-DD)",
    decimal.Decimal: "a number",
}


def _converted(value: Any, kind: type | None) -> Any:
    """``value`` as ``kind``, or ``_NOT_CONVERTED``; a kind we do not map passes it on."""
    if kind is int:
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
            return int(value)
        if isinstance(value, str) and INTEGER_TEXT.fullmatch(value.strip()):
            return int(value)
        return _NOT_CONVERTED
    if kind is str:
        return str(value) if isinstance(value, str | int) else _NOT_CONVERTED
    if kind in (uuid.UUID, dt.date, decimal.Decimal) and isinstance(value, str):
        try:  # rows come back as these types: the key asked for must compare equal
            if kind is dt.date:
                return dt.date.fromisoformat(value.strip())
            if kind is uuid.UUID:
                return uuid.UUID(value.strip())
            return decimal.Decimal(value.strip())
        except (ValueError, decimal.InvalidOperation):
            return _NOT_CONVERTED
    if kind is decimal.Decimal and isinstance(value, int | float):
        return decimal.Decimal(str(value))
    return value  # a query source, or a type we do not map: the database decides


def _shown(value: Any) -> str:
    return repr(value)[:40] if isinstance(value, str | int | float) else type(value).__name__


class SqlSource:
    """Rows of one source by entity key, read with a timeout; thread-safe."""

    def __init__(self, binding: SourceBinding) -> None:
        self.binding = binding
        self._engine = _engine(binding)
        self._columns: list[str] | None = binding.columns
        self._key_types: dict[str, type] | None = None  # read from the database once

    @property
    def knows_key_types(self) -> bool:
        """Whether :meth:`key_types` has been read (it is then free)."""
        return self._key_types is not None

    def key_of(self, entity: Mapping[str, Any]) -> EntityKey:
        """The entity's key, typed like the key columns once they are known."""
        return entity_key(self.binding, entity, self._key_types)

    @property
    def name(self) -> str:
        return self.binding.name

    def close(self) -> None:
        self._engine.dispose()

    def key_types(self) -> dict[str, type]:
        """The Python type the database declares for each key column of a table source
        (read once, then remembered; blocking the first time).

        A table source matches the rows it reads to the keys asked for by the values the
        database returns, so a key read from a text file (``"17"``) must first be typed like
        the column (``17``). Empty for a query source (its rows are matched by the keys
        sent); a column whose type SQLAlchemy cannot map is left out.
        """
        if self._key_types is None:
            self._key_types = self._declared_key_types()
        return self._key_types

    def _declared_key_types(self) -> dict[str, type]:
        if self.binding.table is None:
            return {}
        try:
            declared = inspect(self._engine).get_columns(self.binding.table)
        except sa_exc.NoSuchTableError:
            raise FeatureSourceUnavailable(
                f"feature source {self.name!r} has no table {self.binding.table!r}",
                source=self.name,
            ) from None
        except sa_exc.SQLAlchemyError as exc:
            raise FeatureSourceUnavailable(
                f"feature source {self.name!r} is unavailable: {_reason(exc)}", source=self.name
            ) from exc
        types: dict[str, type] = {}
        for described in declared:
            if described["name"] in self.binding.keys:
                try:
                    types[described["name"]] = described["type"].python_type
                except NotImplementedError:
                    continue
        return types

    def fetch(self, entities: Iterable[Mapping[str, Any]]) -> dict[EntityKey, dict[str, Any]]:
        """The row of every entity found, by key; entities not found are simply absent."""
        types = self.key_types()
        keys = list(dict.fromkeys(entity_key(self.binding, e, types) for e in entities))
        try:
            try:
                found = self._read(keys)
            except sa_exc.DBAPIError as exc:
                if not exc.connection_invalidated:
                    raise
                # A pooled connection had died (the database restarted): once more, afresh.
                # Connections are not pinged before use, which would cost a round trip each.
                found = self._read(keys)
        except (OverflowError, ValueError) as exc:  # the driver cannot send a key as it is
            raise InvalidInput(f"the entity's keys do not fit source {self.name!r}: {exc}") from exc
        except sa_exc.DataError as exc:  # the keys sent do not fit (a query source's CAST)
            raise InvalidInput(
                f"the entity's keys do not fit source {self.name!r}: {_reason(exc)}"
            ) from exc
        except sa_exc.SQLAlchemyError as exc:
            raise FeatureSourceUnavailable(
                f"feature source {self.name!r} is unavailable: {_reason(exc)}", source=self.name
            ) from exc
        return {key: found[key] for key in keys if key in found}

    def _read(self, keys: Sequence[EntityKey]) -> dict[EntityKey, dict[str, Any]]:
        found: dict[EntityKey, dict[str, Any]] = {}
        with self._engine.connect() as connection:
            if self.binding.query is not None:
                statement = text(self.binding.query)
                for key in keys:
                    params = dict(zip(self.binding.keys, key, strict=True))
                    row = connection.execute(statement, params).mappings().first()
                    if row is not None:
                        found[key] = dict(row)
                return found
            for start in range(0, len(keys), _FETCH_CHUNK):
                chunk = keys[start : start + _FETCH_CHUNK]
                for row in connection.execute(self._table_query(chunk)).mappings():
                    found[tuple(row[k] for k in self.binding.keys)] = dict(row)
        return found

    def _table_query(self, chunk: Sequence[EntityKey]) -> Any:
        wanted = list(dict.fromkeys([*self.binding.keys, *(self._columns or [])]))
        source = table(str(self.binding.table), *(column(n) for n in wanted))
        keys = [source.c[k] for k in self.binding.keys]
        if len(keys) == 1:
            condition = keys[0].in_(bindparam("keys", [k[0] for k in chunk], expanding=True))
        else:
            condition = tuple_(*keys).in_(list(chunk))
        chosen = [source.c[n] for n in wanted] if self._columns else [text("*")]
        return select(*chosen).select_from(source).where(condition)


def _engine(binding: SourceBinding) -> Engine:
    """An engine whose every statement gives up after the binding's timeout.

    PostgreSQL reads run in autocommit mode: a lookup needs no transaction, and skipping
    ``BEGIN`` and the ``ROLLBACK`` on return to the pool saves two round trips per fetch.
    """
    url = make_url(binding.url)
    timeout = binding.timeout_seconds
    backend = url.get_backend_name()
    if backend == "postgresql":
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
        if url.get_driver_name() == "psycopg":
            require("postgres", f"the feature source {binding.name!r} on PostgreSQL")
        milliseconds = max(1, int(timeout * 1000))
        args: dict[str, Any] = {
            "connect_timeout": max(1, round(timeout)),
            "options": f"-c statement_timeout={milliseconds}",
        }
        return create_engine(url, connect_args=args, isolation_level="AUTOCOMMIT")
    if backend == "sqlite":
        return create_engine(url, connect_args={"timeout": timeout})
    return create_engine(url)


def _reason(exc: sa_exc.SQLAlchemyError) -> str:
    original = getattr(exc, "orig", None) or exc
    return " ".join(str(original).split())[:300]
