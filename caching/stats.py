"""Per-region statistics, counted by a dogpile ``ProxyBackend``.

Every backend call passes through :class:`StatsProxy`, which counts hits and
misses (a miss is ``NO_VALUE``; guard keys are not counted), sets, deletes
and errors. Counts accumulate in the process and, when the region lives on
Redis, are pushed in one pipeline every few seconds (never a round trip per
operation), so the figures cover every worker process. A short time series
of hits and misses per ten seconds feeds the hit-ratio chart.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from dogpile.cache.api import NO_VALUE
from dogpile.cache.proxy import ProxyBackend

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
BUCKET_SECONDS = 10
SERIES_BUCKETS = 360  # one hour
PUSH_INTERVAL = 2.0


class RegionStats:
    """Counters of one region, shared through Redis when the region is on Redis."""

    def __init__(self, label: str, meta_prefix: str, redis_client: Any | None = None) -> None:
        self.label = label
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
        self._local: Counter[str] = Counter()
        self._series: Counter[str] = Counter()
        self._pushed_at = time.monotonic()
        self._bucket_ends = 0.0  # monotonic time at which the current series bucket ends
        self._bucket_fields = ("", "")

    def reads(self, hits: int, misses: int) -> None:
        """Count hits and misses: the hot path, every cache read comes here."""
        now = time.monotonic()
        if now >= self._bucket_ends:  # a new ten-second bucket: name its fields once
            wall = time.time()
            bucket = int(wall) // BUCKET_SECONDS * BUCKET_SECONDS
            self._bucket_ends = now + (bucket + BUCKET_SECONDS - wall)
            self._bucket_fields = (f"h:{bucket}", f"m:{bucket}")
        hits_field, misses_field = self._bucket_fields
        with self._lock:
            local, series = self._local, self._series
            if hits:
                local["hits"] += hits
                series[hits_field] += hits
            if misses:
                local["misses"] += misses
                series[misses_field] += misses
            due = self._client is not None and now - self._pushed_at >= PUSH_INTERVAL
        if due:
            self.push()

    def add(self, **counts: int) -> None:
        """Count other events (sets, deletes, errors, invalidations)."""
        with self._lock:
            self._local.update(counts)

    def push(self) -> None:
        """Send local counts to Redis; kept for the next push if Redis fails."""
        if self._client is None:
            return
        with self._lock:
            local, series = self._local, self._series
            self._local, self._series = Counter(), Counter()
            self._pushed_at = time.monotonic()
        if not local and not series:
            return
        try:
            pipe = self._client.pipeline(transaction=False)
            for field, count in local.items():
                pipe.hincrby(self._totals_key, field, count)
            for field, count in series.items():
                pipe.hincrby(self._series_key, field, count)
            pipe.execute()
        except Exception:
            with self._lock:
                self._local.update(local)
                self._series.update(series)

    def snapshot(self) -> dict[str, Any]:
        """Totals over all processes, the hit ratio and the hit-ratio series."""
        self.push()
        totals: Counter[str] = Counter()
        series: Counter[str] = Counter()
        with self._lock:
            totals.update(self._local)
            series.update(self._series)
        if self._client is not None:
            totals.update(self._counts(self._client.hgetall(self._totals_key)))
            series.update(self._shared_series())
        reads = totals["hits"] + totals["misses"]
        return {
            **{field: totals[field] for field in FIELDS},
            "ratio": totals["hits"] / reads if reads else None,
            "series": _ratio_series(series),
        }

    def _counts(self, raw: Mapping[bytes, bytes]) -> dict[str, int]:
        """The integer fields of a shared hash; a field that is not one (written by
        something else) is skipped and counted as an error, never a failed page."""
        counts = {}
        for field, value in raw.items():
            try:
                counts[field.decode()] = int(value)
            except (UnicodeDecodeError, ValueError):
                self.add(errors=1)
        return counts

    def _shared_series(self) -> dict[str, int]:
        raw = self._counts(self._client.hgetall(self._series_key))
        oldest = time.time() - SERIES_BUCKETS * BUCKET_SECONDS
        stale = [k for k in raw if _bucket_start(k) < oldest]
        if stale:
            self._client.hdel(self._series_key, *stale)
        return {k: v for k, v in raw.items() if k not in stale}

    def reset(self) -> None:
        with self._lock:
            self._reset_local()
        if self._client is not None:
            self._client.delete(self._totals_key, self._series_key)


def _bucket_start(field: str) -> float:
    """When a series field's bucket starts (``h:<start>``); -inf for a malformed field,
    so that it is dropped as stale."""
    kind, _, start = field.partition(":")
    return int(start) if kind in ("h", "m") and start.isascii() and start.isdigit() else float("-inf")


def _ratio_series(series: Mapping[str, int]) -> list[tuple[int, float | None, int]]:
    """``(bucket start, hit ratio, reads)`` for the last hour, oldest first."""
    now = int(time.time()) // BUCKET_SECONDS * BUCKET_SECONDS
    points = []
    for start in range(now - (SERIES_BUCKETS - 1) * BUCKET_SECONDS, now + 1, BUCKET_SECONDS):
        hits, misses = series.get(f"h:{start}", 0), series.get(f"m:{start}", 0)
        reads = hits + misses
        points.append((start, hits / reads if reads else None, reads))
    return points


class StatsProxy(ProxyBackend):
    """Counts what passes to the backend; guard keys (``gen:``) are not reads."""

    def __init__(self, stats: RegionStats, guard_prefix: str) -> None:
        super().__init__()
        self.stats = stats
        self._guard_prefix = guard_prefix

    def _count_reads(self, keys: Sequence[str], values: Sequence[Any]) -> None:
        if _uncounted.get():
            return
        hits = misses = 0
        guard = self._guard_prefix
        for key, value in zip(keys, values):
            if not key.startswith(guard):
                if value is NO_VALUE or value is None:
                    misses += 1
                else:
                    hits += 1
        self.stats.reads(hits, misses)

    def _call(self, method: str, *args: Any) -> Any:
        try:
            return getattr(self.proxied, method)(*args)
        except Exception:
            self.stats.add(errors=1)
            raise

    def _values(self, keys: Iterable[str]) -> list[str]:
        return [k for k in keys if not k.startswith(self._guard_prefix)]

    def get_serialized_multi(self, keys: Sequence[str]) -> Any:
        try:  # the read every hit makes: called directly, not through _call
            values = self.proxied.get_serialized_multi(keys)
        except Exception:
            self.stats.add(errors=1)
            raise
        self._count_reads(keys, values)
        return values

    def get_multi(self, keys: Sequence[str]) -> Any:
        values = self._call("get_multi", keys)
        self._count_reads(keys, values)
        return values

    def get_serialized(self, key: str) -> Any:
        value = self._call("get_serialized", key)
        self._count_reads([key], [value])
        return value

    def get(self, key: str) -> Any:
        value = self._call("get", key)
        self._count_reads([key], [value])
        return value

    def set_serialized_multi(self, mapping: Mapping[str, bytes]) -> None:
        self._call("set_serialized_multi", mapping)
        self.stats.add(sets=len(self._values(mapping)))

    def set_multi(self, mapping: Mapping[str, Any]) -> None:
        self._call("set_multi", mapping)
        self.stats.add(sets=len(self._values(mapping)))

    def set_serialized(self, key: str, value: bytes) -> None:
        self._call("set_serialized", key, value)
        self.stats.add(sets=len(self._values([key])))

    def set(self, key: str, value: Any) -> None:
        self._call("set", key, value)
        self.stats.add(sets=len(self._values([key])))

    def delete_multi(self, keys: Sequence[str]) -> None:
        self._call("delete_multi", keys)
        self.stats.add(deletes=len(self._values(keys)))

    def delete(self, key: str) -> None:
        self._call("delete", key)
        self.stats.add(deletes=len(self._values([key])))
