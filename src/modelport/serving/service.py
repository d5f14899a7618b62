"""What a prediction request needs, knowing nothing of HTTP.

:class:`ServingService` resolves ``name`` / ``name@alias`` / ``name:version`` to a loaded
model version. Aliases are resolved from an in-memory map (no registry query per
request) that a background poller keeps in step with the registry's ``alias_state()``:
when an alias moves, the new version is loaded and warmed first and only then does the
map switch to it, so requests never wait and never fail because of a move. Every answer
names the version that gave it.
"""

from __future__ import annotations

import gc
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from modelport.errors import (
    AliasNotFound,
    InvalidName,
    ModelNotFound,
    ModelportError,
    PackageError,
    RegistryError,
    VersionNotFound,
)
from modelport.package import Manifest, Package, check_name
from modelport.registry.refs import DEFAULT_ALIAS, MAX_VERSION, ModelRef
from modelport.serving.catalog import Catalog, SchemaCache, build_models, version_dict
from modelport.serving.pool import LoadedModel, ModelPool

if TYPE_CHECKING:
    from modelport.registry import Registry
    from modelport.registry.invalidations import CacheInvalidation
    from modelport.settings import Settings

__all__ = ["Readiness", "ServingService", "version_number"]

logger = logging.getLogger("modelport.serving")
T = TypeVar("T")
AliasKey = tuple[str, str]
_CATALOG_EVERY = 5  # polls between catalog rebuilds when no alias moved
_INVALIDATION_OVERLAP = 100  # cache invalidation ids read again at each poll (see below)
_VERSION_TEXT = re.compile(r"[1-9][0-9]{0,9}")


@dataclass(frozen=True, slots=True)
class Readiness:
    ready: bool
    # (message, the model it is about; None: the server as a whole)
    why_not: list[tuple[str, str | None]] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)  # versions that cannot load
    serving: dict[str, dict[str, int]] = field(default_factory=dict)  # model -> alias -> version

    @property
    def reasons(self) -> list[str]:
        return [text for text, _ in self.why_not]

    @property
    def failed(self) -> list[str]:
        return [text for text, _ in self.failures]

    def seen_by(self, may_see: Callable[[str], bool]) -> Readiness:
        """The same verdict, telling only of the models ``may_see`` allows."""
        return Readiness(
            self.ready,
            [(text, model) for text, model in self.why_not if model is None or may_see(model)],
            [(text, model) for text, model in self.failures if may_see(model)],
            {model: aliases for model, aliases in self.serving.items() if may_see(model)},
        )


def version_number(text: str) -> int | None:
    """The version number in a URL segment, or ``None`` if it is not one."""
    if _VERSION_TEXT.fullmatch(text) and int(text) <= MAX_VERSION:
        return int(text)
    return None


class ServingService:
    """Loaded model versions, alias resolution and the poller that keeps both current."""

    def __init__(self, registry: Registry, *, poll_seconds: float = 2.0, threads: int = 1) -> None:
        self.registry = registry
        self.poll_seconds = poll_seconds
        self.pool = ModelPool(self._open, threads=threads)
        self._served: dict[AliasKey, int] = {}  # replaced whole, never mutated: lock-free reads
        self._state: dict[AliasKey, int] = {}  # the registry's alias state at the last poll
        self._catalog = Catalog()
        self._schemas = SchemaCache(self._manifest)
        self._synced = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._polls = 0
        self._thread: threading.Thread | None = None
        # told of each enrichment-cache invalidation recorded in the registry (the server's
        # cache registers here when it has feature sources); polled with the aliases
        self.invalidation_listeners: list[Callable[[CacheInvalidation], object]] = []
        self._invalidations_seen: int | None = None
        self._applied: dict[int, None] = {}  # ids applied lately, oldest first
        self._invalidations_floor = 0  # ids up to this one were recorded before we started

    @classmethod
    def from_settings(cls, settings: Settings, registry: Registry | None = None) -> ServingService:
        if registry is None:
            from modelport.registry import Registry

            registry = Registry.from_settings(settings)
        return cls(registry, poll_seconds=settings.alias_poll_seconds)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Start polling in a background thread; the first poll loads every production model."""
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="modelport-poller", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def wait_synced(self, timeout: float | None = None) -> bool:
        return self._synced.wait(timeout)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.sync()
            except Exception:  # the poller must survive anything and try again
                logger.exception("alias poll failed")
            self._stopping.wait(self.poll_seconds)

    # -- the poll --------------------------------------------------------------------------

    def sync(self) -> None:
        """One poll: load what aliases now point to, then switch to it; drop removed aliases."""
        if self.invalidation_listeners:  # first: a server starting learns where to begin
            self._invalidate_caches()
        try:
            state = dict(self.registry.alias_state())
        except Exception as exc:
            logger.warning("the registry cannot be reached, serving what is loaded: %s", exc)
            return
        served = self._served
        switched = False
        for key, version in sorted(state.items()):
            if served.get(key) == version or (key[1] != DEFAULT_ALIAS and key not in served):
                continue  # up to date, or an alias nobody asked this worker for
            try:
                self.pool.load(key[0], version)
            except ModelportError as exc:  # keep serving the previous version, if any
                if not isinstance(exc, PackageError):  # the pool logs load failures itself
                    logger.warning("%s@%s -> version %s not served: %s", *key, version, exc)
                continue
            self._switch(key, version)
            switched = True
        if switched:
            # What is loaded now lives as long as the process: keep the cyclic garbage
            # collector from walking it (a full pass over a loaded server takes tens of ms,
            # straight into request latency).
            gc.freeze()
        gone = [key for key in self._served if key not in state]
        if gone:
            self._forget(gone)
        self._polls += 1
        if state != self._state or self._polls % _CATALOG_EVERY == 1:
            try:
                self._refresh_catalog()
            except ModelportError as exc:  # documentation can wait for the next poll
                logger.warning("the model catalog cannot be refreshed: %s", exc)
        self._state = state
        self._synced.set()

    def _invalidate_caches(self) -> None:
        """Apply the invalidations recorded since the last poll. Ids are read again a little
        way back: on PostgreSQL a lower id can commit after a higher one was seen, and
        applying an invalidation twice is harmless, missing one is not."""
        seen = self._invalidations_seen
        after = None if seen is None else max(0, seen - _INVALIDATION_OVERLAP)
        try:
            latest, found = self.registry.invalidations.since(after)
        except Exception as exc:
            logger.warning("cache invalidations cannot be read, trying again: %s", exc)
            return
        if seen is None:  # nothing is cached yet: what was recorded before does not apply
            self._invalidations_floor = latest
        self._invalidations_seen = max(latest, seen or 0)
        for invalidation in found:
            if invalidation.id in self._applied or invalidation.id <= self._invalidations_floor:
                continue
            logger.info(
                "enrichment cache invalidated by %s: source %s, entity %s",
                invalidation.actor,
                invalidation.source or "(all)",
                invalidation.entity or "(all)",
            )
            for listener in self.invalidation_listeners:
                try:
                    listener(invalidation)
                except Exception:  # one listener's failure must not cost the others theirs
                    logger.exception("applying cache invalidation %s failed", invalidation.id)
            self._applied[invalidation.id] = None
            if len(self._applied) > 4 * _INVALIDATION_OVERLAP:
                del self._applied[next(iter(self._applied))]

    def _switch(self, key: AliasKey, version: int) -> None:
        with self._lock:
            previous = self._served.get(key)
            self._served = {**self._served, key: version}
        logger.info("%s@%s now served by version %s (was %s)", *key, version, previous)
        if previous is not None:
            self._release(key[0], previous)

    def _forget(self, keys: list[AliasKey]) -> None:
        with self._lock:
            dropped = {key: self._served[key] for key in keys}
            self._served = {k: v for k, v in self._served.items() if k not in dropped}
        for (name, _), version in dropped.items():
            self._release(name, version)

    def _release(self, name: str, version: int) -> None:
        """Unload a version no served alias points to; requests holding it finish normally."""
        if (name, version) not in {(n, v) for (n, _), v in self._served.items()}:
            self.pool.unload(name, version)

    def _adopt(self, key: AliasKey, version: int) -> None:
        """Serve an alias first asked for by a request; the poller keeps it current."""
        with self._lock:
            if key not in self._served:
                self._served = {**self._served, key: version}

    def _refresh_catalog(self) -> None:
        models = build_models(self._call(self.registry.list_models), self._schemas)
        if models != self._catalog.models:
            self._catalog = Catalog(models, self._catalog.generation + 1)

    # -- requests --------------------------------------------------------------------------

    def cached(self, name: str, alias: str | None, version: int | None) -> LoadedModel | None:
        """The model answering ``name`` at ``alias`` or ``version`` if it is ready; no I/O."""
        if version is None:
            served = self._served.get((name, alias or DEFAULT_ALIAS))
            if served is None:
                return None
            version = served
        return self.pool.get(name, version)

    def find(self, name: str, alias: str | None, version: int | str | None) -> LoadedModel:
        """Resolve through the registry and load if needed (blocking: call it from a thread).

        ``version`` may be the raw URL segment. Raises :class:`ModelNotFound`,
        :class:`AliasNotFound` or :class:`VersionNotFound` (in that order of precedence),
        or :class:`PackageError` when the version exists but cannot be loaded.
        """
        if not _valid(name, "model name"):
            raise ModelNotFound(f"there is no model {name[:70]!r}")
        if isinstance(version, str):
            number = version_number(version)
            if number is None:
                self._call(self.registry.get_model, name)  # an unknown model comes first
                raise VersionNotFound(f"model {name!r} has no version {version[:20]!r}")
            version = number
        if version is not None:
            return self.pool.load(name, version)
        alias = alias or DEFAULT_ALIAS
        if not _valid(alias, "alias"):
            self._call(self.registry.get_model, name)
            raise AliasNotFound(f"model {name!r} has no alias {alias[:70]!r}")
        served = self._served.get((name, alias))
        if served is not None:
            return self.pool.load(name, served)
        resolved = self._call(self.registry.resolve, ModelRef(name, alias=alias))
        model = self.pool.load(name, int(resolved.version))
        self._adopt((name, alias), model.version)
        return model

    def serving(self) -> dict[AliasKey, int]:
        """Which version answers each alias in this worker."""
        return dict(self._served)

    @property
    def catalog(self) -> Catalog:
        return self._catalog

    def models(self) -> list[dict[str, Any]]:
        """Every registered model with its versions, aliases and what this worker has loaded."""
        return [self._describe(m) for m in self._call(self.registry.list_models)]

    def model(self, name: str) -> dict[str, Any]:
        if not _valid(name, "model name"):
            raise ModelNotFound(f"there is no model {name[:70]!r}")
        return self._describe(self._call(self.registry.get_model, name))

    def readiness(self) -> Readiness:
        """Ready when the registry answers and every production alias seen is loaded."""
        reasons: list[tuple[str, str | None]] = []
        try:
            self.registry.alias_state()
        except Exception as exc:
            reasons.append((f"the registry cannot be reached: {type(exc).__name__}", None))
        if not self._synced.is_set():
            reasons.append(("the production models are still loading", None))
        failures = self.pool.failures()
        failed = [
            (f"{name} version {version} cannot be loaded ({error.code})", name)
            for (name, version), error in sorted(failures.items(), key=lambda item: item[0])
        ]
        for (name, alias), version in sorted(self._state.items()):
            if alias != DEFAULT_ALIAS:
                continue
            served = self._served.get((name, alias))
            if served is not None and self.pool.get(name, served) is not None:
                continue
            if (name, version) not in failures:
                reasons.append((f"{name}: production version {version} is not loaded yet", name))
        serving: dict[str, dict[str, int]] = {}
        for (name, alias), version in sorted(self._served.items()):
            serving.setdefault(name, {})[alias] = version
        return Readiness(ready=not reasons, why_not=reasons, failures=failed, serving=serving)

    # -- helpers ---------------------------------------------------------------------------

    def _describe(self, model: Any) -> dict[str, Any]:
        name = str(model.name)
        loaded = {v: model for (n, v), model in self.pool.loaded().items() if n == name}
        serving = {alias: v for (n, alias), v in sorted(self._served.items()) if n == name}
        return {
            "name": name,
            "created_at": model.created_at,
            "aliases": {str(a): int(v) for a, v in sorted(model.aliases.items())},
            "serving": serving,
            "loaded_versions": sorted(loaded),
            "versions": [
                version_dict(v, loaded=loaded.get(int(v.version))) for v in model.versions
            ],
        }

    def _manifest(self, name: str, version: int) -> Manifest:
        manifest: Manifest = self._call(self.registry.manifest, ModelRef(name, version=version))
        return manifest

    def _open(self, name: str, version: int) -> Package:
        package: Package = self._call(self.registry.open, ModelRef(name, version=version))
        return package

    @staticmethod
    def _call(function: Callable[..., T], *args: Any) -> T:
        """Call the registry; failures that are not modelport's own become RegistryError."""
        try:
            return function(*args)
        except ModelportError:
            raise
        except Exception as exc:
            logger.exception("registry call %s failed", getattr(function, "__name__", function))
            raise RegistryError(f"the registry is unavailable: {type(exc).__name__}") from None


def _valid(text: str, what: str) -> bool:
    try:
        check_name(text, what)
    except InvalidName:
        return False
    return True
