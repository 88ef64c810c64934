"""``Model.cache.get``: read-through by primary key."""

import pytest
from dogpile.cache.api import NO_VALUE

from tests.conftest import fresh_session
from tests.models import User, db


def test_miss_runs_one_select_then_hit_runs_no_sql_and_one_backend_call(users, sql, counter):
    user = User.cache.get(4)
    assert (user.id, user.username, user.views) == (4, "user4", 3)
    assert len(sql) == 1
    fresh_session()
    sql.reset()
    counter.reset()

    user = User.cache.get(4)

    assert (user.id, user.username, user.email, user.views) == (4, "user4", "user4@example.org", 3)
    assert len(sql) == 0
    assert counter.total() == 1


def test_hit_is_attached_to_the_session_and_tracks_changes(users, sql):
    User.cache.get(4)
    fresh_session()
    user = User.cache.get(4)
    assert user in db.session
    user.views = 7
    db.session.commit()
    fresh_session()
    assert db.session.get(User, 4).views == 7


def test_returns_the_identity_map_object_without_sql_or_backend(users, sql, counter):
    user = db.session.get(User, 4)
    sql.reset()
    counter.reset()
    assert User.cache.get(4) is user
    assert len(sql) == 0
    assert counter.total() == 0


def test_expired_identity_map_object_is_refreshed_from_cache_without_sql(users, sql):
    user = User.cache.get(4)
    db.session.commit()  # expires every loaded object
    sql.reset()
    assert User.cache.get(4) is user
    assert user.views == 3
    assert len(sql) == 0


def test_missing_object_returns_none_and_is_cached(users, sql):
    assert User.cache.get(99) is None
    assert len(sql) == 1
    fresh_session()
    assert User.cache.get(99) is None
    assert len(sql) == 1


def test_entry_is_found_under_the_readable_key(users, region):
    User.cache.get(4)
    _tokens, values = region.get("user.id[4]")
    assert values == [4, "user4", "user4@example.org", 3]
    assert region.get("user.id[5]") is NO_VALUE


def test_pk_given_as_string_is_coerced(users):
    assert User.cache.get("4").id == 4


def test_non_integer_pk_is_a_clear_error(users):
    with pytest.raises(TypeError, match=r"User\.id expects int, got str 'abc'"):
        User.cache.get("abc")


def test_with_the_cache_disabled_reads_go_to_the_database(app, users, sql, counter):
    from tests.models import caching

    caching.state().enabled = False
    try:
        assert User.cache.get(4).username == "user4"
        assert [u.id for u in User.cache.filter(views=3, limit=2)] == [1, 2]
        fresh_session()
        sql.reset()
        User.cache.get(4)
        assert len(sql) == 1
        assert counter.calls["get_serialized_multi"] == 0
    finally:
        caching.state().enabled = True
