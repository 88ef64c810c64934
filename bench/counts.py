"""Exact counts of what an operation costs besides time: SQL statements, backend calls, round trips.

The one helper behind the count assertions in ``tests/test_bench_counts.py``
and the counts the report prints, so both read the same numbers:

- SQL statements: SQLAlchemy's ``before_cursor_execute`` on the engine;
- backend calls: a ``caching.testing.CountingProxy`` wrapped around each
  region for the count, then taken off again;
- Redis round trips: every request redis-py writes to a socket
  (``send_packed_command``; a pipeline is one), whoever the client is;
- keys flushed: the logical keys the commits announced in the
  ``cache_invalidated`` signal.

A count is the least over a few repeats: the library's stats are pushed to
Redis in one pipeline every few seconds, an amortized trip that lands in
one operation now and then and is not a cost of each.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, fields
from typing import Any
from unittest import mock

from dogpile.cache.proxy import ProxyBackend
from dogpile.cache.region import CacheRegion
from redis.connection import AbstractConnection
from sqlalchemy import event
from sqlalchemy.engine import Engine

from caching import cache_invalidated
from caching.testing import CountingProxy


@dataclass
class Counts:
    """What one operation cost: SQL statements, cache backend calls, Redis requests on the wire."""

    sql: int = 0
    calls: int = 0
    round_trips: int = 0
    flushed: int = 0


@contextlib.contextmanager
def wrapped(region: CacheRegion, proxy: ProxyBackend) -> Iterator[Any]:
    """``proxy`` around ``region``'s backend inside the block, taken off again after it."""
    region.wrap(proxy)
    try:
        yield proxy
    finally:
        region.backend = proxy.proxied


@contextlib.contextmanager
def counting(engine: Engine, regions: Sequence[CacheRegion] = ()) -> Iterator[Counts]:
    """Count everything inside the block; the counts are complete when it ends."""
    counts = Counts()
    original = AbstractConnection.send_packed_command

    def sent(self: AbstractConnection, command: Any, check_health: bool = True) -> None:
        counts.round_trips += 1
        original(self, command, check_health)

    def statement(*args: Any) -> None:
        counts.sql += 1

    def flushed(sender: Any, **change: Any) -> None:
        counts.flushed += len(change["keys"])

    with contextlib.ExitStack() as stack:
        proxies = [stack.enter_context(wrapped(region, CountingProxy())) for region in regions]
        stack.enter_context(mock.patch.object(AbstractConnection, "send_packed_command", sent))
        stack.enter_context(cache_invalidated.connected_to(flushed))
        event.listen(engine, "before_cursor_execute", statement)
        stack.callback(event.remove, engine, "before_cursor_execute", statement)
        yield counts
    counts.calls = sum(proxy.total() for proxy in proxies)


def per_operation(
    operation: Callable[[], Any],
    engine: Engine,
    regions: Sequence[CacheRegion] = (),
    reset: Callable[[], Any] = lambda: None,
    repeats: int = 3,
) -> Counts:
    """The counts of ``operation`` (``reset`` runs uncounted before each): the least of ``repeats``.

    Backend calls are counted by a proxy around each region, which takes a
    Redis miss through dogpile's API (:mod:`caching.redis_claims`), so the
    rest is counted in a run of its own, without it.
    """
    seen = []
    for _ in range(repeats):
        reset()
        with counting(engine) as counts:
            operation()
        if regions:
            reset()
            with counting(engine, regions) as proxied:
                operation()
            counts.calls = proxied.calls
        seen.append(counts)
    return Counts(*(min(getattr(c, field.name) for c in seen) for field in fields(Counts)))


def warm_view(client: Any, path: str, engine: Engine, regions: Sequence[CacheRegion]) -> Counts:
    """The counts of a page view after two uncounted ones (an eager load is stored on the second)."""
    for _ in range(2):
        client.get(path)

    def view() -> None:
        response = client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered HTTP {response.status_code}, not 200")

    return per_operation(view, engine, regions)


class Recorder(ProxyBackend):
    """The stored keys of each read call, and the size of every value written."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[list[str]] = []
        self.written: dict[str, int] = {}

    @property
    def read(self) -> list[str]:
        """Every key read, in order."""
        return [key for keys in self.reads for key in keys]

    def get_serialized_multi(self, keys: Any) -> Any:
        self.reads.append(list(keys))
        return self.proxied.get_serialized_multi(keys)

    def set_serialized_multi(self, mapping: Any) -> Any:
        self.written.update({key: len(value) for key, value in mapping.items()})
        return self.proxied.set_serialized_multi(mapping)


def recorded(region: CacheRegion, operation: Callable[[], Any]) -> Recorder:
    """What ``operation`` read from and wrote to ``region``'s backend."""
    with wrapped(region, Recorder()) as recorder:
        operation()
    return recorder
