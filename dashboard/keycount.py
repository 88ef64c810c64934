"""How many keys a region holds, at a cost that does not grow with their number.

The front page shows it on every view, so it must not walk the namespace.
The memory backend is one dict per region: its length is exact. On Redis,
``DBSIZE`` counts the whole database, which other namespaces and programs may
share: a small database (up to ``EXACT_LIMIT`` keys) is walked with ``SCAN``
for an exact count; a larger one is estimated by sampling ``SAMPLES`` keys
with ``RANDOMKEY`` (one pipeline) and scaling ``DBSIZE`` by the share of them
in the namespace. The estimate is labelled as one; its standard error is at
most half of ``DBSIZE / sqrt(SAMPLES)``, about 6% of the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dogpile.cache.backends.memory import MemoryBackend

from caching import CachingState

from .browse import count_matching

EXACT_LIMIT = 1000
SAMPLES = 64


@dataclass(frozen=True)
class KeyCount:
    keys: int
    exact: bool
    how: str  # "counted", "scanned" or "sampled"


def key_count(state: CachingState, label: str) -> KeyCount | None:
    """The region's key count (guards included), or None for a backend that cannot tell."""
    region = state.region(label)
    if isinstance(region.backend, MemoryBackend):
        return KeyCount(len(region.backend._cache), True, "counted")
    client = region.client
    if client is None:
        return None
    size = client.dbsize()
    if size <= EXACT_LIMIT:
        return KeyCount(count_matching(state, label, "*"), True, "scanned")
    return KeyCount(_sampled(client, size, region.namespace.prefix), False, "sampled")


def _sampled(client: Any, size: int, prefix: str) -> int:
    if hasattr(client, "get_nodes"):  # a cluster pipelines keyed commands only
        sampled = [client.randomkey() for _ in range(SAMPLES)]
    else:
        pipe = client.pipeline(transaction=False)
        for _ in range(SAMPLES):
            pipe.randomkey()
        sampled = pipe.execute()
    sampled = [k for k in sampled if k is not None]
    if not sampled:
        return 0
    mine = sum(1 for k in sampled if k.decode(errors="replace").startswith(prefix))
    return round(size * mine / len(sampled))
