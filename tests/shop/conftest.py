"""Fixtures: the shop app on {SQLite, PostgreSQL} x {memory, Redis}, and its data."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from sqlalchemy import event

from caching import cache_invalidated
from tests.shop.app import create_schema, drop_schema, make_shop_app
from tests.shop.models import (
    Customer,
    ItemA,
    ItemB,
    Order,
    OrderLine,
    Post,
    ShippingAddress,
    Status,
    Tag,
    Tier,
    db,
)

UTC = datetime.UTC


@pytest.fixture(params=["memory", "redis"])
def shop_region(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The ``default`` region's settings on each backend, empty.

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
def other_process(shop: Flask, shop_region: dict[str, Any], database_url: str, tmp_path: Path) -> Flask:
    """Another app on the same database and cache backend: a second worker process."""
    return make_shop_app(database_url, shop_region, tmp_path)


@pytest.fixture
def stock(shop: Flask) -> None:
    """Customers 1-3 (ann, bob, cid), orders 1-3 with lines 1-4, addresses 1-3,
    tags 1-3 (red, blue, green), posts 1-2, one item in each schema."""
    ann = Customer(
        name="ann", city="Oslo", tier=Tier.BASIC, joined_at=datetime.datetime(2024, 1, 1, 12, tzinfo=UTC)
    )
    bob = Customer(
        name="bob", city="Bergen", tier=Tier.GOLD, joined_at=datetime.datetime(2024, 1, 2, tzinfo=UTC)
    )
    cid = Customer(
        name="cid", city="Oslo", tier=Tier.BASIC, joined_at=datetime.datetime(2024, 1, 3, tzinfo=UTC)
    )
    db.session.add_all([ann, bob, cid])
    db.session.flush()
    placed = datetime.datetime(2024, 2, 1, 9, 30, tzinfo=UTC)
    orders = [
        Order(customer=ann, total=Decimal("10.00"), placed_at=placed),
        Order(customer=ann, total=Decimal("0.10"), placed_at=placed),
        Order(customer=bob, total=Decimal("7.50"), status=Status.SUSPENDED, placed_at=placed),
    ]
    db.session.add_all(orders)
    db.session.flush()
    orders[0].lines = [
        OrderLine(sku="pen", qty=2, price=Decimal("0.10")),
        OrderLine(sku="ink", price=Decimal("4.50")),
    ]
    db.session.flush()
    orders[1].lines = [OrderLine(sku="pad", qty=3, price=Decimal("1.25"))]
    db.session.flush()
    orders[2].lines = [OrderLine(sku="pen", price=Decimal("0.10"))]
    db.session.flush()
    ann.addresses = [ShippingAddress(street="Main 1"), ShippingAddress(street="Main 2")]
    db.session.flush()
    bob.addresses = [ShippingAddress(street="Side 3")]
    tags = [Tag(name="red"), Tag(name="blue"), Tag(name="green")]
    db.session.add_all(tags)
    db.session.flush()
    db.session.add(
        Post(
            title="hello",
            tags=tags[:2],
            meta={"lang": "en"},
            touched_at=datetime.datetime(2020, 1, 1, tzinfo=UTC),
        )
    )
    db.session.flush()
    db.session.add(Post(title="world", tags=tags[1:2], touched_at=datetime.datetime(2020, 1, 2, tzinfo=UTC)))
    db.session.add_all([ItemA(name="a-one", qty=1), ItemB(name="b-one", qty=2)])
    db.session.commit()
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
