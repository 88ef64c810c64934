"""The shop's models, on their own ``SQLAlchemy()`` and ``Caching()``.

Written as an ordinary app would write them, not shaped for the cache:
``Customer.orders`` (``back_populates``) and ``Customer.addresses`` (legacy
``backref``) and ``Order.lines`` (no back reference) all cascade with
``delete-orphan``; ``Post.tags`` goes through a ``secondary`` table; posts
count views with ``post.views = Post.views + 1`` and stamp updates three
ways (Python ``onupdate``, SQL ``onupdate``, and a trigger announced with
``server_onupdate``). ``ItemA`` and ``ItemB`` are the same table name in
two schemas.
"""

from __future__ import annotations

import datetime
import decimal
import enum
from typing import Any

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import (
    DDL,
    JSON,
    Column,
    DateTime,
    Enum,
    FetchedValue,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Table,
    event,
    func,
    select,
)
from sqlalchemy.ext.mutable import MutableDict
from sqlalchemy.orm import Mapped, column_property, mapped_column, reconstructor, relationship

from caching import CacheableMixin, Caching

db = SQLAlchemy()
caching = Caching()

SCHEMAS = ("a", "b")


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class Status(enum.StrEnum):
    """An order's state: a ``str`` enum (``StrEnum``), stored by SQLAlchemy's ``Enum``."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    CLOSED = "closed"


class Tier(enum.IntEnum):
    """Stored in a plain Integer column, as apps often do with IntEnums."""

    BASIC = 1
    GOLD = 2
    PLATINUM = 3


class Kind(enum.Enum):
    """A plain ``Enum`` (no ``str``/``int`` mixin), stored by SQLAlchemy's ``Enum``."""

    ARTICLE = "article"
    NEWS = "news"


class Customer(CacheableMixin, db.Model):
    __tablename__ = "shop_customer"
    cache_filters = [("city", "tier")]

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    city: Mapped[str] = mapped_column(String(40), default="Oslo")
    tier: Mapped[int] = mapped_column(Integer, default=Tier.BASIC)
    joined_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    orders: Mapped[list[Order]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", order_by="Order.id"
    )
    addresses = relationship("ShippingAddress", backref="customer", cascade="all, delete-orphan")
    biggest_orders: Mapped[list[Order]] = relationship(order_by="Order.total.desc()", viewonly=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.init_on_load()

    @reconstructor
    def init_on_load(self) -> None:
        """Not a column: what the app derives once per loaded object."""
        self.badge = f"{self.name} ({self.city})"


class ShippingAddress(CacheableMixin, db.Model):
    __tablename__ = "shop_shipping_address"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("shop_customer.id"))
    street: Mapped[str] = mapped_column(String(80))


class OrderLine(CacheableMixin, db.Model):
    __tablename__ = "shop_order_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("shop_order.id"))
    sku: Mapped[str] = mapped_column(String(20))
    qty: Mapped[int] = mapped_column(default=1)
    price: Mapped[decimal.Decimal] = mapped_column(Numeric(10, 2))
    subtotal = column_property(qty * price)


class Order(CacheableMixin, db.Model):
    __tablename__ = "shop_order"
    cache_filters = [("customer_id", "status")]

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("shop_customer.id"))
    status: Mapped[Status] = mapped_column(Enum(Status), default=Status.ACTIVE)
    total: Mapped[decimal.Decimal] = mapped_column(Numeric(10, 2), default=decimal.Decimal("0.00"))
    placed_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    customer: Mapped[Customer] = relationship(back_populates="orders")
    lines: Mapped[list[OrderLine]] = relationship(cascade="all, delete-orphan", order_by=OrderLine.id)
    line_count = column_property(
        select(func.count(OrderLine.id))
        .where(OrderLine.order_id == id)
        .correlate_except(OrderLine)
        .scalar_subquery()
    )


post_tag = Table(
    "shop_post_tag",
    db.metadata,
    Column("post_id", ForeignKey("shop_post.id"), primary_key=True),
    Column("tag_id", ForeignKey("shop_tag.id"), primary_key=True),
)


class Tag(CacheableMixin, db.Model):
    __tablename__ = "shop_tag"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)

    posts: Mapped[list[Post]] = relationship(secondary=post_tag, back_populates="tags")


class Post(CacheableMixin, db.Model):
    __tablename__ = "shop_post"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(80))
    kind: Mapped[Kind] = mapped_column(Enum(Kind), default=Kind.ARTICLE)
    views: Mapped[int] = mapped_column(default=0)
    edited_at: Mapped[datetime.datetime | None] = mapped_column(DateTime(timezone=True), onupdate=utcnow)
    touched_at: Mapped[datetime.datetime | None] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    revision: Mapped[int] = mapped_column(server_default="0", server_onupdate=FetchedValue())
    meta: Mapped[dict[str, Any]] = mapped_column(MutableDict.as_mutable(JSON), default=dict)

    tags: Mapped[list[Tag]] = relationship(secondary=post_tag, back_populates="posts", order_by=Tag.id)


class ItemA(CacheableMixin, db.Model):
    __tablename__ = "item"
    __table_args__ = {"schema": "a"}

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    qty: Mapped[int] = mapped_column(default=0)


class ItemB(CacheableMixin, db.Model):
    __tablename__ = "item"
    __table_args__ = {"schema": "b"}

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    qty: Mapped[int] = mapped_column(default=0)


# ``revision`` is bumped by the database on every update of a post, as a trigger would
# in a real schema; the model only knows it changes (``server_onupdate=FetchedValue()``).
event.listen(
    Post.__table__,
    "after_create",
    DDL(
        "CREATE TRIGGER shop_post_revision AFTER UPDATE ON shop_post "
        "FOR EACH ROW WHEN NEW.revision = OLD.revision "
        "BEGIN UPDATE shop_post SET revision = OLD.revision + 1 WHERE id = NEW.id; END"
    ).execute_if(dialect="sqlite"),
)
event.listen(
    Post.__table__,
    "after_create",
    DDL(
        "CREATE FUNCTION shop_post_revision() RETURNS trigger AS $$ "
        "BEGIN NEW.revision := OLD.revision + 1; RETURN NEW; END $$ LANGUAGE plpgsql; "
        "CREATE TRIGGER shop_post_revision BEFORE UPDATE ON shop_post "
        "FOR EACH ROW EXECUTE FUNCTION shop_post_revision()"
    ).execute_if(dialect="postgresql"),
)
event.listen(
    Post.__table__,
    "after_drop",
    DDL("DROP FUNCTION IF EXISTS shop_post_revision()").execute_if(dialect="postgresql"),
)
