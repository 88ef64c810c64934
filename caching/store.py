"""Guarded reads and writes on a dogpile region: no stale read after commit.

Deleting keys after commit is not enough: a reader that loaded the old row
just before a commit can write it back just after the delete. So every
cached value is stored as ``[tokens, data]``, where ``tokens`` are the
values its *guard* keys held when the reader started, read in the same
``get_multi`` as the value itself, *before* the database read. A value is
served only while every guard still holds the token it was stored with.

Writers delete the guards (with the values) after commit. A missing guard
is armed by the next reader with a fresh random token *before* it reads
the database, so a token seen before a commit can never reappear after it:
a value loaded before the commit is never served after it, in any process
sharing the backend. A hit stays one backend call.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from dogpile.cache.api import NO_VALUE
from dogpile.cache.region import CacheRegion
from dogpile.util import NameRegistry

ErrorHandler = Callable[[str, str, Exception], None]
MISS = object()
"""Returned by a ``use`` function for a hit that no longer fits (read it again)."""


@dataclass(slots=True)
class Lookup:
    """The outcome of reading one key: a hit with its data, or a miss."""

    key: str
    hit: bool
    data: Any = None
    tokens: list[int] | None = None  # None: the backend failed, do not store
    arming: dict[str, int] = field(default_factory=dict)


class Store:
    """One region's guarded read-through operations."""

    def __init__(self, label: str, region: CacheRegion, on_error: ErrorHandler) -> None:
        self.label = label
        self.region = region
        self._on_error = on_error
        self._local_locks = NameRegistry(lambda key: threading.Lock())

    def read_through(
        self,
        key: str,
        guards: Sequence[str],
        load: Callable[[], tuple[Any, Any]],
        use: Callable[[Any], Any] = lambda data: data,
    ) -> Any:
        """The value of one key: ``use(data)`` on a hit, else ``load()`` once for all.

        ``load`` returns ``(data to store, value)``. Concurrent misses of the
        same key, in any process sharing the backend, wait for the first
        loader (the herd lock) and then read what it stored.
        """
        (lookup,) = self.fetch([(key, guards)])
        if lookup.hit and (value := use(lookup.data)) is not MISS:
            return value
        with self.lock(key) as waited:
            if waited:
                (lookup,) = self.fetch([(key, guards)])
                if lookup.hit and (value := use(lookup.data)) is not MISS:
                    return value
            self.arm([lookup])
            data, value = load()
            self.save(self.entry(lookup, data))
            return value

    @contextmanager
    def lock(self, key: str) -> Iterator[bool]:
        """Hold the herd lock of ``key``; yield whether another loader held it first.

        On Redis this is dogpile's distributed lock (it expires after the
        region's ``lock_timeout`` if its holder dies); elsewhere a lock per key
        in this process. A lock that cannot be had at all is skipped.
        """
        stored = self.region.key_mangler(key) if self.region.key_mangler else key
        mutex = self.region.backend.get_mutex(stored) or self._local_locks.get(stored)
        acquired = waited = False
        try:
            acquired = bool(mutex.acquire(False))
            if not acquired:
                waited = True
                acquired = bool(mutex.acquire(True))
        except Exception as exc:
            self._on_error(self.label, "lock", exc)
        try:
            yield waited
        finally:
            if acquired:
                try:
                    mutex.release()
                except Exception as exc:  # e.g. the lock expired meanwhile
                    self._on_error(self.label, "unlock", exc)

    def fetch(self, requests: Sequence[tuple[str, Sequence[str]]]) -> list[Lookup]:
        """Read keys and their guards in one ``get_multi``."""
        guards = list(dict.fromkeys(g for _, gs in requests for g in gs))
        try:
            values = self.region.get_multi([key for key, _ in requests] + guards)
        except Exception as exc:
            self._on_error(self.label, "read", exc)
            return [Lookup(key, hit=False) for key, _ in requests]
        current = dict(zip(guards, values[len(requests) :]))
        fresh: dict[str, int] = {}
        lookups = []
        for (key, key_guards), value in zip(requests, values):
            arming = {}
            tokens = []
            for guard in key_guards:
                token = current[guard]
                if token is NO_VALUE:
                    token = arming[guard] = fresh.setdefault(guard, secrets.randbits(63))
                tokens.append(token)
            hit = not arming and isinstance(value, list) and len(value) == 2 and value[0] == tokens
            lookups.append(Lookup(key, hit, value[1] if hit else None, tokens, arming))
        return lookups

    def arm(self, misses: Iterable[Lookup]) -> None:
        """Set fresh tokens on missing guards; must run before the database read."""
        misses = [lookup for lookup in misses if lookup.tokens is not None]
        mapping: dict[str, int] = {}
        for lookup in misses:
            mapping.update(lookup.arming)
        if not mapping:
            return
        if not self._set_multi(mapping):
            for lookup in misses:
                lookup.tokens = None

    def entry(self, lookup: Lookup, data: Any) -> dict[str, Any]:
        """The mapping that stores ``data`` under a miss, tagged with its tokens."""
        return {} if lookup.tokens is None else {lookup.key: [lookup.tokens, data]}

    def save(self, entries: Mapping[str, Any]) -> None:
        """Store tagged entries (see :meth:`entry`) in one ``set_multi``."""
        if entries:
            self._set_multi(entries)

    def delete(self, keys: Sequence[str]) -> bool:
        """Delete keys in one backend call; False if the backend failed."""
        if not keys:
            return True
        try:
            self.region.delete_multi(keys)
        except Exception as exc:
            self._on_error(self.label, "delete", exc)
            return False
        return True

    def _set_multi(self, mapping: Mapping[str, Any]) -> bool:
        try:
            self.region.set_multi(mapping)
        except Exception as exc:
            self._on_error(self.label, "write", exc)
            return False
        return True
