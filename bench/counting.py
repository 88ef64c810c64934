"""Counting what an operation costs besides time: SQL statements and cache round trips.

Counters are installed only around a short counting pass, never while
timing, so they add nothing to the times:

- backend calls: a :class:`CountingProxy` wrapped around each dogpile
  region the case uses (``CacheRegion.wrap``), then unwrapped;
- SQL statements: SQLAlchemy's ``before_cursor_execute`` on the engine;
- Redis round trips: every request redis-py writes to a socket
  (``send_packed_command``; a pipeline is one), whoever the client is, so
  Flask-Caching and raw clients are counted the same way as dogpile.
"""

from __future__ import annotations

import contextlib
import statistics
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from dogpile.cache.region import CacheRegion
from redis.connection import AbstractConnection
from sqlalchemy import event
from sqlalchemy.engine import Engine

from caching.testing import CountingProxy

from .harness import Case


@dataclass
class Counts:
    """Per operation, over the counting pass; None where not countable."""

    sql: float
    backend_calls: float | None
    round_trips: float | None


@contextlib.contextmanager
def _backend_calls(regions: Sequence[CacheRegion]) -> Iterator[list[CountingProxy]]:
    proxies = []
    for region in regions:
        proxy = CountingProxy()
        region.wrap(proxy)
        proxies.append(proxy)
    try:
        yield proxies
    finally:
        for region, proxy in zip(regions, proxies):
            region.backend = proxy.proxied


class _Tally:
    def __init__(self) -> None:
        self.count = 0

    def add(self, *args: Any) -> None:
        self.count += 1


@contextlib.contextmanager
def _sql_statements(engine: Engine) -> Iterator[_Tally]:
    tally = _Tally()
    event.listen(engine, "before_cursor_execute", tally.add)
    try:
        yield tally
    finally:
        event.remove(engine, "before_cursor_execute", tally.add)


@contextlib.contextmanager
def _redis_requests() -> Iterator[_Tally]:
    tally = _Tally()
    original = AbstractConnection.send_packed_command

    def counted(self: AbstractConnection, command: Any, check_health: bool = True) -> None:
        tally.add()
        original(self, command, check_health)

    AbstractConnection.send_packed_command = counted
    try:
        yield tally
    finally:
        AbstractConnection.send_packed_command = original


def count(case: Case, engine: Engine, on_redis: bool, iterations: int = 5) -> Counts:
    """SQL statements, backend calls and Redis round trips of one ``case.op``: medians of a few.

    The median, because the library's stats are pushed to Redis in one
    pipeline every few seconds: that amortized trip lands in one op now and
    then and is not a cost of each op.
    """
    sql, calls, trips = [], [], []
    for _ in range(iterations):
        case.reset()
        with (
            _backend_calls(case.regions) as proxies,
            _sql_statements(engine) as statements,
            _redis_requests() as requests,
        ):
            case.op()
        sql.append(statements.count)
        calls.append(sum(p.total() for p in proxies))
        trips.append(requests.count)
    return Counts(
        sql=statistics.median(sql),
        backend_calls=statistics.median(calls) if case.regions else None,
        round_trips=statistics.median(trips) if on_redis else None,
    )
