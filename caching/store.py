"""Guarded reads and writes on a dogpile region: no stale read after commit.

Deleting keys after commit is not enough: a reader that loaded the old row
just before a commit can write it back just after the delete. So every
cached value is stored as ``[tokens, data]``, where ``tokens`` are the
values its *guard* keys held when the reader started, read in the same
backend call as the value itself, *before* the database read. A value is
served only while every guard still holds the token it was stored with.

Writers delete the guards (with the values) after commit. A missing guard
is armed by the next reader with a fresh random token *before* it reads
the database, so a token seen before a commit can never reappear after it:
a value loaded before the commit is never served after it, in any process
sharing the backend. A hit stays one backend call.

When the backend fails, reads go to the database and nothing is stored;
after a failure the backend is left alone for ``RETRY_INTERVAL`` seconds, so
an outage costs requests no timeouts. Deletes that could not be delivered
are kept (up to ``UNDELIVERED_LIMIT`` keys; beyond that the whole namespace
is flushed instead) and delivered before this process trusts a cached value
again. The outage is logged when it starts and when it ends, not per request.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from dogpile.cache.api import NO_VALUE
from dogpile.util import NameRegistry

from . import scan
from .redis_claims import RedisClaims
from .serialize import PlainRegion
from .stats import uncounted

log = logging.getLogger("caching")
MISS = object()
"""Returned by a ``use`` function for a hit that no longer fits (read it again)."""
RETRY_INTERVAL = 1.0
UNDELIVERED_LIMIT = 10_000


class Reply(NamedTuple):  # a tuple: made on every backend call
    """What became of a backend call: ``made`` is False when it failed or was not
    tried (the backend rests after an outage); ``value`` is what it returned."""

    made: bool
    value: Any = None


NOT_MADE = Reply(False)


@dataclass(slots=True)
class Lookup:
    """The outcome of reading one key: a hit with its data, or a miss."""

    key: str
    hit: bool
    data: Any = None
    tokens: list[int] | None = None  # None: the backend failed, do not store
    arming: dict[str, int] = field(default_factory=dict)


class Store:
    """One region's guarded read-through operations, and its health."""

    def __init__(
        self,
        label: str,
        region: PlainRegion,
        everything: str,
        on_bad_entry: Callable[[], None] = lambda: None,
        on_load: Callable[[str, float], None] = lambda key, seconds: None,
        claims: RedisClaims | None = None,
        on_save: Callable[[Iterable[str]], None] = lambda keys: None,
    ) -> None:
        self.label = label
        self.region = region
        self._on_bad_entry = on_bad_entry  # a hit ``use`` refused: not of the shape this cache writes
        self._on_load = on_load  # how long a miss's database load took: what a hit saves
        self._claims = claims  # a miss in two requests on a single Redis server...
        self._chain = region.backend  # ...while no proxy is wrapped around the region: it must see all
        self._on_save = on_save  # stored keys written around the proxies (by the claims)
        self._everything = everything  # a stored-key pattern matching the whole namespace
        self._local_locks = NameRegistry(lambda key: threading.Lock())
        self._lock = threading.Lock()
        self._undelivered: dict[str, None] = {}
        self._lost = False  # more undelivered deletes than we keep: flush everything
        self._down_since: float | None = None
        self._last_try = 0.0

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
        request = [(key, guards)]
        (lookup,) = self.fetch(request)
        if lookup.hit:
            if (value := use(lookup.data)) is not MISS:
                return value
            self._on_bad_entry()  # read as a miss: the load overwrites it
        return self._read_locked(request, [lookup], lambda missing: {key: load()}, {key: use})[key]

    def read_together(
        self,
        requests: Sequence[tuple[str, Sequence[str], Callable[[Any], Any]]],
        load: Callable[[list[str]], Mapping[str, tuple[Any, Any]]],
    ) -> dict[str, Any]:
        """Several ``(key, guards, use)`` read as one (a page and its count): all in one
        backend call when they hit; else under the first key's herd lock, as
        :meth:`read_through`, the missing ones loaded together by ``load(missing keys)``."""
        plain = [(key, guards) for key, guards, _ in requests]
        uses = {key: use for key, _, use in requests}
        lookups = self.fetch(plain)
        values = self._hits(lookups, uses)
        if len(values) == len(lookups):
            return values
        return self._read_locked(plain, lookups, load, uses)

    def read_many(
        self,
        requests: Sequence[tuple[str, Sequence[str]]],
        load: Callable[[list[str]], Mapping[str, tuple[Any, Any]]],
        use: Callable[[Any], Any] = lambda data: data,
    ) -> dict[str, Any]:
        """The value of each ``(key, guards)``: hits in one backend read, misses loaded
        together by ``load(missing keys)`` (each key's ``(data to store, value)``, in one
        database read) after their guards are armed, stored in one backend write.

        A hit that ``use`` refuses (written by hand, or by another program) is
        counted with ``on_bad_entry``, read as a miss and overwritten by the load.
        """
        return self._complete(self.fetch(requests), load, dict.fromkeys([key for key, _ in requests], use))

    def _read_locked(
        self,
        requests: Sequence[tuple[str, Sequence[str]]],
        lookups: Sequence[Lookup],
        load: Callable[[list[str]], Mapping[str, tuple[Any, Any]]],
        uses: Mapping[str, Callable[[Any], Any]],
    ) -> dict[str, Any]:
        """Requests that missed, under the first one's herd lock: read again (a loader may
        have stored them meanwhile), then load and store what is still missing."""
        claimable = self._claims is not None and self.region.backend is self._chain
        if claimable and all(lookup.tokens is not None for lookup in lookups):
            claimed = self._read_claimed(requests, lookups, load, uses)
            if claimed.made:
                return claimed.value
        with self.lock(requests[0][0]):  # contended, or no claims on this backend
            # read again: a loader may have stored it between our miss and our lock,
            # whether or not we had to wait for that lock (not a read of the app's)
            with uncounted():
                lookups = self.fetch(requests)
            return self._complete(lookups, load, uses, count_bad=False)

    def _read_claimed(
        self,
        requests: Sequence[tuple[str, Sequence[str]]],
        lookups: Sequence[Lookup],
        load: Callable[[list[str]], Mapping[str, tuple[Any, Any]]],
        uses: Mapping[str, Callable[[Any], Any]],
    ) -> Reply:
        """:meth:`_read_locked` in two requests (:mod:`caching.redis_claims`): take the
        herd lock, arm and look again in one; save and unlock in the other.
        Not made when another loader holds the lock or the backend failed."""
        assert self._claims is not None
        mangle = self.region.key_mangler or (lambda name: name)
        guards = _guards(requests)
        arming: dict[str, int] = {}
        for lookup in lookups:
            arming.update(lookup.arming)
        lock = mangle(requests[0][0])
        reads = [mangle(key) for key, _ in requests] + [mangle(guard) for guard in guards]
        reply = self._call("lock", self._claims.claim, lock, reads, self.region.stored(arming))
        if not reply.made or reply.value is None:
            return NOT_MADE
        token, raw = reply.value
        lookups = self._lookups(requests, guards, self.region.payloads(raw))
        entries: dict[str, bytes] = {}
        try:
            values = self._hits(lookups, uses, count_bad=False)
            misses = [lookup for lookup in lookups if lookup.key not in values]
            if misses:  # stored only where every guard read back armed: the tokens hold
                entries = self.region.stored(self._load(misses, load, values))
            return Reply(True, values)
        finally:  # a failed load too: waiters must not sit out the lock's timeout
            if self._call("write", self._claims.release, lock, token, entries).made:
                self._on_save(entries)

    def _complete(
        self,
        lookups: Sequence[Lookup],
        load: Callable[[list[str]], Mapping[str, tuple[Any, Any]]],
        uses: Mapping[str, Callable[[Any], Any]],
        count_bad: bool = True,
    ) -> dict[str, Any]:
        """The hits their ``use`` accepts; the rest armed, loaded and saved."""
        values = self._hits(lookups, uses, count_bad)
        misses = [lookup for lookup in lookups if lookup.key not in values]
        if misses:
            self.arm(misses)  # before the database read: a commit meanwhile voids what we store
            self.save(self._load(misses, load, values))
        return values

    def _load(
        self,
        misses: Sequence[Lookup],
        load: Callable[[list[str]], Mapping[str, tuple[Any, Any]]],
        values: dict[str, Any],
    ) -> dict[str, Any]:
        """Load ``misses`` together into ``values``; return the entries to store: those
        whose guards are all armed with the tokens read before the load."""
        names = [lookup.key for lookup in misses]
        with self.loading(names):
            loaded = load(names)
        entries: dict[str, Any] = {}
        for lookup in misses:
            data, values[lookup.key] = loaded[lookup.key]
            if lookup.tokens is not None and not lookup.arming:
                entries[lookup.key] = [lookup.tokens, data]
        return entries

    def _hits(
        self, lookups: Sequence[Lookup], uses: Mapping[str, Callable[[Any], Any]], count_bad: bool = True
    ) -> dict[str, Any]:
        """``use(data)`` of each hit that its key's ``use`` accepts, by key."""
        values = {}
        for lookup in lookups:
            if lookup.hit:
                if (value := uses[lookup.key](lookup.data)) is not MISS:
                    values[lookup.key] = value
                elif count_bad:
                    self._on_bad_entry()
        return values

    @contextmanager
    def loading(self, keys: Sequence[str]) -> Iterator[None]:
        """Time the database read that loads ``keys`` (shared equally): what their hits save."""
        started = time.perf_counter()
        yield
        share = (time.perf_counter() - started) / max(len(keys), 1)
        for key in keys:
            self._on_load(key, share)

    @contextmanager
    def lock(self, key: str) -> Iterator[None]:
        """Hold the herd lock of ``key``.

        On Redis this is dogpile's distributed lock (it expires after the
        region's ``lock_timeout`` if its holder dies); elsewhere a lock per key
        in this process. A lock that cannot be had at all is skipped.
        """
        stored = self.region.key_mangler(key) if self.region.key_mangler else key
        mutex = self.region.backend.get_mutex(stored) or self._local_locks.get(stored)
        acquired = self._call("lock", mutex.acquire, True)
        try:
            yield
        finally:
            if acquired.made and acquired.value:
                self._call("unlock", mutex.release)  # fails if the lock expired meanwhile

    def fetch(self, requests: Sequence[tuple[str, Sequence[str]]]) -> list[Lookup]:
        """Read keys and their guards in one backend call (:meth:`PlainRegion.get_payloads`).

        Every warm read comes here: a hit costs one pass over the values,
        and fresh tokens are drawn only for guards that are missing.
        """
        guards = _guards(requests)
        reply = self._call("read", self.region.get_payloads, [key for key, _ in requests] + guards)
        if not reply.made:
            return [Lookup(key, False) for key, _ in requests]
        return self._lookups(requests, guards, reply.value)

    @staticmethod
    def _lookups(
        requests: Sequence[tuple[str, Sequence[str]]], guards: list[str], values: Sequence[Any]
    ) -> list[Lookup]:
        """Each request's :class:`Lookup`, from the payloads of its keys then of ``guards``."""
        current = dict(zip(guards, values[len(requests) :]))
        fresh: dict[str, int] = {}
        lookups = []
        for (key, key_guards), value in zip(requests, values):
            tokens = [current[guard] for guard in key_guards]
            if NO_VALUE in tokens:  # a guard to arm: a miss, whatever is stored
                arming = {}
                for i, guard in enumerate(key_guards):
                    if tokens[i] is NO_VALUE:
                        tokens[i] = arming[guard] = fresh.setdefault(guard, secrets.randbits(63))
                lookups.append(Lookup(key, False, None, tokens, arming))
            elif isinstance(value, list) and len(value) == 2 and value[0] == tokens:
                lookups.append(Lookup(key, True, value[1], tokens, {}))
            else:
                lookups.append(Lookup(key, False, None, tokens, {}))
        return lookups

    def arm(self, misses: Iterable[Lookup]) -> None:
        """Set fresh tokens on missing guards; must run before the database read."""
        misses = [lookup for lookup in misses if lookup.tokens is not None]
        mapping: dict[str, int] = {}
        for lookup in misses:
            mapping.update(lookup.arming)
        if not mapping:
            return
        armed = self._set_multi(mapping)
        for lookup in misses:
            if armed:
                lookup.arming = {}
            else:
                lookup.tokens = None

    def save(self, entries: Mapping[str, Any]) -> None:
        """Store entries tagged ``[tokens, data]`` in one ``set_multi``."""
        if entries:
            self._set_multi(entries)

    def delete(self, keys: Sequence[str]) -> bool:
        """Delete keys in one backend call; if that fails, keep them for later."""
        if not keys:
            return True
        if not self._call("delete", self.region.delete_multi, keys).made:
            self._keep(keys)
            return False
        return True

    def flush_namespace_when_back(self) -> None:
        """Some deletes could not even be listed: flush the namespace once back."""
        with self._lock:
            self._lost = True

    def _keep(self, keys: Sequence[str]) -> None:
        with self._lock:
            self._undelivered.update(dict.fromkeys(keys))
            if len(self._undelivered) > UNDELIVERED_LIMIT:
                self._undelivered.clear()
                self._lost = True

    def _deliver(self) -> bool:
        """Send the deletes kept from an outage; True when none is left."""
        with self._lock:
            keys, lost = list(self._undelivered), self._lost
        if lost:
            done = self._attempt("delete", scan.delete_matching, self.region, self._everything)
        else:
            done = self._attempt("delete", self.region.delete_multi, keys)
        if not done.made:
            return False
        with self._lock:
            for key in keys:
                self._undelivered.pop(key, None)
            self._lost = self._lost and not lost
            return not (self._undelivered or self._lost)

    def _set_multi(self, mapping: Mapping[str, Any]) -> bool:
        return self._call("write", self.region.set_multi, mapping).made

    def _call(self, operation: str, method: Callable[..., Any], *args: Any) -> Reply:
        """Make a backend call, unless the backend rests after a failure or deletes
        kept from an outage cannot be delivered first."""
        if self._down_since is not None and time.monotonic() - self._last_try < RETRY_INTERVAL:
            return NOT_MADE
        if (self._undelivered or self._lost) and not self._deliver():
            return NOT_MADE
        return self._attempt(operation, method, *args)

    def _attempt(self, operation: str, method: Callable[..., Any], *args: Any) -> Reply:
        try:
            result = method(*args)
        except Exception as exc:
            if not is_outage(exc):
                return self._failed(operation, exc)
            self._last_try = time.monotonic()
            if self._down_since is None:
                self._down_since = self._last_try
                log.warning(
                    "cache region %r unreachable (%s: %s); reading the database", self.label, operation, exc
                )
            return NOT_MADE
        if self._down_since is not None:
            down_for = time.monotonic() - self._down_since
            self._down_since = None
            log.warning("cache region %r reachable again after %.1f s", self.label, down_for)
        return Reply(True, result)

    def _failed(self, operation: str, exc: Exception) -> Reply:
        """An error that is not an outage: the backend stays trusted and deletes are never held back.

        A read or write that fails (a value the codec cannot encode, a herd
        lock that expired under a slow loader) is skipped, as a miss or an
        unstored value; a delete that fails is raised, since the keys it
        should have removed would be served stale.
        """
        if operation == "delete":
            raise exc
        log.warning("cache region %r: %s skipped (%s: %s)", self.label, operation, type(exc).__name__, exc)
        return NOT_MADE


def _guards(requests: Sequence[tuple[str, Sequence[str]]]) -> list[str]:
    """Every request's guards, each once, in order."""
    if len(requests) == 1:  # a get, a listing: no other request's guards to merge
        return list(dict.fromkeys(requests[0][1]))
    return list(dict.fromkeys(g for _, gs in requests for g in gs))


def is_outage(exc: BaseException) -> bool:
    """True for failures to reach the backend (refused, lost, timed out), not for errors it answered."""
    if isinstance(exc, OSError):  # socket errors, ConnectionError and TimeoutError among them
        return True
    return _REDIS_OUTAGES is not None and isinstance(exc, _REDIS_OUTAGES)


def _redis_outages() -> tuple[type[BaseException], ...] | None:
    try:
        from redis import exceptions
    except ImportError:  # the redis client is an optional dependency
        return None
    return (exceptions.ConnectionError, exceptions.TimeoutError, exceptions.ClusterDownError)


_REDIS_OUTAGES = _redis_outages()
