"""The shop's stock: a few rows of every model, at known primary keys."""

from __future__ import annotations

import datetime
from decimal import Decimal

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


def fill_shop() -> None:
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
