"""Item 7: a ``FromCache`` entry is one statement's result, kept fresh.

Statements that compile to the same SQL but return different shapes
(``select(Tag)`` and ``select(Tag.id, Tag.name)``) must not share an entry,
and a statement must be invalidated by writes to every table it reads:
relationship join targets, secondary tables, subqueries, CTEs, aliases.
"""

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from tests.shop.compare import assert_matches_database, statement
from tests.shop.models import Customer, Order, OrderLine, Post, Tag, db

CUSTOMERS_WITH_ORDERS = statement(
    select(Customer.name).join(Customer.orders).distinct().order_by(Customer.name),
    "FromCache: customers with orders (join through Customer.orders)",
)
TAG_COUNT_PER_POST = statement(
    select(Post.title, func.count()).join(Post.tags).group_by(Post.title).order_by(Post.title),
    "FromCache: tags per post (join through the secondary table)",
)
BIG_SPENDERS = (
    statement(
        select(Customer.name)
        .where(Customer.id.in_(select(Order.customer_id).where(Order.total > 5).scalar_subquery()))
        .order_by(Customer.name),
        "FromCache: customers with an order over 5 (subquery)",
    ),
    statement(
        select(Customer.name)
        .join(
            big := select(Order.customer_id).where(Order.total > 5).cte("big"),
            big.c.customer_id == Customer.id,
        )
        .distinct()
        .order_by(Customer.name),
        "FromCache: customers with an order over 5 (CTE)",
    ),
    statement(
        select(Customer.name)
        .join(order := aliased(Order), order.customer_id == Customer.id)
        .where(order.total > 5)
        .distinct()
        .order_by(Customer.name),
        "FromCache: customers with an order over 5 (aliased Order)",
    ),
)
UNITS_PER_ORDER = statement(
    select(OrderLine.order_id, func.sum(OrderLine.qty), func.count())
    .group_by(OrderLine.order_id)
    .order_by(OrderLine.order_id),
    "FromCache: units and lines per order (aggregates)",
)


def test_entities_and_columns_of_the_same_sql_do_not_share_an_entry(stock):
    assert_matches_database(
        statement(select(Tag).order_by(Tag.id), "FromCache: select(Tag)"),
        statement(select(Tag.id, Tag.name).order_by(Tag.id), "FromCache: select(Tag.id, Tag.name)"),
    )


def test_columns_then_entities_of_the_same_sql_do_not_share_an_entry(stock):
    assert_matches_database(
        statement(select(Tag.id, Tag.name).order_by(Tag.id), "FromCache: select(Tag.id, Tag.name)"),
        statement(select(Tag).order_by(Tag.id), "FromCache: select(Tag)"),
    )


def test_new_row_of_a_relationship_join_target_invalidates_the_statement(stock):
    assert_matches_database(CUSTOMERS_WITH_ORDERS)

    db.session.add(Order(customer_id=3, total=Decimal("1.00")))
    db.session.commit()

    assert_matches_database(CUSTOMERS_WITH_ORDERS)


def test_deleted_tag_invalidates_a_statement_joining_through_the_secondary_table(stock):
    assert_matches_database(TAG_COUNT_PER_POST)

    db.session.delete(db.session.get(Tag, 2))
    db.session.commit()

    assert_matches_database(TAG_COUNT_PER_POST)


def test_changed_row_in_a_subquery_cte_or_alias_invalidates_the_statement(stock):
    assert_matches_database(*BIG_SPENDERS)

    order = db.session.get(Order, 3)
    order.total = Decimal("2.00")  # bob's only order drops under 5
    db.session.commit()

    assert_matches_database(*BIG_SPENDERS)


def test_changed_row_invalidates_an_aggregate_statement(stock):
    assert_matches_database(UNITS_PER_ORDER)

    line = db.session.get(OrderLine, 3)
    line.qty = 10
    db.session.commit()

    assert_matches_database(UNITS_PER_ORDER)
