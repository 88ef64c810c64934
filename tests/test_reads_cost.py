"""What a warm read costs the backend, and what the direct read keeps of dogpile's rules.

Warm reads skip dogpile's ``get_multi`` (``PlainRegion.get_payloads``): one
backend call of the value's key and its guard, each value decoded once. The
region's expiration time and ``invalidate()`` still make a value a miss.
"""

import time

import pytest
from sqlalchemy import insert

from bench.counts import Recorder
from tests.conftest import fresh_session
from tests.models import User, caching, db

pytestmark = pytest.mark.backends  # backend calls per read; expiration and invalidate() on each backend


def recorded(region) -> Recorder:
    """What the region's backend is asked to read and write from now on."""
    proxy = Recorder()
    region.wrap(proxy)
    return proxy


def logical(stored_keys):
    return [caching.state().region("default").namespace.unmangle(k) for k in stored_keys]


def test_a_warm_listing_and_page_read_one_key_and_its_guard_in_one_call(users, region, sql, counter):
    User.cache.filter(views=3)
    User.cache.filter(views=3, offset=1, limit=2)
    fresh_session()
    proxy = recorded(region)
    counter.reset()

    listing = User.cache.filter(views=3)
    page = User.cache.filter(views=3, offset=1, limit=2)

    assert [u.id for u in listing] == [1, 2, 3, 4, 5] and [u.id for u in page] == [2, 3]
    assert [logical(keys) for keys in proxy.reads] == [
        ["user.views=3[all]", "gen:user.views=3[all]"],
        ["user.views=3[all][1:3]", "gen:user.views=3[all]"],
    ]
    assert counter.total() == 2
    assert len(sql) == 2  # the two cold reads only


def test_a_warm_get_reads_one_key_and_its_guard_in_one_call(users, region, counter):
    User.cache.get(4)
    fresh_session()
    proxy = recorded(region)
    counter.reset()

    assert User.cache.get(4).username == "user4"
    assert [logical(keys) for keys in proxy.reads] == [["user.id[4]", "gen:user.id[4]"]]
    assert counter.total() == 1


def test_a_page_of_a_big_table_writes_small_values(app, region):
    rows = [{"username": f"u{i}", "email": f"u{i}@example.org", "views": i % 7} for i in range(20_000)]
    db.session.execute(insert(User), rows)
    db.session.commit()
    proxy = recorded(region)

    page = User.cache.filter(offset=10_000, limit=20)
    assert User.cache.count() == 20_000

    assert [u.id for u in page] == list(range(10_001, 10_021))
    values = {k: size for k, size in proxy.written.items() if ":gen:" not in k}
    assert logical(values) == ["user.id[all][10000:10020]", "user.id[all][count]"]
    assert max(values.values()) < 2_048  # 20 rows, whatever the table's size


def test_a_value_past_the_expiration_time_is_a_miss(users, sql, monkeypatch):
    User.cache.filter(views=3)
    User.cache.get(4)
    fresh_session()
    sql.reset()
    later = time.time() + 301  # the regions' expiration_time is 300 s
    monkeypatch.setattr(time, "time", lambda: later)

    assert [u.id for u in User.cache.filter(views=3)] == [1, 2, 3, 4, 5]
    assert User.cache.get(4).username == "user4"
    assert len(sql) == 2


def test_a_value_still_within_the_expiration_time_is_a_hit(users, sql, monkeypatch):
    User.cache.get(4)
    fresh_session()
    sql.reset()
    later = time.time() + 290
    monkeypatch.setattr(time, "time", lambda: later)

    assert User.cache.get(4).username == "user4"
    assert len(sql) == 0


def test_values_stored_before_the_region_is_invalidated_are_misses(users, sql, region):
    User.cache.filter(views=3)
    User.cache.get(4)
    time.sleep(0.01)  # dogpile compares creation times with the invalidation's
    region.invalidate()
    fresh_session()
    sql.reset()

    assert [u.id for u in User.cache.filter(views=3)] == [1, 2, 3, 4, 5]
    assert User.cache.get(4).username == "user4"
    assert len(sql) == 2
    fresh_session()
    assert User.cache.get(4).username == "user4"
    assert len(sql) == 2  # stored again after the invalidation: a hit


def test_a_listing_hit_refreshes_expired_objects_of_the_session_without_sql(users, sql):
    User.cache.filter(views=3)
    fresh_session()
    held = db.session.get(User, 2)
    db.session.expire(held)
    sql.reset()

    listing = User.cache.filter(views=3)

    assert listing[1] is held
    assert (held.username, held.email, held.views) == ("user2", "user2@example.org", 3)
    assert len(sql) == 0
