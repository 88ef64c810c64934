"""Listing and deleting a region's keys by glob pattern, per backend.

The memory backend is a dict; Redis is walked with ``SCAN`` (never
``KEYS``) and emptied with batched ``UNLINK``. Patterns follow Redis glob
syntax (``*``, ``?``, ``[...]``, backslash escapes) on both, and apply to
the keys as stored, namespace included.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from dogpile.cache.api import CacheBackend
from dogpile.cache.backends.memory import MemoryBackend
from dogpile.cache.backends.redis import RedisBackend
from dogpile.cache.proxy import ProxyBackend
from dogpile.cache.region import CacheRegion

BATCH = 500
_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")


class UnsupportedBackendError(TypeError):
    """The region's backend cannot list its keys."""


def escape(literal: str) -> str:
    """Escape a literal for use inside a glob pattern."""
    return _GLOB_SPECIAL.sub(r"\\\1", literal)


def actual_backend(region: CacheRegion) -> CacheBackend:
    """The backend under any ProxyBackend wrappers."""
    backend = region.backend
    while isinstance(backend, ProxyBackend):
        backend = backend.proxied
    return backend


def can_scan(region: CacheRegion) -> bool:
    return isinstance(actual_backend(region), (MemoryBackend, RedisBackend))


def glob_to_regex(pattern: str) -> re.Pattern[str]:
    """Compile a Redis glob pattern to an anchored regular expression."""
    out = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if char == "*":
            out.append(".*")
        elif char == "?":
            out.append(".")
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1 : end]
                negate = body.startswith("^")
                body = body[1:] if negate else body
                out.append("[" + ("^" if negate else "") + body.replace("\\", "\\\\") + "]")
                i = end
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out) + r"\Z", re.DOTALL)


def iter_keys(region: CacheRegion, pattern: str) -> Iterator[str]:
    """Stored keys matching ``pattern``, without loading their values."""
    backend = actual_backend(region)
    if isinstance(backend, RedisBackend):
        for key in backend.reader_client.scan_iter(match=pattern, count=BATCH):
            yield key.decode() if isinstance(key, bytes) else key
    elif isinstance(backend, MemoryBackend):
        matcher = glob_to_regex(pattern)
        yield from (k for k in list(backend._cache) if isinstance(k, str) and matcher.match(k))
    else:
        raise UnsupportedBackendError(
            f"cannot list the keys of a {type(backend).__name__}; use the memory or redis backend"
        )


def delete_matching(region: CacheRegion, pattern: str) -> int:
    """Delete every stored key matching ``pattern`` in batches; return the count."""
    count = 0
    batch: list[str] = []
    for key in iter_keys(region, pattern):
        batch.append(key)
        if len(batch) >= BATCH:
            count += _delete_raw(region, batch)
            batch = []
    return count + _delete_raw(region, batch)


def _delete_raw(region: CacheRegion, raw_keys: list[str]) -> int:
    """Delete stored keys through the region's proxies (counted; UNLINK on Redis)."""
    if raw_keys:
        region.backend.delete_multi(raw_keys)
    return len(raw_keys)
