"""The Flask extension: regions from config, and the one flush path.

``CACHE_REGIONS`` maps a label to a dogpile region configuration::

    app.config["CACHE_REGIONS"] = {
        "default": {"backend": "dogpile.cache.memory", "expiration_time": 60},
        "shared": {"backend": "dogpile.cache.redis", "expiration_time": 300,
                   "arguments": {"url": "redis://127.0.0.1:6379/0"}},
    }

Besides dogpile's ``backend``, ``expiration_time`` and ``arguments``, a
region takes ``wrap`` (ProxyBackend classes or instances) and
``namespace`` (the prefix of every stored key, ``"caching:"`` by default).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from functools import partial
from typing import Any

from dogpile.cache.backends.memory import MemoryBackend
from dogpile.cache.backends.redis import RedisBackend
from dogpile.cache.region import CacheRegion
from flask import Flask, current_app, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import inspect

from . import invalidation, keys, query, relationships, scan
from .changes import Change
from .log import InvalidationLog
from .mapping import info_for, model_for_table
from .namespace import Namespace, matcher
from .redis_proxy import RedisProxy
from .serialize import Codec, EntityRef, PlainRegion
from .signals import cache_invalidated
from .stats import RegionStats, StatsProxy
from .store import Store

log = logging.getLogger("caching")

DEFAULT_REGIONS = {"default": {"backend": "dogpile.cache.memory", "expiration_time": 300}}
DEFAULT_NAMESPACE = "caching:"
REDIS_DEFAULTS = {
    # an unreachable Redis must cost a request little: fail fast, read the database
    "socket_timeout": 1.0,
    "socket_connect_timeout": 1.0,
    # the herd lock: one loader per key across processes; a dead holder's lock expires
    "distributed_lock": True,
    "thread_local_lock": False,
    "lock_timeout": 10,
    "lock_sleep": 0.01,
    "lock_blocking_timeout": 5,
}


class Caching:
    """Flask extension: ``caching.init_app(app, db)``."""

    def __init__(self, app: Flask | None = None, db: SQLAlchemy | None = None) -> None:
        if app is not None:
            self.init_app(app, db)

    def init_app(self, app: Flask, db: SQLAlchemy | None) -> None:
        if db is None:
            raise TypeError("Caching.init_app needs the Flask-SQLAlchemy instance: init_app(app, db)")
        state = app.extensions["caching"] = CachingState(app, db)
        invalidation.listen_on_sessions()
        with app.app_context():  # db.init_app(app) must have run: the engines are the app's
            engines = list(db.engines.values())
        for engine in engines:
            invalidation.Invalidator(state).listen(engine)
        query.install(db)
        relationships.install(db)
        if int(os.environ.get("WEB_CONCURRENCY", "1") or 1) > 1:
            state.warn_if_process_local()
        app.before_request(state.check_process_model)

    @property
    def regions(self) -> dict[str, CacheRegion]:
        """The current app's dogpile regions, by label."""
        return current_state().regions

    def state(self) -> CachingState:
        return current_state()


def current_state() -> CachingState:
    """The caching state of the current Flask app."""
    try:
        return current_app.extensions["caching"]
    except KeyError:
        raise RuntimeError("caching is not set up on this app: call Caching().init_app(app, db)") from None


def state_or_none() -> CachingState | None:
    """The current app's caching state, or None outside an app or without caching."""
    try:
        return current_app.extensions.get("caching")
    except RuntimeError:
        return None


class CachingState:
    """Per-app regions, their stats, and the one flush path every invalidation takes."""

    def __init__(self, app: Flask, db: SQLAlchemy) -> None:
        self.app = app
        self.db = db
        # CACHE_ENABLED = False: reads go to the database (to measure, or to rule the cache out)
        self.enabled = bool(app.config.get("CACHE_ENABLED", True))
        self.codec = Codec(app.config.get("SECRET_KEY"), _entity_ref)
        config = app.config.get("CACHE_REGIONS") or DEFAULT_REGIONS
        self.namespaces: dict[str, Namespace] = {}
        self.regions: dict[str, CacheRegion] = {}
        self.stats: dict[str, RegionStats] = {}
        self.stores: dict[str, Store] = {}
        for label, region_config in config.items():
            self.regions[label] = self._make_region(label, dict(region_config))
            self.stores[label] = Store(
                label,
                self.regions[label],
                self.namespaces[label].stored_pattern("*"),
                on_bad_entry=partial(self.stats[label].add, errors=1),
                on_load=partial(self._loaded, label),
            )
        self.default_label = "default" if "default" in self.regions else next(iter(self.regions))
        self.log: InvalidationLog | None = None
        self._process_model_checked = False
        self._models_by_path: dict[str, type] = {}

    def _make_region(self, label: str, config: dict[str, Any]) -> CacheRegion:
        namespace = self.namespaces[label] = Namespace(config.pop("namespace", DEFAULT_NAMESPACE))
        backend = config.pop("backend")
        arguments = dict(config.pop("arguments", {}))
        expiration_time = config.pop("expiration_time", None)
        wrap = list(config.pop("wrap", ()))
        if config:
            raise ValueError(f"cache region {label!r}: unknown settings {sorted(config)}")
        if backend in ("dogpile.cache.redis", "dogpile.cache.redis_cluster"):
            for name, value in REDIS_DEFAULTS.items():
                arguments.setdefault(name, value)
            if backend == "dogpile.cache.redis_cluster":  # its client takes timeouts from here only
                timeouts = {k: arguments[k] for k in ("socket_timeout", "socket_connect_timeout")}
                arguments["connection_kwargs"] = {**timeouts, **arguments.get("connection_kwargs", {})}
            if expiration_time:  # let Redis reclaim what dogpile considers expired
                arguments.setdefault("redis_expiration_time", int(expiration_time) * 2 + 60)
        region = PlainRegion(
            name=label,
            key_mangler=namespace.mangle,
            serializer=self.codec.dumps,
            deserializer=self.codec.loads,
        )
        region.configure(backend, expiration_time=expiration_time, arguments=arguments)
        client = getattr(region.backend, "writer_client", None)
        self.stats[label] = RegionStats(label, namespace.meta_prefix, client, namespace.prefix)
        proxies = [*wrap, StatsProxy(self.stats[label])]
        if isinstance(region.backend, RedisBackend):
            proxies.append(RedisProxy())  # innermost: UNLINK, and per-slot commands on a cluster
        for proxy in reversed(proxies):
            region.wrap(proxy)
        return region

    def _loaded(self, label: str, key: str, seconds: float) -> None:
        """A miss of ``key`` took ``seconds`` to load from the database (for the stats)."""
        self.stats[label].loaded(self.namespaces[label].mangle(key), seconds)

    # -- several processes ----------------------------------------------------

    def check_process_model(self) -> None:
        """On the first request: warn if several processes serve the app with a process-local cache."""
        if not self._process_model_checked:
            self._process_model_checked = True
            if request.environ.get("wsgi.multiprocess"):
                self.warn_if_process_local()

    def warn_if_process_local(self) -> None:
        local = [
            label for label, r in self.regions.items() if isinstance(scan.actual_backend(r), MemoryBackend)
        ]
        if local:
            log.warning(
                "cache regions %s use the memory backend while several processes serve this app: "
                "each process has its own cache and a commit in one does not invalidate the others; "
                "use Redis (dogpile.cache.redis) for them",
                ", ".join(local),
            )

    # -- lookups ----------------------------------------------------------

    def store(self, label: str) -> Store:
        try:
            return self.stores[label]
        except KeyError:
            raise ValueError(
                f"unknown cache region {label!r}; configured: {', '.join(self.regions)}"
            ) from None

    def label_for(self, model: type) -> str:
        return getattr(model, "cache_label", None) or self.default_label

    def redis_client(self, label: str) -> Any | None:
        """The Redis client of a region on Redis, else None."""
        backend = scan.actual_backend(self.regions[label])
        return getattr(backend, "writer_client", None)

    def model_by_path(self, class_path: str) -> type | None:
        """The mapped class named ``module.QualName`` in this app's models."""
        if class_path not in self._models_by_path:
            for mapper in self.db.Model.registry.mappers:
                cls = mapper.class_
                self._models_by_path[f"{cls.__module__}.{cls.__qualname__}"] = cls
        return self._models_by_path.get(class_path)

    def enable_log(self, size: int = 1000) -> InvalidationLog:
        """Keep an invalidation log, in Redis when the log's region is on Redis."""
        if self.log is None:
            label = self.app.config.get("CACHE_LOG_REGION") or self.default_label
            self.log = InvalidationLog(
                f"{self.namespaces[label].meta_prefix}log",
                self.redis_client(label),
                size,
                on_bad_entry=lambda: self.stats[label].add(errors=1),
            )
            self.log.connect(self.app)
        return self.log

    # -- the flush path -----------------------------------------------------

    def flush(
        self,
        label: str,
        logical_keys: Iterable[str] = (),
        *,
        patterns: Iterable[str] = (),
        model: type | None = None,
        pk: Any = None,
        operation: str = "manual",
        announce: bool = True,
    ) -> list[str]:
        """Delete keys, and every key matching the logical ``patterns``, and announce it.

        Manual flushes from code or the dashboard, and whole-table flushes,
        all take this path: the same deletion, stats and signal.
        """
        store = self.store(label)
        patterns = tuple(patterns)
        flushed = list(dict.fromkeys(logical_keys))
        store.delete(keys.with_guards(flushed))
        for pattern in patterns:
            for batch in self.matching(label, pattern):
                if store.delete(keys.with_guards(batch)):
                    flushed.extend(batch)
        if announce:
            self.stats[label].add(invalidated_manual=len(flushed))
            self._announce(Change(model, label, pk, operation, set(), dict.fromkeys(flushed)), patterns)
        return flushed

    def matching(self, label: str, pattern: str) -> Iterator[list[str]]:
        """Logical keys matching ``pattern``, in batches."""
        namespace = self.namespaces[label]
        wanted = matcher(pattern).match
        batch: list[str] = []
        for stored in scan.iter_keys(self.regions[label], namespace.stored_pattern(pattern)):
            key = namespace.unmangle(stored)
            if key is not None and wanted(key):
                batch.append(key)
                if len(batch) >= scan.BATCH:
                    yield batch
                    batch = []
        if batch:
            yield batch

    def apply(
        self,
        changes: Iterable[Change],
        tables: Iterable[str],
        whole_tables: Iterable[str],
        announce: bool = True,
    ) -> None:
        """After a commit: delete what it made stale, one call per region, then announce it
        (unless it was announced already, when the same commit is delivered twice)."""
        changes = list(changes)
        doomed: dict[str, dict[str, None]] = {label: {} for label in self.regions}
        for change in changes:
            self.store(change.label)  # an unknown region is an error, not a silent skip
            doomed[change.label].update(dict.fromkeys(change.keys))
        # statement results depend on table generations, whatever their region
        table_guards = [keys.table_guard_key(t) for t in sorted(set(tables))]
        for label, region_keys in doomed.items():
            self.stores[label].delete(keys.with_guards(region_keys) + table_guards)
            if announce:
                self.stats[label].add(invalidated_auto=len(region_keys))
        for change in changes if announce else ():
            self._announce(change)
        for table in sorted(set(whole_tables)):
            model = model_for_table(table)
            label = self.label_for(model) if model else self.default_label
            # guards too: a reader may hold a token whose value is not cached
            patterns = (f"{table}.*", f"{keys.GUARD_PREFIX}{table}.*")
            try:
                self.flush(label, patterns=patterns, model=model, operation="bulk", announce=announce)
            except Exception:  # the keys could not even be listed: flush everything once back
                self.stores[label].lose_track()

    def _announce(self, change: Change, patterns: tuple[str, ...] = ()) -> None:
        """Send ``cache_invalidated``; a failing receiver must not fail the commit."""
        try:
            cache_invalidated.send(
                self.app,
                model=change.model,
                pk=change.pk,
                operation=change.operation,
                columns=tuple(sorted(change.columns)),
                keys=tuple(change.keys),
                region=change.label,
                patterns=patterns,
            )
        except Exception:
            log.exception("a cache_invalidated receiver failed for %s", list(change.keys)[:10])


def _entity_ref(value: Any) -> EntityRef | None:
    """Encode a mapped instance inside a statement result as plain data."""
    state = inspect(value, raiseerr=False)
    mapper = getattr(state, "mapper", None)
    if mapper is None:
        return None
    info = info_for(mapper.class_)
    loaded = {k: state.dict[k] for k in info.keys if k in state.dict}
    return EntityRef(info.class_path, info.fingerprint, loaded)
