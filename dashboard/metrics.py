"""The cache's figures in Prometheus's text format, for ``<dashboard>/metrics``.

A custom collector reads each region's stats snapshot when scraped. On
Redis that snapshot is the total over every process sharing the region (see
:class:`caching.stats.RegionStats`), so any gunicorn worker answers the same
figures and no ``PROMETHEUS_MULTIPROC_DIR`` is needed; a memory region's
figures are its own process's, as its cache is.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from caching import CachingState

from .keycount import key_count

CONTENT_TYPE = CONTENT_TYPE_LATEST
SHAPE_LABELS = ["region", "table", "kind"]
SHAPE_COUNTERS = {
    "hits": "Cache hits",
    "misses": "Cache misses",
    "sets": "Entries stored",
    "invalidations": "Entries deleted by invalidations and flushes",
    "loads": "Database loads on a miss",
}
REGION_COUNTERS = {
    "deletes": "Keys deleted (guards not counted)",
    "errors": "Backend errors and malformed entries",
}


class CacheCollector(Collector):
    """Every region's counters, per region and per table and kind of key."""

    def __init__(self, state: CachingState) -> None:
        self.state = state

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily | HistogramMetricFamily]:
        figures = {label: region.stats.snapshot() for label, region in self.state.regions.items()}
        for field, text in SHAPE_COUNTERS.items():
            family = CounterMetricFamily(f"cache_{field}", text, labels=SHAPE_LABELS)
            for label, snapshot in figures.items():
                for shape in snapshot["shapes"]:
                    family.add_metric([label, shape["table"], shape["kind"]], shape[field])
            yield family
        seconds = {
            "load": ("cache_db_load_seconds", "Time spent loading misses from the database"),
            "read": ("cache_read_seconds", "Time spent reading the cache"),
        }
        for prefix, (name, text) in seconds.items():
            family = CounterMetricFamily(name, text, labels=SHAPE_LABELS)
            for label, snapshot in figures.items():
                for shape in snapshot["shapes"]:
                    family.add_metric([label, shape["table"], shape["kind"]], shape[f"{prefix}_s"])
            yield family
        for field, text in REGION_COUNTERS.items():
            family = CounterMetricFamily(f"cache_{field}", text, labels=["region"])
            for label, snapshot in figures.items():
                family.add_metric([label], snapshot[field])
            yield family
        invalidated = CounterMetricFamily(
            "cache_invalidated_keys", "Keys invalidated, by trigger", labels=["region", "trigger"]
        )
        latency = HistogramMetricFamily(
            "cache_read_latency_seconds", "Latency of one backend read", labels=["region"]
        )
        keys = GaugeMetricFamily("cache_keys", "Keys in the region (sampled when large)", labels=["region"])
        for label, snapshot in figures.items():
            for trigger in ("auto", "manual"):
                invalidated.add_metric([label, trigger], snapshot[f"invalidated_{trigger}"])
            histogram = snapshot["latency"]
            cumulative, buckets = 0, []
            for bound, count in zip((*histogram["bounds"], float("inf")), histogram["counts"]):
                cumulative += count
                buckets.append((_le(bound), cumulative))
            latency.add_metric([label], buckets, sum_value=sum(s["read_s"] for s in snapshot["shapes"]))
            count = key_count(self.state, label)
            if count is not None:
                keys.add_metric([label], count.keys)
        yield from (invalidated, latency, keys)


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else f"{bound:.6g}"


def exposition(state: CachingState) -> bytes:
    """The text a scrape gets."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(CacheCollector(state))
    return generate_latest(registry)
