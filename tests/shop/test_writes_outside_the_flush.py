"""Item 4: bulk helpers and Core DML on the session's engine are seen.

``bulk_save_objects``, ``bulk_insert_mappings``, ``bulk_update_mappings``
and Core ``insert()``/``update()``/``delete()`` run on
``session.connection()`` or on another connection of the same engine skip
the ORM's flush events. After their transaction commits, cached reads must
answer what the database answers; inside the session's transaction, reads
must see the write.
"""

from decimal import Decimal

import pytest
from sqlalchemy import delete, insert, select, update

from tests.shop.compare import assert_matches_database, assert_matches_session, count, get, listing, statement
from tests.shop.models import OrderLine, db

# writes whose rows are unknown flush the whole table: by SCAN on Redis
pytestmark = pytest.mark.backends

LINES = OrderLine.__table__
READS = (
    get(OrderLine, 1),
    get(OrderLine, 2),
    get(OrderLine, 5),
    listing(OrderLine, order_id=1),
    listing(OrderLine, qty=7),
    count(OrderLine),
    count(OrderLine, order_id=1),
    statement(
        select(OrderLine.id, OrderLine.sku, OrderLine.qty).order_by(OrderLine.id), "FromCache: all lines"
    ),
)
NEW_LINE = {"order_id": 1, "sku": "clip", "qty": 7, "price": Decimal("0.35")}

BULK_HELPERS = {
    "bulk_save_objects": lambda session: session.bulk_save_objects([OrderLine(**NEW_LINE)]),
    "bulk_insert_mappings": lambda session: session.bulk_insert_mappings(OrderLine, [NEW_LINE]),
    "bulk_update_mappings": lambda session: session.bulk_update_mappings(OrderLine, [{"id": 1, "qty": 7}]),
}
CORE_STATEMENTS = {
    "insert": lambda: insert(LINES).values(**NEW_LINE),
    "update": lambda: update(LINES).where(LINES.c.id == 1).values(qty=7),
    "delete": lambda: delete(LINES).where(LINES.c.id == 2),
}


@pytest.mark.parametrize("helper", BULK_HELPERS.values(), ids=BULK_HELPERS)
def test_bulk_helper_is_seen_in_its_transaction_and_after_commit(stock, helper):
    assert_matches_database(*READS)

    helper(db.session)
    assert_matches_session(*READS)
    db.session.commit()

    assert_matches_database(*READS)


@pytest.mark.parametrize("statement_for", CORE_STATEMENTS.values(), ids=CORE_STATEMENTS)
def test_core_statement_on_the_session_connection_is_seen_in_its_transaction_and_after_commit(
    stock, statement_for
):
    assert_matches_database(*READS)

    db.session.connection().execute(statement_for())
    assert_matches_session(*READS)
    db.session.commit()

    assert_matches_database(*READS)


@pytest.mark.parametrize("statement_for", CORE_STATEMENTS.values(), ids=CORE_STATEMENTS)
def test_core_statement_on_an_engine_connection_is_seen_after_commit(stock, statement_for):
    assert_matches_database(*READS)

    with db.engine.begin() as conn:
        conn.execute(statement_for())

    assert_matches_database(*READS)


@pytest.mark.parametrize("helper", BULK_HELPERS.values(), ids=BULK_HELPERS)
def test_rolled_back_bulk_write_read_in_its_transaction_is_not_served_afterwards(stock, helper):
    """Cold reads inside the transaction must not store what it had written."""
    helper(db.session)
    for read in READS:
        read.cached()
    db.session.rollback()

    assert_matches_database(*READS)
