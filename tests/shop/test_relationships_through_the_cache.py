"""Relationship loads read the cache and answer what the database answers.

``Post.tags`` goes through a ``secondary`` table, ``Customer.orders`` and
``Order.lines`` are ordered by primary key, ``Customer.addresses`` is a
legacy ``backref``, ``Order.customer`` a many-to-one. Warm, each page of
them runs no SQL; after any write, what they load matches plain lazy loads.
"""

import pytest
from sqlalchemy import event, insert, update

from tests.shop.compare import assert_matches_database, related
from tests.shop.models import Customer, Order, Post, Tag, db, post_tag

RELATED = (
    related(Customer, "orders"),
    related(Customer, "addresses"),
    related(Customer, "biggest_orders"),
    related(Order, "lines"),
    related(Order, "customer"),
    related(Post, "tags"),
    related(Tag, "posts"),
)


@pytest.fixture
def sql(shop):
    statements = []
    listener = lambda conn, cursor, statement, *args: statements.append(statement)  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    yield statements
    event.remove(db.engine, "before_cursor_execute", listener)


def tag_names():
    return [(p.title, [t.name for t in p.tags]) for p in Post.cache.filter()]


def test_every_relationship_matches_the_database(stock):
    assert_matches_database(*RELATED)
    assert_matches_database(*RELATED)  # warm


@pytest.mark.parametrize(
    "read",
    [
        lambda: tag_names(),
        lambda: [[o.total for o in c.orders] for c in Customer.cache.filter()],
        lambda: [[line.sku for line in o.lines] for o in Order.cache.filter()],
        lambda: [o.customer.name for o in Order.cache.filter()],
        lambda: [[p.title for p in t.posts] for t in Tag.cache.filter()],
    ],
    ids=["post tags", "customer orders", "order lines", "order customer", "tag posts"],
)
def test_a_warm_page_of_related_objects_runs_no_sql(stock, sql, read):
    first = read()
    db.session.remove()
    sql.clear()
    assert read() == first
    assert sql == []


def test_many_to_many_loads_every_posts_tags_in_one_statement(stock, sql):
    assert tag_names() == [("hello", ["red", "blue"]), ("world", ["blue"])]
    assert len(sql) == 2  # the posts, then every post's tags through the secondary table
    assert "JOIN shop_post_tag" in sql[1].replace('"', "")


def test_tagging_and_untagging_show_at_once(stock):
    tag_names()
    db.session.remove()
    post = Post.cache.get(2)
    post.tags.append(Tag.cache.get(3))
    db.session.commit()
    db.session.remove()
    assert tag_names() == [("hello", ["red", "blue"]), ("world", ["blue", "green"])]
    db.session.execute(post_tag.delete().where(post_tag.c.tag_id == 2))  # Core, on the secondary table
    db.session.commit()
    db.session.remove()
    assert tag_names() == [("hello", ["red"]), ("world", ["green"])]
    assert_matches_database(*RELATED)


def test_a_renamed_tag_shows_in_every_posts_tags(stock):
    tag_names()
    db.session.remove()
    db.session.execute(update(Tag).where(Tag.id == 2).values(name="navy"))
    db.session.commit()
    db.session.remove()
    assert tag_names() == [("hello", ["red", "navy"]), ("world", ["navy"])]


def test_a_link_inserted_by_core_on_another_connection_shows(stock):
    tag_names()
    db.session.remove()
    with db.engine.begin() as conn:
        conn.execute(insert(post_tag).values(post_id=1, tag_id=3))
    assert tag_names() == [("hello", ["red", "blue", "green"]), ("world", ["blue"])]


def test_an_order_moved_between_customers_leaves_one_list_and_joins_the_other(stock):
    assert_matches_database(*RELATED)
    db.session.execute(update(Order).where(Order.id == 3).values(customer_id=1))
    db.session.commit()
    db.session.remove()
    assert [[o.id for o in c.orders] for c in Customer.cache.filter()] == [[1, 2, 3], [], []]
    assert_matches_database(*RELATED)


def test_a_relationship_in_another_order_than_the_listings_is_left_to_sql(stock, sql):
    """Listings are kept in primary key order; ``biggest_orders`` sorts by total."""
    biggest = [[o.total for o in c.biggest_orders] for c in Customer.cache.filter()]
    db.session.remove()
    sql.clear()
    assert [[o.total for o in c.biggest_orders] for c in Customer.cache.filter()] == biggest
    assert biggest[0] == sorted(biggest[0], reverse=True)
    assert len(sql) == 3  # one lazy load per customer, by SQLAlchemy


def test_the_session_sees_its_own_links_before_commit(stock):
    """A Core write to the secondary table inside the transaction: ``post.tags`` must show it."""
    tag_names()
    db.session.remove()
    db.session.execute(insert(post_tag).values(post_id=2, tag_id=3))
    assert [t.name for t in Post.cache.get(2).tags] == ["blue", "green"]
    db.session.rollback()
    db.session.remove()
    assert [t.name for t in Post.cache.get(2).tags] == ["blue"]
