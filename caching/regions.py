"""One cache region as one record: the dogpile region, its guarded store, its
stats, its namespace and (on Redis) its client, built from one config entry.

``CACHE_REGIONS`` maps a label to a dogpile region configuration. Besides
dogpile's ``backend``, ``expiration_time`` and ``arguments``, a region takes
``wrap`` (ProxyBackend classes or instances) and ``namespace`` (the prefix of
every stored key, ``"caching:"`` by default).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from dogpile.cache.api import NO_VALUE, CacheBackend
from dogpile.cache.backends.redis import RedisBackend

from . import scan
from .namespace import Namespace
from .redis_claims import claims_for
from .redis_proxy import RedisProxy, get_many
from .serialize import Codec, PlainRegion, parse_stored
from .stats import RegionStats, StatsProxy
from .store import Store

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


@dataclass(frozen=True, eq=False)
class Region:
    """Everything one configured region is made of."""

    label: str
    dogpile: PlainRegion  # wrapped in the stats proxy (and, on Redis, the Redis proxy)
    store: Store
    stats: RegionStats
    namespace: Namespace
    client: Any | None  # the Redis client of a region on Redis, else None

    @property
    def backend(self) -> CacheBackend:
        """The backend under the proxies: what it is, not what it is wrapped in."""
        return scan.actual_backend(self.dogpile)

    def keys_matching(self, pattern: str) -> Iterator[list[str]]:
        """Logical keys matching the logical ``pattern`` (``*``, ``?``), in batches."""
        for _, batch in self.walk(pattern, 0, scan.BATCH):
            if batch:
                yield batch

    def walk(self, pattern: str, cursor: int = 0, step: int = scan.BATCH) -> Iterator[tuple[int, list[str]]]:
        """Logical keys matching ``pattern`` from ``cursor`` on, about ``step`` stored keys
        examined at a time, each batch with the cursor after it (0 after the last).

        A caller stops whenever it has seen enough: a page of a key browser never
        examines every key (``SCAN`` on Redis, never ``KEYS``)."""
        wanted = scan.matcher(pattern).match
        unmangle = self.namespace.unmangle
        for after, stored in scan.walk(self.dogpile, self.namespace.stored_pattern(pattern), cursor, step):
            found = [key for key in map(unmangle, stored) if key is not None and wanted(key)]
            yield after, found

    def peek(self, keys: Sequence[str], ttl: bool = False) -> list[Stored | None]:
        """The values of ``keys`` as stored (None when absent), read straight from the
        backend: not hits nor misses, never unpickled. With ``ttl``, also each key's
        time to live on Redis (one more round trip)."""
        if not keys:
            return []
        stored = [self.namespace.mangle(k) for k in keys]
        backend = self.backend
        ttls: list[float | None] = [None] * len(keys)
        if isinstance(backend, RedisBackend):
            raw_values = get_many(backend.reader_client, stored)
            if ttl:
                pipe = backend.reader_client.pipeline(transaction=False)
                for key in stored:
                    pipe.pttl(key)
                ttls = [t / 1000 if t >= 0 else None for t in pipe.execute()]
        else:
            raw_values = backend.get_serialized_multi(stored)
        found: list[Stored | None] = []
        for raw, seconds in zip(raw_values, ttls):
            if raw is NO_VALUE or raw is None:
                found.append(None)
                continue
            parsed = parse_stored(self.dogpile.deserializer, raw)
            created, value = (None, None) if parsed is None else (parsed[0], parsed[2])
            found.append(Stored(len(raw), created, value, seconds))
        return found


@dataclass(frozen=True)
class Stored:
    """One stored value, as :meth:`Region.peek` reads it."""

    size: int  # bytes, as stored
    created: float | None  # when it was stored; None: not a value this cache wrote
    value: Any  # ``[tokens, data]`` for an entry, a token for a guard; None if not ours
    ttl: float | None  # seconds until Redis drops it (None elsewhere, or no expiry)


def build_region(
    label: str, config: dict[str, Any], codec: Codec, model_for_table: Callable[[str], type | None]
) -> Region:
    """The region a ``CACHE_REGIONS`` entry describes (unknown settings are an error)."""
    config = dict(config)
    namespace = Namespace(config.pop("namespace", DEFAULT_NAMESPACE), model_for_table)
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
        serializer=codec.dumps,
        deserializer=codec.loads,
    )
    region.configure(backend, expiration_time=expiration_time, arguments=arguments)
    client = getattr(region.backend, "writer_client", None)
    claims = claims_for(region.backend, proxied=bool(wrap))
    stats = RegionStats(label, namespace.meta_prefix, client, namespace.prefix)
    counting = StatsProxy(stats)
    proxies = [*wrap, counting]
    if isinstance(region.backend, RedisBackend):
        proxies.append(RedisProxy())  # innermost: UNLINK, and per-slot commands on a cluster
    for proxy in reversed(proxies):
        region.wrap(proxy)
    store = Store(
        label,
        region,
        namespace.stored_pattern("*"),
        on_bad_entry=lambda: stats.add(errors=1),
        on_load=lambda key, seconds: stats.loaded(namespace.mangle(key), seconds),
        claims=claims,
        on_save=counting.count_sets,
    )
    return Region(label, region, store, stats, namespace, client)
