"""Item 1: rows the unit of work deletes or links on its own are seen.

A child removed from a ``delete-orphan`` collection is deleted by the flush
without being in ``session.deleted``; rows of a ``secondary`` table are
written by ``post.tags.append(tag)`` without any mapped object of their
own. Cached reads must still answer what the database answers, after the
commit and inside the transaction that wrote them.
"""

from sqlalchemy import select

from tests.shop.compare import assert_matches_database, assert_matches_session, count, get, listing, statement
from tests.shop.models import Customer, Order, OrderLine, Post, ShippingAddress, Tag, db, post_tag

LINE_READS = (
    get(OrderLine, 1),
    listing(OrderLine, order_id=1),
    listing(OrderLine, sku="pen"),
    count(OrderLine),
    count(OrderLine, order_id=1),
)
ADDRESS_READS = (
    get(ShippingAddress, 1),
    get(ShippingAddress, 2),
    listing(ShippingAddress),
    count(ShippingAddress),
)
ORDER_READS = (get(OrderLine, 3), count(Order), count(Order, customer_id=1), count(OrderLine, order_id=2))
TAGS_OF_POST_2 = statement(
    select(post_tag.c.tag_id).where(post_tag.c.post_id == 2).order_by(post_tag.c.tag_id),
    "FromCache: tag ids of post 2 from the secondary table",
)


def test_line_removed_from_an_order_is_gone_from_cached_reads(stock):
    """``Order.lines`` has no back reference."""
    assert_matches_database(*LINE_READS)

    order = db.session.get(Order, 1)
    order.lines.remove(db.session.get(OrderLine, 1))
    db.session.commit()

    assert_matches_database(*LINE_READS)


def test_lines_replaced_by_an_empty_list_are_gone_from_cached_reads(stock):
    assert_matches_database(*LINE_READS)

    order = db.session.get(Order, 1)
    order.lines = []
    db.session.commit()

    assert_matches_database(*LINE_READS)


def test_address_removed_through_a_backref_collection_is_gone_from_cached_reads(stock):
    """``Customer.addresses`` declares ``backref="customer"``."""
    assert_matches_database(*ADDRESS_READS)

    customer = db.session.get(Customer, 1)
    customer.addresses.remove(db.session.get(ShippingAddress, 1))
    db.session.commit()

    assert_matches_database(*ADDRESS_READS)


def test_addresses_replaced_by_an_empty_list_are_gone_from_cached_reads(stock):
    assert_matches_database(*ADDRESS_READS)

    customer = db.session.get(Customer, 1)
    customer.addresses = []
    db.session.commit()

    assert_matches_database(*ADDRESS_READS)


def test_order_removed_from_a_back_populates_collection_and_its_lines_are_gone(stock):
    """The orphaned order's own ``delete-orphan`` lines go with it."""
    assert_matches_database(*ORDER_READS)

    customer = db.session.get(Customer, 1)
    customer.orders.remove(db.session.get(Order, 2))
    db.session.commit()

    assert_matches_database(*ORDER_READS)


def test_reads_in_the_transaction_see_the_orphan_deleted(stock):
    assert_matches_database(*LINE_READS)

    order = db.session.get(Order, 1)
    order.lines = []
    db.session.flush()

    assert_matches_session(*LINE_READS)


def test_tag_appended_to_a_post_shows_in_a_statement_over_the_secondary_table(stock):
    assert_matches_database(TAGS_OF_POST_2)

    post = db.session.get(Post, 2)
    post.tags.append(db.session.get(Tag, 3))
    db.session.commit()

    assert_matches_database(TAGS_OF_POST_2)


def test_tag_removed_from_a_post_is_gone_from_a_statement_over_the_secondary_table(stock):
    assert_matches_database(TAGS_OF_POST_2)

    post = db.session.get(Post, 2)
    post.tags.remove(db.session.get(Tag, 2))
    db.session.commit()

    assert_matches_database(TAGS_OF_POST_2)


def test_statement_in_the_transaction_sees_the_tag_appended(stock):
    assert_matches_database(TAGS_OF_POST_2)

    post = db.session.get(Post, 2)
    post.tags.append(db.session.get(Tag, 3))
    db.session.flush()

    assert_matches_session(TAGS_OF_POST_2)
