"""The dataplane: what every door asks of a serving worker, as domain calls.

HTTP today (:mod:`modelport.server`); the Open Inference Protocol, MLflow-style
``/invocations`` and a console later. Each door decodes its protocol, authenticates, calls
here and encodes the result; the looking up, authorising, orchestrating and batching
happen here once, for all of them::

    dataplane.cached(ref, principal)              the version answering, if in memory (no I/O)
    await dataplane.resolve(ref, principal)       the same, through the registry if need be
    await dataplane.predict(ref, records, principal)     -> PredictResult
    await dataplane.score_entity(request, principal)     -> EntityScore
    dataplane.models(principal), dataplane.model_metadata(name, principal),
    dataplane.readiness(principal)                 blocking (the registry): call from a thread

Refusals are modelport's own errors (:class:`~modelport.errors.Forbidden` before a model
is looked up, so it tells nothing of what exists; ``ModelNotFound``; ``InvalidInput``
naming record and field ...); nothing here knows a status code. Results are plain
objects: the version that answered, the answers, the warnings.

A door that names the answering version even when the request is then refused (a
header, a metrics label, a log line) resolves first and hands the version on; a version
in memory then costs a dictionary lookup, and ``predict`` one coroutine around the
micro-batcher's::

    model = dataplane.cached(ref, principal) or await dataplane.resolve(ref, principal)
    result = await dataplane.predict(ref, records, principal, resolved=model)
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from modelport.errors import Forbidden, InvalidInput
from modelport.orchestrate import (
    CoalescingEnricher,
    Enricher,
    EnrichmentCache,
    SqlSource,
    assemble_async,
    load_bindings,
    name_sources,
    split_entity,
)
from modelport.security.principals import ANONYMOUS, Principal
from modelport.serving.batching import Batchers, BatchPolicy, BatchStats
from modelport.serving.catalog import Catalog, ModelInfo, VersionInfo
from modelport.serving.payload import JsonLimits, Records, decode_json, parse_records
from modelport.serving.pool import LoadedModel, PoolListener
from modelport.serving.service import Readiness, ServingService, version_number

if TYPE_CHECKING:
    from modelport.registry import Registry
    from modelport.settings import Settings

__all__ = [
    # the dataplane and what its calls take and give
    "Dataplane",
    "DataplaneListener",
    "EntityScore",
    "PredictResult",
    "Readiness",
    "RequestRef",
    "ScoreRequest",
    # what a door needs to decode requests and describe versions (re-exported)
    "BatchStats",
    "Catalog",
    "JsonLimits",
    "LoadedModel",
    "ModelInfo",
    "Records",
    "VersionInfo",
    "decode_json",
    "parse_records",
]

Answer = dict[str, Any]
_RESOLVING_THREADS = 32  # requests waiting on registry lookups and loads (threads made on demand)


@dataclass(frozen=True, slots=True)
class RequestRef:
    """The model a request names, as the caller wrote it: a name and an alias, or a version
    (a number, or the raw text of a URL segment). Nothing is checked until resolution, so
    a malformed name is a plain ``ModelNotFound``, never a hint at what exists."""

    name: str
    alias: str | None = None  # None: the production alias (unless a version is given)
    version: int | str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ScoreRequest(RequestRef):
    """Score one entity: the model (a :class:`RequestRef`), the entity's keys and the
    request-time inputs. ``entity`` empty: the flat form, keys among ``inputs``."""

    entity: Mapping[str, Any] = field(default_factory=dict)
    inputs: Mapping[str, Any] = field(default_factory=dict)


class _Answered:
    """A result of one model version; plain slotted classes, made once per request."""

    __slots__ = ("model",)

    model: LoadedModel

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def version(self) -> int:
        return self.model.version


class PredictResult(_Answered):
    """What ``predict`` gives: the version that answered and one answer per record.

    A plain slotted class: made once per request, so made cheaply. Do not change it.
    """

    __slots__ = ("answers",)

    def __init__(self, model: LoadedModel, answers: list[Answer]) -> None:
        self.model = model
        self.answers = answers

    @property
    def warnings(self) -> dict[int, list[dict[str, Any]]]:
        """Record index -> what its answer warns of (values outside the expected range)."""
        return {i: a["warnings"] for i, a in enumerate(self.answers) if "warnings" in a}


class EntityScore(_Answered):
    """What ``score_entity`` gives: the version, the entity's keys, the record assembled
    for it (sourced and request inputs) and the model's answer."""

    __slots__ = ("answer", "entity", "record")

    def __init__(
        self, model: LoadedModel, entity: Mapping[str, Any], record: Answer, answer: Answer
    ) -> None:
        self.model = model
        self.entity = entity
        self.record = record
        self.answer = answer

    @property
    def score(self) -> Any:
        """The positive-class probability, or the regression value."""
        return self.answer.get("score", self.answer.get("value"))

    @property
    def decision(self) -> Any:
        return self.answer.get("decision")

    @property
    def rule(self) -> Any:
        return self.answer.get("rule")

    @property
    def confidence(self) -> Any:
        return self.answer.get("confidence")

    @property
    def warnings(self) -> list[dict[str, Any]]:
        return list(self.answer.get("warnings", ()))


class DataplaneListener(PoolListener, Protocol):
    """Hears what the dataplane does, for metrics: versions loaded and unloaded, every
    runtime call (a batch), and answers that carry warnings. Called on the event loop
    (``batch``, ``input_warnings``): append and return, never block."""

    def batch(self, stats: BatchStats) -> None: ...

    def input_warnings(self, model: LoadedModel, records: int) -> None: ...


class Dataplane:
    """Predictions and scores by entity for every door, over one worker's loaded versions."""

    def __init__(
        self,
        service: ServingService,
        *,
        policy: BatchPolicy | None = None,
        executor: Executor | None = None,
        enricher: Enricher | None = None,
        listener: DataplaneListener | None = None,
    ) -> None:
        self.service = service
        self._own_executor = executor is None
        self._executor = executor or ThreadPoolExecutor(
            max_workers=max(1, os.cpu_count() or 1), thread_name_prefix="score"
        )
        # lookups and loads wait in threads of their own: a slow load must hold up neither
        # scoring (the executor above) nor feature-source queries (the loop's default one)
        self._resolving = ThreadPoolExecutor(_RESOLVING_THREADS, thread_name_prefix="resolve")
        self._listener = listener
        self.batchers = Batchers(
            policy or BatchPolicy(), self._executor, None if listener is None else listener.batch
        )
        self.enricher = enricher or Enricher({})
        self._coalescing = CoalescingEnricher(self.enricher)
        if listener is not None:
            service.pool.listeners.append(listener)
        if self.enricher.sources:  # `modelport cache invalidate` reaches every worker
            service.invalidation_listeners.append(
                lambda done: self.enricher.invalidate(done.source, done.entity)
            )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        registry: Registry | None = None,
        listener: DataplaneListener | None = None,
    ) -> Dataplane:
        """The dataplane ``settings`` describe: registry, batching, feature sources."""
        bindings = load_bindings(settings.sources_file) if settings.sources_file else {}
        sources = {name: SqlSource(binding) for name, binding in bindings.items()}
        return cls(
            ServingService.from_settings(settings, registry),
            policy=BatchPolicy(
                max_rows=settings.batch_max_rows,
                max_wait=settings.batch_max_wait_ms / 1000,
                enabled=settings.batching,
            ),
            enricher=Enricher(sources, EnrichmentCache(settings.enrichment_cache_entries)),
            listener=listener,
        )

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Start the alias poller (it loads every production version in the background)."""
        self.service.start()

    def stop(self) -> None:
        """Stop polling, close the feature sources (blocking: call it from a thread)."""
        self.service.stop()
        self.enricher.close()
        self._resolving.shutdown(wait=False)
        if self._own_executor:
            self._executor.shutdown(wait=False)

    @property
    def registry(self) -> Registry:
        return self.service.registry

    @property
    def catalog(self) -> Catalog:
        """What the registry holds, for documentation; rebuilt by the poller, never here."""
        return self.service.catalog

    # -- resolution ------------------------------------------------------------------------

    def cached(self, ref: RequestRef, principal: Principal | None) -> LoadedModel | None:
        """The version answering ``ref`` if it is in memory, else ``None`` (no I/O).

        :class:`Forbidden` first, unless ``principal`` may use the model."""
        name = ref.name
        _require_predict(name, principal)
        version = ref.version
        if version is None:
            return self.service.cached(name, ref.alias, None)
        number = version if isinstance(version, int) else version_number(version)
        return None if number is None else self.service.cached(name, None, number)

    async def resolve(self, ref: RequestRef, principal: Principal | None) -> LoadedModel:
        """The version answering ``ref``, resolved through the registry and loaded if need
        be (in a thread). Raises :class:`Forbidden`, ``ModelNotFound``, ``AliasNotFound``,
        ``VersionNotFound`` or ``PackageError`` (the version exists but cannot be served)."""
        model = self.cached(ref, principal)
        if model is not None:
            return model
        find = functools.partial(self.service.find, ref.name, ref.alias, ref.version)
        # in the request's context: what the lookup logs carries the request id
        context = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(self._resolving, context.run, find)

    # -- requests --------------------------------------------------------------------------

    async def predict(
        self,
        ref: RequestRef,
        records: Sequence[Mapping[str, Any]],
        principal: Principal | None,
        *,
        resolved: LoadedModel | None = None,
    ) -> PredictResult:
        """One answer per record, validated and scored with whatever else arrived meanwhile.

        ``resolved``: the version :meth:`cached` or :meth:`resolve` gave for ``ref`` and
        ``principal`` (which checked it); skips resolution. A record that breaks the
        contract refuses the whole request (:class:`InvalidInput` naming record and field).
        """
        model = resolved
        if model is None:
            model = await self.resolve(ref, principal)
        answers = await self.batchers.for_model(model).predict(records)
        listener = self._listener
        if listener is not None:  # counted here, once per request: no loop without metrics
            warned = 0
            for answer in answers:
                if "warnings" in answer:
                    warned += 1
            if warned:
                listener.input_warnings(model, warned)
        return PredictResult(model, answers)

    async def score_entity(
        self,
        request: ScoreRequest,
        principal: Principal | None,
        *,
        resolved: LoadedModel | None = None,
    ) -> EntityScore:
        """Score one entity: its inputs looked up in the model's feature sources (cached,
        concurrent misses fetched together), joined with the request's, then batched like
        any prediction. ``EntityNotFound`` for an entity a source lacks;
        ``FeatureSourceUnavailable`` naming a source that is down or slow; a sourced value
        the contract refuses names its source. ``resolved`` as in :meth:`predict`."""
        model = resolved
        if model is None:
            model = await self.resolve(request, principal)
        spec = model.orchestration
        if spec is None:
            raise InvalidInput(
                f"model {model.name!r} does not declare where its inputs come from, so it "
                "cannot score by entity; send it the inputs themselves to predict"
            )
        entity, inputs = split_entity(spec, request.entity, request.inputs)
        records = await assemble_async(spec, self._coalescing, [entity], [inputs])
        try:
            (answer,) = await self.batchers.for_model(model).predict(records)
        except InvalidInput as refused:
            raise name_sources(refused, spec) from None
        if self._listener is not None and "warnings" in answer:
            self._listener.input_warnings(model, 1)
        return EntityScore(model, entity, records[0], answer)

    # -- descriptions (blocking: they may ask the registry) ---------------------------------

    def models(self, principal: Principal | None) -> list[dict[str, Any]]:
        """Every registered model ``principal`` may use: versions, aliases, what is loaded."""
        if principal is None:
            return []
        return [m for m in self.service.models() if principal.may_predict(m["name"])]

    def model_metadata(self, name: str, principal: Principal | None) -> dict[str, Any]:
        """One model: its versions (task, runtime, digest), aliases and what is loaded.
        :class:`Forbidden` (before the lookup) or ``ModelNotFound``."""
        _require_predict(name, principal)
        return self.service.model(name)

    def readiness(self, principal: Principal | None) -> Readiness:
        """Ready when the registry answers and every production version is loaded; what it
        says about models is limited to those ``principal`` may use (operators, with the
        admin or metrics scope, see all; ``None``, a stranger, sees none)."""
        readiness = self.service.readiness()
        if principal is None:
            return readiness.seen_by(lambda _: False)
        if principal.may_read_metrics():
            return readiness
        return readiness.seen_by(principal.may_predict)


def _require_predict(model: str, principal: Principal | None) -> None:
    """:class:`Forbidden` unless ``principal`` may use ``model`` (``None``: a stranger).
    Anonymous (authentication off) passes first: the common case costs one comparison."""
    if principal is not ANONYMOUS and (principal is None or not principal.may_predict(model)):
        raise _forbidden(model)


def _forbidden(model: str) -> Forbidden:
    return Forbidden(
        f"these credentials may not use model {model[:64]!r}: "
        f"the scope predict:{model[:64]} (or predict:*) is needed"
    )
