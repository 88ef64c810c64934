"""``Model.cache.filter``: cached listings of primary keys, objects by key."""

import pytest

from dashboard.models import Address, User
from tests.conftest import fresh_session


def names(objects):
    return [o.username for o in objects]


def test_all_users_in_pk_order(users):
    assert names(User.cache.filter()) == [f"user{i}" for i in range(1, 11)]


def test_cold_listing_runs_two_statements_and_stores_objects_with_one_set_multi(users, sql, counter, region):
    result = User.cache.filter(views=3)

    assert names(result) == ["user1", "user2", "user3", "user4", "user5"]
    assert len(sql) == 2
    assert sql.statements[0].startswith("SELECT user.id")
    assert " IN (" in sql.statements[1]
    object_writes = [w for w in counter.writes if any(":user.id[" in k and ":gen:" not in k for k in w)]
    assert len(object_writes) == 1
    assert len(object_writes[0]) == 5
    for pk in range(1, 6):
        assert region.get(f"user.id[{pk}]")[1][0] == pk


def test_warm_listing_runs_no_sql_and_two_backend_calls(users, sql, counter):
    User.cache.filter(views=3)
    fresh_session()
    sql.reset()
    counter.reset()

    result = User.cache.filter(views=3)

    assert names(result) == ["user1", "user2", "user3", "user4", "user5"]
    assert len(sql) == 0
    assert counter.total() == 2


def test_cold_objects_load_with_one_in_query_not_one_per_object(users, sql):
    User.cache.filter()  # pk listing + one IN for all ten
    assert len(sql) == 2
    assert sum(" IN (" in s for s in sql.statements) == 1


def test_objects_already_cached_are_not_queried(users, sql):
    User.cache.get(2)
    fresh_session()
    sql.reset()
    User.cache.filter(views=3)
    assert len(sql) == 2
    assert len(sql.parameters[1]) == 4  # only the four missing objects


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
    assert region.get("user.views=3[all]")[1] == [1, 2, 3, 4, 5]
    User.cache.filter()
    assert region.get("user.id[all]")[1] == list(range(1, 11))


def test_declared_column_set_filters_and_uses_a_sorted_key(users, region):
    result = Address.cache.filter(user_id=4, email="a@b.org")
    assert [a.email for a in result] == ["a@b.org"]
    assert region.get("address.email=a@b.org&user_id=4[all]")[1] == [1]


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


def test_count_reads_the_listing_only(users, sql, counter):
    assert User.cache.count(views=3) == 5
    assert User.cache.count() == 10
    fresh_session()
    sql.reset()
    counter.reset()
    assert User.cache.count(views=4) == 5
    assert len(sql) == 1  # the pk query of a cold listing
    sql.reset()
    counter.reset()
    assert User.cache.count(views=4) == 5
    assert (len(sql), counter.total()) == (0, 1)
