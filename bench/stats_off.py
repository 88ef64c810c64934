"""Taking the library's stats proxy out of a region, to price the stats it keeps.

The library wraps every region's backend in a ``caching.stats.StatsProxy``
(innermost). Timing the same hit with and without it, in the same run, is
the only honest measure of what the stats cost; the proxy is found by its
class name, so a library without one simply has no such case.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from dogpile.cache.proxy import ProxyBackend
from dogpile.cache.region import CacheRegion

STATS_PROXY = "StatsProxy"


def _find(region: CacheRegion) -> tuple[Any, ProxyBackend] | None:
    """(the region or proxy holding the stats proxy, the stats proxy), if there is one."""
    holder: Any = region
    backend = region.backend
    while isinstance(backend, ProxyBackend):
        if type(backend).__name__ == STATS_PROXY:
            return holder, backend
        holder, backend = backend, backend.proxied
    return None


def has_stats(region: CacheRegion) -> bool:
    return _find(region) is not None


@contextlib.contextmanager
def stats_off(region: CacheRegion) -> Iterator[None]:
    """The region without its stats proxy, put back on exit."""
    found = _find(region)
    if found is None:
        yield
        return
    holder, proxy = found
    attribute = "backend" if holder is region else "proxied"
    setattr(holder, attribute, proxy.proxied)
    try:
        yield
    finally:
        setattr(holder, attribute, proxy)
