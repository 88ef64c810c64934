"""Listing and deleting a region's keys by glob pattern, per backend, and the
one (linear-time) glob matcher.

The memory backend is a dict; Redis is walked with ``SCAN`` (never
``KEYS``) and emptied with batched ``UNLINK``. Patterns follow Redis glob
syntax (``*``, ``?``, ``[...]``, backslash escapes) on both, and apply to
the keys as stored, namespace included. Logical key patterns (what users
type: ``user.views=*``) have ``*`` and ``?`` only; :func:`logical_glob`
turns them into Redis globs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from dogpile.cache.api import CacheBackend
from dogpile.cache.backends.memory import MemoryBackend
from dogpile.cache.backends.redis import RedisBackend, RedisClusterBackend
from dogpile.cache.proxy import ProxyBackend
from dogpile.cache.region import CacheRegion

BATCH = 500
_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")


class UnsupportedBackendError(TypeError):
    """The region's backend cannot list its keys."""


def escape(literal: str) -> str:
    """Escape a literal for use inside a glob pattern."""
    return _GLOB_SPECIAL.sub(r"\\\1", literal)


def logical_glob(pattern: str) -> str:
    """A logical key pattern as a Redis glob: ``*`` and ``?`` are its only wildcards,
    everything else (brackets and backslashes included) is literal."""
    return "".join(c if c in "*?" else escape(c) for c in pattern)


def matcher(pattern: str) -> Glob:
    """The matcher of a logical key pattern (see :func:`logical_glob`)."""
    return Glob(logical_glob(pattern))


def actual_backend(region: CacheRegion) -> CacheBackend:
    """The backend under any ProxyBackend wrappers."""
    backend = region.backend
    while isinstance(backend, ProxyBackend):
        backend = backend.proxied
    return backend


def can_scan(region: CacheRegion) -> bool:
    return isinstance(actual_backend(region), (MemoryBackend, RedisBackend))


class _CharClass:
    """A Redis ``[...]`` class: single characters and ``a-z`` ranges, ``^`` negates."""

    __slots__ = ("chars", "negate", "ranges")

    def __init__(self, body: str) -> None:
        self.negate = body.startswith("^")
        body = body[1:] if self.negate else body
        chars, ranges, i = set(), [], 0
        while i < len(body):
            if body[i] == "\\" and i + 1 < len(body):
                i += 1
            if i + 2 < len(body) and body[i + 1] == "-":
                low, high = sorted((body[i], body[i + 2]))
                ranges.append((low, high))
                i += 3
            else:
                chars.add(body[i])
                i += 1
        self.chars = frozenset(chars)
        self.ranges = tuple(ranges)

    def __contains__(self, char: str) -> bool:
        found = char in self.chars or any(low <= char <= high for low, high in self.ranges)
        return found != self.negate


_ANY = _CharClass("^")  # ``?``: the class that excludes nothing
Token = str | _CharClass  # one character of a segment: a literal, ``?`` or a class


class _Segment:
    """The tokens between two ``*``: a literal string is found with ``str.find``."""

    __slots__ = ("literal", "tokens")

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tuple(tokens)
        literal = all(isinstance(t, str) for t in tokens)
        self.literal = "".join(tokens) if literal else None  # type: ignore[arg-type]

    def __len__(self) -> int:
        return len(self.tokens)

    def fits(self, text: str, start: int) -> bool:
        """Does the segment match ``text`` at ``start`` (the caller checked the length)?"""
        for offset, token in enumerate(self.tokens):
            char = text[start + offset]
            if token is _ANY:
                continue
            if char != token if isinstance(token, str) else char not in token:
                return False
        return True

    def find(self, text: str, start: int, end: int) -> int:
        """The leftmost position >= ``start`` where the segment fits inside ``text[:end]``."""
        if self.literal is not None:
            return text.find(self.literal, start, end)
        for position in range(start, end - len(self.tokens) + 1):
            if self.fits(text, position):
                return position
        return -1


class Glob:
    """A compiled Redis glob (``*``, ``?``, ``[...]`` classes, backslash escapes).

    Patterns come from users, so matching must never backtrack: the pattern is
    cut at each ``*`` into segments; the first must fit the key's start, the
    last its end, and each one between is found leftmost after the previous
    one (a ``*`` can always absorb what lies between). A key of n characters
    costs at most n x (longest segment) character comparisons, whatever the
    pattern.
    """

    __slots__ = ("head", "middle", "min_length", "starred", "tail")

    def __init__(self, pattern: str) -> None:
        segments: list[list[Token]] = [[]]
        i = 0
        while i < len(pattern):
            char = pattern[i]
            if char == "\\" and i + 1 < len(pattern):
                segments[-1].append(pattern[i + 1])
                i += 1
            elif char == "*":
                segments.append([])
            elif char == "?":
                segments[-1].append(_ANY)
            elif char == "[":
                end = _class_end(pattern, i)
                segments[-1].append(_CharClass(pattern[i + 1 : end]))
                i = end
            else:
                segments[-1].append(char)
            i += 1
        parts = [_Segment(tokens) for tokens in segments]
        self.starred = len(parts) > 1
        self.head, self.tail = parts[0], parts[-1]
        self.middle = tuple(p for p in parts[1:-1] if len(p))
        self.min_length = sum(map(len, parts))

    def match(self, text: str) -> bool:
        """Does the whole of ``text`` match?"""
        length = len(text)
        if not self.starred:
            return length == len(self.head) and self.head.fits(text, 0)
        if length < self.min_length:
            return False
        end = length - len(self.tail)
        if not self.head.fits(text, 0) or not self.tail.fits(text, end):
            return False
        position = len(self.head)
        for segment in self.middle:
            found = segment.find(text, position, end)
            if found == -1:
                return False
            position = found + len(segment)
        return True


def _class_end(pattern: str, start: int) -> int:
    """The index of the ``]`` closing the class opened at ``start``; as in Redis,
    an unclosed class runs to the end of the pattern."""
    i = start + 1
    while i < len(pattern):
        if pattern[i] == "\\":
            i += 2
            continue
        if pattern[i] == "]":
            return i
        i += 1
    return len(pattern)


def iter_keys(region: CacheRegion, pattern: str) -> Iterator[str]:
    """Stored keys matching ``pattern``, without loading their values."""
    backend = actual_backend(region)
    if isinstance(backend, RedisBackend):
        for key in backend.reader_client.scan_iter(match=pattern, count=BATCH):
            yield key.decode() if isinstance(key, bytes) else key
    elif isinstance(backend, MemoryBackend):
        wanted = Glob(pattern).match
        yield from (k for k in list(backend._cache) if isinstance(k, str) and wanted(k))
    else:
        raise UnsupportedBackendError(
            f"cannot list the keys of a {type(backend).__name__}; use the memory or redis backend"
        )


def walk(region: CacheRegion, pattern: str, cursor: int, step: int) -> Iterator[tuple[int, list[str]]]:
    """Stored keys matching ``pattern`` from ``cursor`` on, about ``step`` keys examined
    at a time, each batch with the cursor after it (0 after the last batch).

    Redis walks with ``SCAN``; the memory backend and a cluster (whose cursor is one
    per node) walk a snapshot of their key list by position. Callers stop whenever
    they have seen enough, so a request never has to examine every key.
    """
    backend = actual_backend(region)
    if isinstance(backend, RedisBackend) and not isinstance(backend, RedisClusterBackend):
        while True:
            cursor, batch = backend.reader_client.scan(cursor, match=pattern, count=step)
            yield cursor, [k.decode() if isinstance(k, bytes) else k for k in batch]
            if cursor == 0:
                return
    if isinstance(backend, MemoryBackend):
        keys, wanted = [k for k in list(backend._cache) if isinstance(k, str)], Glob(pattern).match
    else:
        keys, wanted = sorted(iter_keys(region, pattern)), None
    while True:
        end = cursor + step
        batch = keys[cursor:end]
        cursor = end if end < len(keys) else 0
        yield cursor, batch if wanted is None else [k for k in batch if wanted(k)]
        if cursor == 0:
            return


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
