"""``Model.cache.filter`` and ``count``: a listing is one entry holding its rows;
its pages and its count are entries of their own, under the listing's guard."""

import pytest
from dogpile.cache.api import NO_VALUE

from tests.conftest import fresh_session
from tests.models import Address, User


def names(objects):
    return [o.username for o in objects]


def test_all_users_in_pk_order(users):
    assert names(User.cache.filter()) == [f"user{i}" for i in range(1, 11)]


def test_cold_listing_runs_one_statement_and_stores_the_rows_in_one_entry(users, sql, counter, region):
    result = User.cache.filter(views=3)

    assert names(result) == ["user1", "user2", "user3", "user4", "user5"]
    assert len(sql) == 1
    assert sql.statements[0].startswith("SELECT user.id, user.username, user.email, user.views")
    writes = [[k for k in w if ":gen:" not in k] for w in counter.writes]
    listing_writes = [w for w in writes if any(k.endswith(":user.views=3[all]") for k in w)]
    assert [len(w) for w in listing_writes] == [1]
    assert region.get("user.views=3[all]")[1][0] == [1, "user1", "user1@example.org", 3]
    assert not any(":user.id[" in k for w in writes for k in w)  # no object entries


def test_warm_listing_runs_no_sql_and_one_backend_call(users, sql, counter):
    User.cache.filter(views=3)
    fresh_session()
    sql.reset()
    counter.reset()

    result = User.cache.filter(views=3)

    assert names(result) == ["user1", "user2", "user3", "user4", "user5"]
    assert [u.email for u in result] == [f"user{i}@example.org" for i in range(1, 6)]
    assert len(sql) == 0
    assert counter.total() == 1


def test_a_page_is_one_statement_and_one_entry_of_its_own(users, sql, region):
    assert names(User.cache.filter(offset=2, limit=3)) == ["user3", "user4", "user5"]
    assert len(sql) == 1
    assert "LIMIT" in sql.statements[0] and "OFFSET" in sql.statements[0]
    assert [row[0] for row in region.get("user.id[all][2:5]")[1]] == [3, 4, 5]
    assert region.get("user.id[all]") is NO_VALUE  # the page did not load the whole table
    fresh_session()
    sql.reset()
    assert names(User.cache.filter(offset=2, limit=3)) == ["user3", "user4", "user5"]
    assert len(sql) == 0


def test_a_write_flushes_every_page_and_the_count_of_a_listing_with_its_guard(users, sql):
    User.cache.filter(views=3, limit=2)
    User.cache.filter(views=3, offset=2, limit=2)
    User.cache.count(views=3)
    User.cache.get(1).email = "changed@example.org"
    from tests.models import db

    db.session.commit()
    fresh_session()
    sql.reset()
    assert User.cache.filter(views=3, limit=2)[0].email == "changed@example.org"
    assert names(User.cache.filter(views=3, offset=2, limit=2)) == ["user3", "user4"]
    assert User.cache.count(views=3) == 5
    assert len(sql) == 3  # each re-read once: their shared guard was flushed


def test_offset_and_limit_page_through_the_listing(users):
    assert names(User.cache.filter(offset=2, limit=3)) == ["user3", "user4", "user5"]
    assert names(User.cache.filter(offset=8)) == ["user9", "user10"]
    assert names(User.cache.filter(limit=2)) == ["user1", "user2"]
    assert User.cache.filter(offset=20) == []


def test_desc_order_then_page(users):
    assert names(User.cache.filter(order_by="desc", offset=1, limit=2)) == ["user9", "user8"]
    assert names(User.cache.filter(views=3, order_by="desc")) == [f"user{i}" for i in (5, 4, 3, 2, 1)]


def test_listing_key_names_the_column_and_value(users, region):
    User.cache.filter(views=3)
    assert [row[0] for row in region.get("user.views=3[all]")[1]] == [1, 2, 3, 4, 5]
    User.cache.filter()
    assert [row[0] for row in region.get("user.id[all]")[1]] == list(range(1, 11))
    User.cache.filter(views=3, order_by="desc", limit=2)
    assert [row[0] for row in region.get("user.views=3[all][0:2:desc]")[1]] == [5, 4]


def test_declared_column_set_filters_and_uses_a_sorted_key(users, region):
    result = Address.cache.filter(user_id=4, email="a@b.org")
    assert [a.email for a in result] == ["a@b.org"]
    assert [row[0] for row in region.get("address.email=a@b.org&user_id=4[all]")[1]] == [1]


def test_values_that_would_break_the_key_grammar_are_escaped(users, region):
    User.cache.filter(email="x&y=z[1]")
    assert region.get("user.email=x%26y%3Dz%5B1%5D[all]")[1] == []


def test_unknown_column_names_model_and_column(users):
    with pytest.raises(TypeError, match=r"User has no column 'nope'"):
        User.cache.filter(nope=1)


def test_undeclared_column_set_is_refused(users):
    with pytest.raises(
        ValueError, match=r"User\.cache\.filter: columns \('email', 'views'\) are not declared"
    ):
        User.cache.filter(views=3, email="user1@example.org")


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"order_by": "sideways"}, ValueError, "order_by must be 'asc' or 'desc', got 'sideways'"),
        ({"offset": -1}, ValueError, "offset must be >= 0"),
        ({"limit": "5"}, TypeError, "limit must be an int"),
        ({"id": 3}, ValueError, r"use User\.cache\.get\(\)"),
        ({"views": "many"}, TypeError, r"User\.views expects int, got str 'many'"),
    ],
)
def test_bad_arguments_are_clear_errors(users, kwargs, error, message):
    with pytest.raises(error, match=message):
        User.cache.filter(**kwargs)


def test_a_filter_value_given_as_string_shares_the_key(users, region, sql):
    User.cache.filter(views=3)
    fresh_session()
    sql.reset()
    assert names(User.cache.filter(views="3")) == ["user1", "user2", "user3", "user4", "user5"]
    assert len(sql) == 0


def test_count_is_one_number_of_its_own(users, sql, counter, region):
    assert User.cache.count(views=3) == 5
    assert User.cache.count() == 10
    fresh_session()
    sql.reset()
    counter.reset()
    assert User.cache.count(views=4) == 5
    assert len(sql) == 1
    assert sql.statements[0].startswith("SELECT count(*)")
    assert region.get("user.views=4[all][count]")[1] == 5
    assert region.get("user.views=4[all]") is NO_VALUE  # counting loads no rows
    sql.reset()
    counter.reset()
    assert User.cache.count(views=4) == 5
    assert (len(sql), counter.total()) == (0, 1)
