"""Per-region statistics, counted by a dogpile ``ProxyBackend``.

Every backend call passes through :class:`StatsProxy`, which counts hits and
misses (a miss is ``NO_VALUE``; guard keys are not counted), sets, deletes
and errors, per region and per *shape* of key: the model's table and the
kind (``object``, ``listing``, ``page``, ``count``, ``statement``), told from
the stored key with a few string operations (see :func:`shape_of`). It also
times each read (a latency histogram per region, and read time per shape);
the store reports how long each miss's database load took
(:meth:`RegionStats.loaded`), so the stats can say what the cache saved.

Counts accumulate in the process and, when the region lives on Redis, are
pushed in one pipeline every few seconds (never a round trip per operation),
so the figures cover every worker process. Hits, misses and invalidations are
also kept per ten-second bucket for the last hour.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from dogpile.cache.api import NO_VALUE
from dogpile.cache.proxy import ProxyBackend

from .keys import GUARD_PREFIX, STATEMENT_PREFIX

_uncounted: ContextVar[bool] = ContextVar("caching_stats_uncounted", default=False)


@contextmanager
def uncounted() -> Iterator[None]:
    """Reads made inside are not hits or misses: the herd lock's second look, not the app's."""
    token = _uncounted.set(True)
    try:
        yield
    finally:
        _uncounted.reset(token)


FIELDS = ("hits", "misses", "sets", "deletes", "errors", "invalidated_auto", "invalidated_manual")
SHAPE_FIELDS = ("hits", "misses", "sets", "invalidations", "loads", "load_s", "read_s")
BUCKET_SECONDS = 10
SERIES_BUCKETS = 360  # one hour
PUSH_INTERVAL = 2.0
SHAPES_KEPT = 10_000  # keys whose shape a stats proxy remembers (then it starts over)
# upper bounds of the read-latency buckets, in seconds: 50 us to about 6 s, each 1.5 times the last
LATENCY_BOUNDS = tuple(0.00005 * 1.5**i for i in range(30))
_SEP = "|"  # joins a shape field's parts in the shared hash: "m|user|object|hits"

Shape = tuple[str, str]
"""A key's table (empty for statement results, which name none) and its kind."""
STATEMENT: Shape = ("", "statement")
_GUARD: Shape = ("", "guard")  # what a stats proxy files a guard key under: not counted


def shape_of(stored_key: str, prefix: str) -> Shape:
    """The table and kind of a stored key, with string operations only (this runs on every read).

    A model key is stored as ``<prefix><table>@<fingerprint>:<logical key>``;
    anything else in the namespace is a ``FromCache`` result (``sql:<hash>`` or
    an explicit key).
    """
    rest = stored_key[len(prefix) :]
    if rest.startswith(STATEMENT_PREFIX):
        return STATEMENT
    at = rest.find("@")
    if at <= 0 or rest[at + 9 : at + 10] != ":":
        return STATEMENT
    logical = rest[at + 10 :]
    if logical.endswith("[all]"):
        kind = "listing"
    elif logical.endswith("[count]"):
        kind = "count"
    elif "[all][" in logical:
        kind = "page"
    else:
        kind = "object"
    return rest[:at], kind


class RegionStats:
    """Counters of one region, shared through Redis when the region is on Redis."""

    def __init__(
        self, label: str, meta_prefix: str, redis_client: Any | None = None, prefix: str = "caching:"
    ) -> None:
        self.label = label
        self.prefix = prefix  # the region's namespace: what :func:`shape_of` strips
        self._client = redis_client
        self._totals_key = f"{meta_prefix}stats:{label}"
        self._series_key = f"{meta_prefix}series:{label}"
        self._lock = threading.Lock()
        self._reset_local()

        # a forked worker starts from zero, or the parent's counts would be pushed twice
        this = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: (stats := this()) and stats._reset_local(fork=True))

    def _reset_local(self, fork: bool = False) -> None:
        if fork:
            self._lock = threading.Lock()  # another thread may have held it at the fork
        self._clear_counts()
        self._pushed_at = time.monotonic()
        self._bucket_ends = 0.0  # monotonic time at which the current series bucket ends
        self._bucket_fields = ("", "", "")

    def _clear_counts(self) -> None:
        # region fields by name, and shape fields other than reads as ("m", table, kind, field)
        self._local: Counter[Any] = Counter()
        self._series: Counter[str] = Counter()
        # the hot path's, plain lists (a Counter's += costs a read three times more):
        # [hits, misses, read seconds] per shape (the region's totals are their sums),
        # and [hits, misses] of the current series bucket (folded into _series as it ends)
        self._reads: dict[Shape, list[float]] = {}
        self._in_bucket = [0, 0]
        self._latency = [0] * (len(LATENCY_BOUNDS) + 1)

    def _counts_here(self, take: bool) -> tuple[Counter[str], Counter[str]]:
        """This process's counts by shared field name, and its series; ``take`` clears them.
        Hold the lock."""
        counts = Counter({_field_name(k): v for k, v in self._local.items()})
        for (table, kind), (hits, misses, seconds) in self._reads.items():
            for field, value in (("hits", hits), ("misses", misses), ("read_s", seconds)):
                if value:
                    counts[f"m{_SEP}{table}{_SEP}{kind}{_SEP}{field}"] += value
            counts["hits"] += hits
            counts["misses"] += misses
        counts.update({f"lat{_SEP}{i}": n for i, n in enumerate(self._latency) if n})
        series = Counter(self._series)
        series.update(self._bucket_reads())
        if take:
            self._clear_counts()
        return counts, series

    def _bucket_reads(self) -> dict[str, int]:
        """The current bucket's hits and misses by series field, not yet in the series."""
        return {field: n for field, n in zip(self._bucket_fields, self._in_bucket) if n}

    def _bucket(self, now: float) -> tuple[str, str, str]:
        """The series fields of the current ten-second bucket, named once per bucket; when a
        bucket ends, its reads go to the series. Hold the lock."""
        if now >= self._bucket_ends:
            self._series.update(self._bucket_reads())
            self._in_bucket = [0, 0]
            wall = time.time()
            bucket = int(wall) // BUCKET_SECONDS * BUCKET_SECONDS
            self._bucket_ends = now + (bucket + BUCKET_SECONDS - wall)
            self._bucket_fields = (f"h:{bucket}", f"m:{bucket}", f"i:{bucket}")
        return self._bucket_fields

    def reads(self, results: Sequence[tuple[Shape, bool]], seconds: float) -> None:
        """Count one backend read: ``(shape, hit)`` per key read, and how long the read took.
        The hot path: every cache read comes here, so it only adds to lists and ints."""
        if not results:
            return
        now = time.monotonic()
        share = seconds / len(results)
        # bisect_left, but most memory reads fall in the first bucket: no call for them
        latency = 0 if seconds <= LATENCY_BOUNDS[0] else bisect_left(LATENCY_BOUNDS, seconds)
        with self._lock:
            if now >= self._bucket_ends:
                self._bucket(now)
            shapes, in_bucket = self._reads, self._in_bucket
            for shape, hit in results:
                counts = shapes.get(shape)
                if counts is None:
                    counts = shapes[shape] = [0, 0, 0.0]
                miss = 0 if hit else 1
                counts[miss] += 1
                counts[2] += share
                in_bucket[miss] += 1
            self._latency[latency] += 1
            due = self._client is not None and now - self._pushed_at >= PUSH_INTERVAL
        if due:
            self.push()

    def count_shapes(self, field: str, shapes: Iterable[Shape]) -> None:
        """Count sets or invalidations (deletes) per shape; deletes also go to the series.
        Not inside :func:`uncounted` (the dashboard's own sessions, say): not the app's entries."""
        counts = Counter(shapes)
        if not counts or _uncounted.get():
            return
        now = time.monotonic()
        with self._lock:
            invalidations_field = self._bucket(now)[2]
            for (table, kind), count in counts.items():
                self._local["m", table, kind, field] += count
            if field == "invalidations":
                self._series[invalidations_field] += counts.total()

    def loaded(self, stored_key: str, seconds: float) -> None:
        """A miss's database load took ``seconds``: what a hit of that shape saves."""
        if _uncounted.get():
            return
        table, kind = shape_of(stored_key, self.prefix)
        with self._lock:
            self._local["m", table, kind, "loads"] += 1
            self._local["m", table, kind, "load_s"] += seconds

    def add(self, **counts: int) -> None:
        """Count other events (sets, deletes, errors, invalidations)."""
        with self._lock:
            self._local.update(counts)

    def push(self) -> None:
        """Send local counts to Redis; kept for the next push if Redis fails."""
        if self._client is None:
            return
        with self._lock:
            local, series = self._counts_here(take=True)
            self._pushed_at = time.monotonic()
        if not local and not series:
            return
        try:
            pipe = self._client.pipeline(transaction=False)
            for field, count in local.items():
                if isinstance(count, float):
                    pipe.hincrbyfloat(self._totals_key, field, count)
                else:
                    pipe.hincrby(self._totals_key, field, count)
            for field, count in series.items():
                pipe.hincrby(self._series_key, field, count)
            pipe.execute()
        except Exception:
            with self._lock:
                self._local.update(local)  # by field name: counted again at the next push
                self._series.update(series)

    def snapshot(self) -> dict[str, Any]:
        """Totals over all processes: per region, per shape, the read latency, and the last
        hour's hits, misses and invalidations per ten-second bucket."""
        self.push()
        with self._lock:
            totals, series = self._counts_here(take=False)
        if self._client is not None:
            totals.update(self._counts(self._client.hgetall(self._totals_key)))
            series.update(self._shared_series())
        reads = totals["hits"] + totals["misses"]
        return {
            **{field: totals[field] for field in FIELDS},
            "ratio": totals["hits"] / reads if reads else None,
            "buckets": _buckets(series),
            "shapes": _shapes(totals),
            "latency": _latency(totals),
        }

    def _counts(self, raw: Mapping[bytes, bytes]) -> dict[str, float]:
        """The numeric fields of a shared hash (seconds are floats, counts integers); a field
        that is neither (written by something else) is skipped and counted as an error,
        never a failed page."""
        counts: dict[str, float] = {}
        for field, value in raw.items():
            try:
                name = field.decode()
                counts[name] = float(value) if name.endswith("_s") else int(value)
            except (UnicodeDecodeError, ValueError):
                self.add(errors=1)
        return counts

    def _shared_series(self) -> dict[str, int]:
        raw = self._counts(self._client.hgetall(self._series_key))
        oldest = time.time() - SERIES_BUCKETS * BUCKET_SECONDS
        stale = [k for k in raw if _bucket_start(k) < oldest]
        if stale:
            self._client.hdel(self._series_key, *stale)
        return {k: int(v) for k, v in raw.items() if k not in stale}

    def reset(self) -> None:
        with self._lock:
            self._reset_local()
        if self._client is not None:
            self._client.delete(self._totals_key, self._series_key)


def _field_name(field: Any) -> str:
    """A local counter's name in the shared hash: ``hits``, ``m|user|object|hits``, ``lat|3``."""
    return field if isinstance(field, str) else _SEP.join(map(str, field))


def _bucket_start(field: str) -> float:
    """When a series field's bucket starts (``h:<start>``); -inf for a malformed field,
    so that it is dropped as stale."""
    kind, _, start = field.partition(":")
    return int(start) if kind in ("h", "m", "i") and start.isascii() and start.isdigit() else float("-inf")


def _starts(seconds: int, count: int) -> range:
    """The start times of the last ``count`` periods of ``seconds``, oldest first."""
    now = int(time.time()) // seconds * seconds
    return range(now - (count - 1) * seconds, now + 1, seconds)


def _buckets(series: Mapping[str, int]) -> list[dict[str, int]]:
    """Hits, misses and invalidations per ten-second bucket for the last hour, oldest first."""
    return [
        {
            "start": start,
            "hits": series.get(f"h:{start}", 0),
            "misses": series.get(f"m:{start}", 0),
            "invalidations": series.get(f"i:{start}", 0),
        }
        for start in _starts(BUCKET_SECONDS, SERIES_BUCKETS)
    ]


def _shapes(totals: Mapping[str, float]) -> list[dict[str, Any]]:
    """Per table and kind: the counts, the hit ratio, and what the hits saved.

    Each entry is what one SQL statement returns, so a hit avoids one
    statement; it saves the mean time of that shape's database loads less the
    mean time of its cache reads (None until a load of that shape was timed).
    """
    figures: dict[Shape, dict[str, float]] = {}
    for name, value in totals.items():
        parts = name.split(_SEP)
        if len(parts) == 4 and parts[0] == "m" and parts[3] in SHAPE_FIELDS:
            figures.setdefault((parts[1], parts[2]), dict.fromkeys(SHAPE_FIELDS, 0))[parts[3]] = value
    rows = []
    for (table, kind), f in sorted(figures.items()):
        reads = f["hits"] + f["misses"]
        saved = None
        if f["loads"] and reads:
            saved = f["hits"] * (f["load_s"] / f["loads"] - f["read_s"] / reads)
        rows.append(
            {
                "table": table,
                "kind": kind,
                **f,
                "ratio": f["hits"] / reads if reads else None,
                "statements_avoided": f["hits"],
                "load_mean_s": f["load_s"] / f["loads"] if f["loads"] else None,
                "read_mean_s": f["read_s"] / reads if reads else None,
                "saved_s": saved,
            }
        )
    return rows


def _latency(totals: Mapping[str, float]) -> dict[str, Any]:
    """The read-latency histogram (reads per bucket) and its p50 and p99, in seconds:
    the upper bound of the bucket holding that percentile."""
    counts = [int(totals.get(f"lat{_SEP}{i}", 0)) for i in range(len(LATENCY_BOUNDS) + 1)]
    total = sum(counts)

    def percentile(fraction: float) -> float | None:
        if not total:
            return None
        seen = 0
        for bound, count in zip((*LATENCY_BOUNDS, float("inf")), counts):
            seen += count
            if seen >= fraction * total:
                return bound
        return None  # unreachable: the last bucket holds the rest

    return {
        "bounds": LATENCY_BOUNDS,
        "counts": counts,
        "reads": total,
        "p50": percentile(0.5),
        "p99": percentile(0.99),
    }


class StatsProxy(ProxyBackend):
    """Counts what passes to the backend; guard keys (``gen:``) are not reads."""

    def __init__(self, stats: RegionStats) -> None:
        super().__init__()
        self.stats = stats
        self._prefix = stats.prefix
        self._guard_prefix = stats.prefix + GUARD_PREFIX
        # shapes of recently read keys (a hit's key is read again), _GUARD for their guards:
        # one dict lookup per key read, no prefix test
        self._known: dict[str, Shape] = {}

    def _shape(self, key: str) -> Shape:
        """The key's shape, or ``_GUARD`` for a guard key (not a read of an entry)."""
        shape = self._known.get(key)
        if shape is None:
            if len(self._known) >= SHAPES_KEPT:
                self._known.clear()
            shape = _GUARD if key.startswith(self._guard_prefix) else shape_of(key, self._prefix)
            self._known[key] = shape
        return shape

    def _shapes(self, keys: Iterable[str]) -> list[Shape]:
        return [shape for k in keys if (shape := self._shape(k)) is not _GUARD]

    def _count_reads(self, keys: Sequence[str], values: Sequence[Any], seconds: float) -> None:
        if _uncounted.get():
            return
        known = self._known.get
        results = []  # a loop, not a comprehension: most reads are of one key and its guard
        for key, value in zip(keys, values):
            found = known(key) or self._shape(key)
            if found is not _GUARD:
                results.append((found, value is not NO_VALUE and value is not None))
        self.stats.reads(results, seconds)

    def _call(self, method: str, *args: Any) -> Any:
        try:
            return getattr(self.proxied, method)(*args)
        except Exception:
            self.stats.add(errors=1)
            raise

    def _read(self, method: str, keys: Sequence[str], *args: Any) -> Any:
        """Call a read (with ``keys``, or ``*args`` for a single key) and count and time it."""
        started = time.perf_counter()
        values = self._call(method, *(args or (keys,)))
        elapsed = time.perf_counter() - started
        self._count_reads(keys, [values] if args else values, elapsed)
        return values

    def count_sets(self, keys: Iterable[str]) -> None:
        """Count values stored under ``keys`` (stored keys; guards are not counted)."""
        shapes = self._shapes(keys)
        self.stats.add(sets=len(shapes))
        self.stats.count_shapes("sets", shapes)

    def _deleted(self, keys: Iterable[str]) -> None:
        shapes = self._shapes(keys)
        self.stats.add(deletes=len(shapes))
        self.stats.count_shapes("invalidations", shapes)

    def get_serialized_multi(self, keys: Sequence[str]) -> Any:
        started = time.perf_counter()
        try:  # the read every hit makes: called directly, not through _call
            values = self.proxied.get_serialized_multi(keys)
        except Exception:
            self.stats.add(errors=1)
            raise
        self._count_reads(keys, values, time.perf_counter() - started)
        return values

    def get_multi(self, keys: Sequence[str]) -> Any:
        return self._read("get_multi", keys)

    def get_serialized(self, key: str) -> Any:
        return self._read("get_serialized", [key], key)

    def get(self, key: str) -> Any:
        return self._read("get", [key], key)

    def set_serialized_multi(self, mapping: Mapping[str, bytes]) -> None:
        self._call("set_serialized_multi", mapping)
        self.count_sets(mapping)

    def set_multi(self, mapping: Mapping[str, Any]) -> None:
        self._call("set_multi", mapping)
        self.count_sets(mapping)

    def set_serialized(self, key: str, value: bytes) -> None:
        self._call("set_serialized", key, value)
        self.count_sets([key])

    def set(self, key: str, value: Any) -> None:
        self._call("set", key, value)
        self.count_sets([key])

    def delete_multi(self, keys: Sequence[str]) -> None:
        self._call("delete_multi", keys)
        self._deleted(keys)

    def delete(self, key: str) -> None:
        self._call("delete", key)
        self._deleted([key])
