"""``Model.cache.window`` and ``paginate``: a page and its count in one backend call.

Each read is compared with the same queries run without the cache; a
commit that changes the listing shows in both the page and the count.
"""

import pytest
from flask import Flask
from sqlalchemy import func, select
from werkzeug.exceptions import NotFound

from caching.pagination import CachePagination
from caching.statements import Statements
from tests.conftest import fresh_session
from tests.models import User, db

pytestmark = pytest.mark.backends  # the misses' herd lock and claims differ on Redis


def plain(offset, limit, desc=False, **criteria):
    """The page and count as the app would query them without the cache."""
    order = User.id.desc() if desc else User.id
    page = db.session.scalars(select(User).filter_by(**criteria).order_by(order).offset(offset).limit(limit))
    total = db.session.scalar(select(func.count()).select_from(User).filter_by(**criteria))
    return [u.username for u in page], total


def read(offset, limit, order_by="asc", **criteria):
    objects, total = User.cache.window(offset, limit, order_by, **criteria)
    return [u.username for u in objects], total


@pytest.mark.parametrize(
    "offset, limit, order_by, criteria",
    [(0, 3, "asc", {}), (2, 2, "desc", {"views": 3}), (8, 5, "asc", {}), (0, None, "asc", {"views": 4}),
     (20, 5, "asc", {}), (0, 3, "asc", {"views": 99})],
)  # fmt: skip
def test_a_window_is_the_page_and_the_count_the_queries_give(users, offset, limit, order_by, criteria):
    expected = plain(offset, limit, order_by == "desc", **criteria)
    fresh_session()

    assert read(offset, limit, order_by, **criteria) == expected  # cold
    fresh_session()
    assert read(offset, limit, order_by, **criteria) == expected  # warm


def test_each_shape_of_statement_is_built_once_and_run_with_each_reads_values(users, monkeypatch):
    """Building a statement costs as much as running it, so each shape (the columns compared,
    which are NULL, the order, whether there is a LIMIT) is built once; reads of one shape bind
    their own values, and reads of other shapes are not confused with them."""
    built = []
    build = Statements._build
    monkeypatch.setattr(Statements, "_build", lambda self, *shape: built.append(shape) or build(self, *shape))
    monkeypatch.setattr(User.cache, "statements", Statements(User.cache.info))  # none built yet
    with db.session.no_autoflush:
        db.session.get(User, 2).email = None
    db.session.commit()
    reads = [(0, 2, "asc", {"views": 3}), (1, 3, "asc", {"views": 4}), (0, 2, "desc", {"views": 3}),
             (0, None, "asc", {"views": 4}), (0, 2, "asc", {"email": None}),
             (0, 2, "asc", {"email": "user3@example.org"})]  # fmt: skip
    for offset, limit, order_by, criteria in reads:
        expected = plain(offset, limit, order_by == "desc", **criteria)
        fresh_session()
        assert read(offset, limit, order_by, **criteria) == expected, criteria

    # rows: views, views descending, views with no LIMIT, email, email NULL; counts: views, email, email NULL
    assert len(built) == len(set(built)) == 8


def test_a_warm_window_is_one_backend_call_and_no_sql(users, sql, counter):
    read(2, 3, views=3)
    fresh_session()
    sql.reset()
    counter.reset()

    assert read(2, 3, views=3) == (["user3", "user4", "user5"], 5)
    assert len(sql) == 0
    assert counter.total() == 1


def test_a_cold_window_runs_the_page_and_the_count_and_stores_both(users, sql, region):
    assert read(0, 2, views=4) == (["user6", "user7"], 5)

    assert [s.split("\n")[0].strip() for s in sql.statements] == [
        "SELECT user.id, user.username, user.email, user.views",
        "SELECT count(*) AS count_1",
    ]
    assert region.get("user.views=4[all][0:2]")[1][0][0] == 6
    assert region.get("user.views=4[all][count]")[1] == 5


def test_a_count_already_cached_is_not_counted_again(users, sql):
    assert User.cache.count(views=3) == 5
    sql.reset()

    assert read(1, 2, views=3) == (["user2", "user3"], 5)
    assert [s.split("\n")[0].strip() for s in sql.statements] == [
        "SELECT user.id, user.username, user.email, user.views"
    ]


def test_a_commit_shows_in_the_page_and_in_the_count(users):
    read(0, 3, views=3)
    read(0, 3, views=4)
    user = db.session.get(User, 2)
    user.views = 4
    db.session.add(User(username="user11", email="user11@example.org", views=3))
    db.session.commit()
    fresh_session()

    assert read(0, 3, views=3) == plain(0, 3, views=3) == (["user1", "user3", "user4"], 5)
    assert read(0, 3, views=4) == plain(0, 3, views=4) == (["user2", "user6", "user7"], 6)


def test_a_transaction_that_wrote_the_table_reads_its_own_writes(users, sql):
    read(0, 3)
    db.session.add(User(username="user0", email="user0@example.org", views=3))
    db.session.flush()

    assert read(8, 5) == (["user9", "user10", "user0"], 11)
    db.session.rollback()
    assert read(8, 5) == (["user9", "user10"], 10)


def test_window_checks_its_arguments_as_filter_does(users):
    with pytest.raises(ValueError, match="order_by"):
        User.cache.window(0, 3, "sideways")
    with pytest.raises(ValueError, match="offset"):
        User.cache.window(-1, 3)
    with pytest.raises(ValueError, match="not declared"):
        User.cache.window(0, 3, username="x", email="y")


def test_paginate_is_flask_sqlalchemys_pager_over_the_cache(app: Flask, users, sql, counter):
    with app.test_request_context("/?page=2&per_page=4"):
        pagination = User.cache.paginate()
        assert isinstance(pagination, CachePagination)
        assert [u.username for u in pagination] == ["user5", "user6", "user7", "user8"]
        assert (pagination.page, pagination.per_page, pagination.total, pagination.pages) == (2, 4, 10, 3)
        assert (pagination.has_prev, pagination.has_next, list(pagination.iter_pages())) == (
            True,
            True,
            [1, 2, 3],
        )
        fresh_session()
        sql.reset()
        counter.reset()
        assert [u.username for u in User.cache.paginate()] == ["user5", "user6", "user7", "user8"]
        assert (len(sql), counter.total()) == (0, 1)


def test_paginate_next_and_prev_read_the_neighbouring_pages_without_counting(app: Flask, users, sql):
    with app.test_request_context("/"):
        first = User.cache.paginate(page=1, per_page=4)
        second = first.next()
        User.cache.flush("user.id[all][count]")  # a neighbour that counted would count again
        fresh_session()
        sql.reset()
        third = second.next()
        back = third.prev()
        assert [[u.username for u in p] for p in (second, third, back)] == [
            ["user5", "user6", "user7", "user8"],
            ["user9", "user10"],
            ["user5", "user6", "user7", "user8"],
        ]
        assert (second.total, third.total, third.has_next) == (10, 10, False)
        assert [s.split("\n")[0].strip() for s in sql.statements] == [
            "SELECT user.id, user.username, user.email, user.views"
        ]  # the third page's rows; no count, and the second page again from the cache


def test_paginate_by_criteria_and_without_count(app: Flask, users):
    with app.test_request_context("/"):
        pagination = User.cache.paginate(page=2, per_page=2, views=4, order_by="desc")
        assert ([u.username for u in pagination], pagination.total) == (["user8", "user7"], 5)
        uncounted = User.cache.paginate(page=1, per_page=3, count=False)
        assert ([u.username for u in uncounted], uncounted.total) == (["user1", "user2", "user3"], None)


def test_paginate_past_the_last_page_is_a_404_unless_error_out_is_off(app: Flask, users):
    with app.test_request_context("/?page=9"):
        with pytest.raises(NotFound):
            User.cache.paginate(per_page=5)
        assert User.cache.paginate(per_page=5, error_out=False).items == []
