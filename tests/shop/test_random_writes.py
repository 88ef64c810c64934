"""Random ORM writes across two sessions, then every cached read against the database.

A Hypothesis state machine plays two requests, ``A`` (the app's scoped
session, which also reads through the cache) and ``B`` (a second session of
the same app), writing the shop's rows the ways apps do: plain attribute
changes, ``delete-orphan`` removals, many-to-many appends and removals, the
atomic counter, bulk helpers and Core DML. A session may keep a copy it
loaded before the other one committed. After every commit, every cached
read (``get`` of every primary key seen, ``filter`` for every value seen of
each column, ``count``, paged listings and a few ``FromCache`` statements)
must answer what the same query answers without the cache.

``HYPOTHESIS_PROFILE=long`` runs thousands of steps instead of a few hundred.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import IntegrityError, SAWarning
from sqlalchemy.orm import Session, contains_eager, joinedload, selectinload
from sqlalchemy.orm.exc import ObjectDeletedError, StaleDataError

from tests.shop.compare import (
    Read,
    assert_matches_database,
    count,
    eager,
    get,
    listing,
    related,
    statement,
    table_columns,
    window,
)
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
    caching,
    db,
    post_tag,
)
from tests.shop.stock import fill_shop

# slow: a Hypothesis state machine; backends: bulk writes flush whole tables, by SCAN on Redis
pytestmark = [pytest.mark.slow, pytest.mark.backends]

# ci: 25 runs of 40 steps, a thousand writes and commits per database and backend
settings.register_profile(
    "ci", max_examples=25, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "long",
    max_examples=100,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
PROFILE = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

MODELS = (Customer, ShippingAddress, Order, OrderLine, Post, Tag, ItemA, ItemB)
# the columns filtered on, for every value they have held during the run (primary keys are read by get)
FILTERED = {
    Customer: ("city", "tier"),
    ShippingAddress: ("customer_id",),
    Order: ("customer_id", "status", "total"),
    OrderLine: ("order_id", "qty", "price"),
    Post: ("title", "views", "revision", "edited_at"),
    Tag: ("name",),
    ItemA: ("qty",),
    ItemB: ("qty",),
}
STATEMENTS = (
    statement(select(post_tag.c.post_id, post_tag.c.tag_id).order_by(post_tag.c.post_id, post_tag.c.tag_id)),
    statement(select(Customer.name).join(Customer.orders).distinct().order_by(Customer.name)),
    statement(select(Post.title, func.count()).join(Post.tags).group_by(Post.title).order_by(Post.title)),
    statement(
        select(OrderLine.order_id, func.sum(OrderLine.qty), func.count())
        .group_by(OrderLine.order_id)
        .order_by(OrderLine.order_id)
    ),
    statement(select(Tag).order_by(Tag.id)),
    statement(select(Tag.id, Tag.name).order_by(Tag.id)),
    # what loader options load is stored with the entities: filtered, nested, joined
    eager(
        select(Customer)
        .order_by(Customer.id)
        .options(selectinload(Customer.orders).selectinload(Order.lines)),
        "customers with their orders and the orders' lines",
    ),
    eager(
        select(Post).order_by(Post.id).options(selectinload(Post.tags.and_(Tag.name != "sale"))),
        "posts with their tags but 'sale'",
    ),
    eager(
        select(Order).order_by(Order.id).options(joinedload(Order.customer), selectinload(Order.lines)),
        "orders with their customer and lines",
    ),
    eager(
        select(Customer)
        .join(Customer.orders)
        .where(Order.status == Status.ACTIVE)
        .order_by(Customer.id, Order.id)  # contains_eager keeps the rows' order, not the relationship's
        .options(contains_eager(Customer.orders)),
        "customers with their active orders only (contains_eager)",
    ),
)
# lazy loads through the cache: one-to-many by a listing, many-to-one by an object key,
# many-to-many (left to SQL) alongside
RELATIONSHIPS = (
    related(Customer, "orders"),
    related(Customer, "addresses"),
    related(Order, "lines"),
    related(Order, "customer"),
    related(ShippingAddress, "customer"),
    related(Post, "tags"),
)
# a write that lost a race with the other session is rolled back, as the app would
CONFLICTS = (StaleDataError, ObjectDeletedError, IntegrityError, SAWarning)

sessions = st.sampled_from(["A", "B"])
cities = st.sampled_from(["Oslo", "Bergen", "Paris"])
tiers = st.sampled_from(list(Tier))
statuses = st.sampled_from(list(Status))
money = st.sampled_from([Decimal("0.10"), Decimal("2.50"), Decimal("10.00")])
quantities = st.integers(1, 3)
titles = st.sampled_from(["hello", "world"])
tag_names = st.sampled_from(["red", "blue", "green"])


def few(upper: int) -> st.SearchStrategy[int]:
    """Primary keys to aim at: a rule on a row that does not exist (any more) does nothing."""
    return st.integers(1, upper)


class ShopMachine(RuleBasedStateMachine):
    """Two sessions writing the shop; the cache checked after each commit."""

    def __init__(self) -> None:
        super().__init__()
        empty_the_shop()
        fill_shop()
        db.session.remove()
        self.sessions: dict[str, Session] = {"A": db.session(), "B": db.session.session_factory()}
        self.kept: dict[str, list[Any]] = {"A": [], "B": []}  # copies a session holds on to
        self.seen: dict[tuple[type, str], set[Any]] = defaultdict(set)
        self.pks: dict[type, set[Any]] = defaultdict(set)
        self.created = 0

    def teardown(self) -> None:
        self.sessions["B"].close()
        db.session.remove()

    # -- reading: copies kept across the other session's commits ----------------

    @rule(session=sessions, customer=few(4))
    def keep_a_copy_of_customer(self, session: str, customer: int) -> None:
        self.keep(session, self.sessions[session].get(Customer, customer))

    @rule(customer=few(4))
    def a_reads_customer_through_the_cache(self, customer: int) -> None:
        self.keep("A", Customer.cache.get(customer))

    @rule()
    def a_reads_customers_orders_and_addresses_through_the_cache(self) -> None:
        for customer in Customer.cache.filter():
            assert all(order.customer_id == customer.id for order in customer.orders)
            assert all(address.customer_id == customer.id for address in customer.addresses)

    @rule(order=few(6))
    def a_reads_order_lines_through_the_cache(self, order: int) -> None:
        for line in OrderLine.cache.filter(order_id=order):
            self.keep("A", line)

    # -- customers, their addresses (backref) and orders (back_populates) --------

    @rule(session=sessions, city=cities, tier=tiers)
    def add_customer(self, session: str, city: str, tier: Tier) -> None:
        self.created += 1
        with self.committing(session) as s:
            s.add(Customer(name=f"customer{self.created}", city=city, tier=tier))

    @rule(session=sessions, customer=few(4), city=cities)
    def move_customer(self, session: str, customer: int, city: str) -> None:
        with self.committing(session) as s:
            if found := s.get(Customer, customer):
                found.city = city

    @rule(session=sessions, customer=few(4), tier=tiers)
    def change_tier(self, session: str, customer: int, tier: Tier) -> None:
        with self.committing(session) as s:
            if found := s.get(Customer, customer):
                found.tier = tier

    @rule(session=sessions, customer=few(4))
    def delete_customer(self, session: str, customer: int) -> None:
        with self.committing(session) as s:
            if found := s.get(Customer, customer):
                s.delete(found)

    @rule(session=sessions, customer=few(4))
    def add_address(self, session: str, customer: int) -> None:
        with self.committing(session) as s:
            if found := s.get(Customer, customer):
                found.addresses.append(ShippingAddress(street=f"Street {len(found.addresses) + 1}"))

    @rule(session=sessions, customer=few(4))
    def clear_addresses(self, session: str, customer: int) -> None:
        with self.committing(session) as s:
            if found := s.get(Customer, customer):
                found.addresses = []

    @rule(session=sessions, customer=few(4), total=money, status=statuses)
    def place_order(self, session: str, customer: int, total: Decimal, status: Status) -> None:
        with self.committing(session) as s:
            if found := s.get(Customer, customer):
                found.orders.append(Order(total=total, status=status))

    @rule(session=sessions, customer=few(4))
    def drop_last_order(self, session: str, customer: int) -> None:
        with self.committing(session) as s:
            if (found := s.get(Customer, customer)) and found.orders:
                found.orders.pop()

    @rule(session=sessions, order=few(6), status=statuses)
    def set_order_status(self, session: str, order: int, status: Status) -> None:
        with self.committing(session) as s:
            if found := s.get(Order, order):
                found.status = status

    # -- order lines (delete-orphan, no back reference) ---------------------------

    @rule(session=sessions, order=few(6), qty=quantities, price=money)
    def add_line(self, session: str, order: int, qty: int, price: Decimal) -> None:
        with self.committing(session) as s:
            if found := s.get(Order, order):
                found.lines.append(OrderLine(sku="pen", qty=qty, price=price))

    @rule(session=sessions, order=few(6))
    def remove_first_line(self, session: str, order: int) -> None:
        with self.committing(session) as s:
            if (found := s.get(Order, order)) and found.lines:
                found.lines.remove(found.lines[0])

    @rule(session=sessions, order=few(6))
    def clear_lines(self, session: str, order: int) -> None:
        with self.committing(session) as s:
            if found := s.get(Order, order):
                found.lines = []

    @rule(session=sessions, line=few(8), qty=quantities)
    def change_line_qty(self, session: str, line: int, qty: int) -> None:
        with self.committing(session) as s:
            if found := s.get(OrderLine, line):
                found.qty = qty

    # -- bulk helpers and Core DML --------------------------------------------------

    @rule(session=sessions, order=few(6), qty=quantities, price=money)
    def bulk_insert_line(self, session: str, order: int, qty: int, price: Decimal) -> None:
        with self.committing(session) as s:
            if s.get(Order, order):
                s.bulk_insert_mappings(
                    OrderLine, [{"order_id": order, "sku": "ink", "qty": qty, "price": price}]
                )

    @rule(session=sessions, order=few(6), qty=quantities)
    def bulk_save_line(self, session: str, order: int, qty: int) -> None:
        with self.committing(session) as s:
            if s.get(Order, order):
                s.bulk_save_objects([OrderLine(order_id=order, sku="pad", qty=qty, price=Decimal("2.50"))])

    @rule(session=sessions, line=few(8), qty=quantities)
    def bulk_update_line_qty(self, session: str, line: int, qty: int) -> None:
        with self.committing(session) as s:
            s.bulk_update_mappings(OrderLine, [{"id": line, "qty": qty}])

    @rule(session=sessions, order=few(6), qty=quantities)
    def core_update_order_lines_on_the_session(self, session: str, order: int, qty: int) -> None:
        with self.committing(session) as s:
            s.connection().execute(update(OrderLine).where(OrderLine.order_id == order).values(qty=qty))

    @rule(line=few(8))
    def core_delete_line_on_the_engine(self, line: int) -> None:
        with db.engine.begin() as conn:
            conn.execute(delete(OrderLine.__table__).where(OrderLine.id == line))
        self.check()

    # -- posts: counter, stamps, tags (secondary table) -----------------------------

    @rule(session=sessions, title=titles)
    def add_post(self, session: str, title: str) -> None:
        with self.committing(session) as s:
            s.add(Post(title=title))

    @rule(session=sessions, post=few(3))
    def count_a_view(self, session: str, post: int) -> None:
        with self.committing(session) as s:
            if found := s.get(Post, post):
                found.views = Post.views + 1

    @rule(session=sessions, post=few(3), title=titles)
    def retitle_post(self, session: str, post: int, title: str) -> None:
        with self.committing(session) as s:
            if found := s.get(Post, post):
                found.title = title

    @rule(session=sessions, name=tag_names)
    def add_tag(self, session: str, name: str) -> None:
        with self.committing(session) as s:
            if s.scalar(select(Tag).filter_by(name=name)) is None:
                s.add(Tag(name=name))

    @rule(session=sessions, tag=few(3))
    def delete_tag(self, session: str, tag: int) -> None:
        with self.committing(session) as s:
            if found := s.get(Tag, tag):
                s.delete(found)

    @rule(session=sessions, post=few(3), tag=few(3))
    def tag_post(self, session: str, post: int, tag: int) -> None:
        with self.committing(session) as s:
            found, label = s.get(Post, post), s.get(Tag, tag)
            if found and label and label not in found.tags:
                found.tags.append(label)

    @rule(session=sessions, post=few(3), tag=few(3))
    def untag_post(self, session: str, post: int, tag: int) -> None:
        with self.committing(session) as s:
            found, label = s.get(Post, post), s.get(Tag, tag)
            if found and label in found.tags:
                found.tags.remove(label)

    # -- the same table name in two schemas -----------------------------------------

    @rule(session=sessions, model=st.sampled_from([ItemA, ItemB]), qty=quantities)
    def add_item(self, session: str, model: type, qty: int) -> None:
        with self.committing(session) as s:
            s.add(model(name=f"{model.__name__}-{qty}", qty=qty))

    @rule(session=sessions, model=st.sampled_from([ItemA, ItemB]), item=few(2), qty=quantities)
    def change_item_qty(self, session: str, model: type, item: int, qty: int) -> None:
        with self.committing(session) as s:
            if found := s.get(model, item):
                found.qty = qty

    # -- helpers ----------------------------------------------------------------------

    def keep(self, session: str, obj: Any) -> None:
        if obj is not None:
            self.kept[session].append(obj)

    @contextmanager
    def committing(self, name: str) -> Iterator[Session]:
        """Write in session ``name`` and commit; then check every cached read."""
        session = self.sessions[name]
        try:
            yield session
            session.commit()
        except CONFLICTS as exc:
            if isinstance(exc, SAWarning) and "expected to delete" not in str(exc):
                raise
            session.rollback()
        self.kept[name].clear()  # expired by the commit or the rollback: reloaded on access
        self.check()

    def check(self) -> None:
        assert_matches_database(*self.reads())

    def reads(self) -> list[Read]:
        """Every cached read worth checking now, from what the database holds and has held."""
        with Session(db.engine) as session:
            for model in MODELS:
                columns = table_columns(model.__mapper__)
                for row in session.execute(select(*(getattr(model, c) for c in columns))):
                    values = dict(zip(columns, row))
                    self.pks[model].add(values["id"])
                    for column in FILTERED[model]:
                        self.seen[model, column].add(values[column])
                    for column_set in model.cache.info.filter_sets:
                        self.seen[model, ",".join(sorted(column_set))].add(
                            tuple(values[c] for c in sorted(column_set))
                        )
        out: list[Read] = [*STATEMENTS, *RELATIONSHIPS]
        for model in MODELS:
            out += [listing(model), count(model), listing(model, order_by="desc", offset=1, limit=2)]
            out.append(window(model, offset=1, limit=2))
            out += [get(model, pk) for pk in sorted(self.pks[model])]
            for column in FILTERED[model]:
                out += [listing(model, **{column: value}) for value in self.seen[model, column]]
                out += [window(model, limit=2, **{column: value}) for value in self.seen[model, column]]
            for column_set in model.cache.info.filter_sets:
                names = sorted(column_set)
                out += [listing(model, **dict(zip(names, v))) for v in self.seen[model, ",".join(names)]]
        return out


def empty_the_shop() -> None:
    """Empty every table (identities restart at 1) and the cache, outside the cache's view."""
    tables = list(reversed(db.metadata.sorted_tables))
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(f"{t.schema}.{t.name}" if t.schema else t.name for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())
    for label in caching.regions:
        caching.state().flush(label, patterns=["*"])


def test_random_writes_across_two_sessions_leave_no_stale_read(shop):
    run_state_machine_as_test(ShopMachine, settings=PROFILE)
