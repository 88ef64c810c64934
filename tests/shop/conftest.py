"""Fixtures: the shop app on {SQLite, PostgreSQL} x memory (and Redis, for tests marked
``backends``), and its data."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from sqlalchemy import event

from caching import cache_invalidated
from tests.conftest import parametrize_backends
from tests.shop.app import create_schema, drop_schema, make_shop_app
from tests.shop.models import db
from tests.shop.stock import fill_shop


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_backends(metafunc, "shop_region", ("memory", "redis"))


@pytest.fixture
def shop_region(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The ``default`` region's settings on the test's backend, empty.

    The memory backend gets its dict from here, so that a second app built
    from the same settings shares it, as processes share a Redis.
    """
    if request.param == "memory":
        return {"backend": "dogpile.cache.memory", "expiration_time": 300, "arguments": {"cache_dict": {}}}
    url = request.getfixturevalue("redis_url")
    redis.Redis.from_url(url).flushdb()
    return {"backend": "dogpile.cache.redis", "expiration_time": 300, "arguments": {"url": url}}


@pytest.fixture
def shop(shop_region: dict[str, Any], database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """The shop app, inside an app context (one request), on empty tables."""
    app = make_shop_app(database_url, shop_region, tmp_path)
    with app.app_context():
        create_schema()
        yield app
        drop_schema()


@pytest.fixture
def start_process(
    shop: Flask, shop_region: dict[str, Any], database_url: str, tmp_path: Path
) -> Iterator[Callable[..., Flask]]:
    """Start another app on the same database and cache backend, as another worker process
    would be (keyword arguments go to :func:`make_shop_app`)."""
    started: list[Flask] = []

    def start(**options: Any) -> Flask:
        started.append(make_shop_app(database_url, shop_region, tmp_path, **options))
        return started[-1]

    yield start
    for app in started:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def other_process(start_process: Callable[..., Flask]) -> Flask:
    """Another worker process of the shop."""
    return start_process()


@pytest.fixture
def stock(shop: Flask) -> None:
    """The shop's stock (see :func:`fill_shop`), committed; the next read starts a fresh session."""
    fill_shop()
    db.session.remove()


@pytest.fixture
def flushed_keys(shop: Flask) -> Iterator[list[str]]:
    """The logical keys every ``cache_invalidated`` signal of the test announced."""
    received: list[str] = []

    def receive(sender: Any, **payload: Any) -> None:
        received.extend(payload["keys"])

    cache_invalidated.connect(receive, weak=False)
    yield received
    cache_invalidated.disconnect(receive)


@pytest.fixture
def sql(shop: Flask) -> Iterator[list[str]]:
    """The SQL statements the shop's engine runs during the test."""
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    yield statements
    event.remove(db.engine, "before_cursor_execute", record)
