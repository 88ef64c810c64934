"""Item 6: criteria and written values name the rows the database finds.

Whenever the database finds two values equal, the cache must too: a
``str`` enum written as its string value, an ``IntEnum`` stored in an
Integer column, a float given for a ``Numeric`` column, naive and aware
datetimes on a ``DateTime(timezone=True)`` column. A criterion the cache
cannot make canonical may be refused with an error naming its column, but
never answered wrongly.
"""

import datetime
from decimal import Decimal

import pytest

from tests.shop.compare import Read, assert_matches_database, count, listing
from tests.shop.models import Customer, Order, OrderLine, Status, Tier, db

UTC = datetime.UTC
NOON = datetime.datetime(2024, 1, 1, 12)  # customer 1 joined then (UTC)
JUNE = datetime.datetime(2024, 6, 1, 12)


def assert_finds_what_sql_finds_or_refuses(column: str, *reads: Read) -> None:
    for read in reads:
        try:
            assert_matches_database(read)
        except (TypeError, ValueError) as exc:
            assert column in str(exc), f"{read.name} refused without naming {column}: {exc}"


def test_status_written_as_its_string_value_leaves_no_stale_enum_listing(stock):
    reads = (count(Order, status=Status.SUSPENDED), count(Order, status=Status.ACTIVE))
    assert_finds_what_sql_finds_or_refuses("status", *reads)

    order = db.session.get(Order, 1)
    order.status = "suspended"  # as a form posts it; SQLAlchemy stores Status.SUSPENDED
    db.session.commit()

    assert_finds_what_sql_finds_or_refuses("status", *reads)


@pytest.mark.parametrize("criterion", ["active", "ACTIVE", Status.ACTIVE], ids=["value", "name", "member"])
def test_status_criteria_find_what_sql_finds_or_are_refused(stock, criterion):
    """SQLAlchemy's Enum takes a member, its value or its name: all three find the same rows."""
    reads = (count(Order, status=criterion), count(Order, customer_id=1, status=criterion))
    assert_finds_what_sql_finds_or_refuses("status", *reads)

    order = db.session.get(Order, 1)
    order.status = Status.CLOSED
    db.session.commit()

    assert_finds_what_sql_finds_or_refuses("status", *reads)


def test_tier_written_as_an_int_enum_leaves_no_stale_listing(stock):
    reads = (
        count(Customer, tier=2),
        count(Customer, tier=Tier.GOLD),
        listing(Customer, tier=1),
        listing(Customer, tier=Tier.BASIC),
    )
    assert_finds_what_sql_finds_or_refuses("tier", *reads)

    customer = db.session.get(Customer, 1)
    customer.tier = Tier.GOLD
    db.session.commit()

    assert_finds_what_sql_finds_or_refuses("tier", *reads)


def test_float_criteria_on_a_numeric_column_find_what_sql_finds(stock):
    reads = (
        listing(OrderLine, price=0.1),
        count(OrderLine, price=0.1),
        count(OrderLine, price=Decimal("0.10")),
    )
    assert_finds_what_sql_finds_or_refuses("price", *reads)

    line = db.session.get(OrderLine, 1)
    line.price = Decimal("0.25")
    db.session.commit()

    assert_finds_what_sql_finds_or_refuses("price", *reads)


def test_naive_and_aware_datetime_criteria_find_what_sql_finds(stock):
    reads = (
        listing(Customer, joined_at=NOON.replace(tzinfo=UTC)),
        count(Customer, joined_at=NOON.replace(tzinfo=UTC)),
        listing(Customer, joined_at=NOON),
        count(Customer, joined_at=NOON),
    )
    assert_finds_what_sql_finds_or_refuses("joined_at", *reads)

    customer = db.session.get(Customer, 1)
    customer.joined_at = JUNE.replace(tzinfo=UTC)
    db.session.commit()

    assert_finds_what_sql_finds_or_refuses("joined_at", *reads)


def test_naive_datetime_written_to_an_aware_column_shows_in_the_aware_listing(stock):
    reads = (
        listing(Customer, joined_at=JUNE.replace(tzinfo=UTC)),
        count(Customer, joined_at=JUNE.replace(tzinfo=UTC)),
    )
    assert_finds_what_sql_finds_or_refuses("joined_at", *reads)

    customer = db.session.get(Customer, 1)
    customer.joined_at = JUNE
    db.session.commit()

    assert_finds_what_sql_finds_or_refuses("joined_at", *reads)
