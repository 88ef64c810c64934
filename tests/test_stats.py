"""Per-region stats counted by the ProxyBackend, shared through Redis."""

import time

import pytest

from caching import stats as stats_module
from caching.scan import actual_backend
from tests.conftest import fresh_session
from tests.models import User, caching, db

pytestmark = pytest.mark.backends  # counts are pushed to Redis when the region is on Redis


def snapshot():
    return caching.state().region("default").stats.snapshot()


def test_hits_misses_sets_and_deletes_are_counted_without_guards(users):
    User.cache.get(4)  # miss: value and guard missing
    fresh_session()
    User.cache.get(4)  # hit
    User.cache.get(5)  # miss
    figures = snapshot()
    assert (figures["hits"], figures["misses"]) == (1, 2)
    assert figures["sets"] == 2
    assert figures["ratio"] == 1 / 3

    before = snapshot()
    User.cache.get(4).views = 9
    db.session.commit()
    after = snapshot()
    # user.id[4], user.id[all], user.views=3[all], user.views=9[all], and the listings of its
    # unchanged username and email (listings hold rows); guards are not counted
    assert after["deletes"] - before["deletes"] == 6
    assert after["invalidated_auto"] - before["invalidated_auto"] == 6


def test_manual_flushes_are_counted_apart(users):
    before = snapshot()
    User.cache.flush("user.id[4]", "user.id[5]")
    after = snapshot()
    assert after["invalidated_manual"] - before["invalidated_manual"] == 2
    assert after["invalidated_auto"] == before["invalidated_auto"]


def test_the_buckets_hold_the_hits_and_misses_of_each_ten_seconds(users, monkeypatch):
    wall, clock = time.time(), time.monotonic()  # frozen: a loaded machine may cross a bucket's end
    monkeypatch.setattr(time, "time", lambda: wall)
    monkeypatch.setattr(time, "monotonic", lambda: clock)
    User.cache.get(4)
    fresh_session()
    User.cache.get(4)
    buckets = snapshot()["buckets"]
    assert len(buckets) == stats_module.SERIES_BUCKETS
    assert (buckets[-1]["hits"], buckets[-1]["misses"]) == (1, 1)
    assert all(b["hits"] + b["misses"] == 0 for b in buckets[:-2])


def test_reads_on_either_side_of_a_bucket_end_are_counted_in_their_own_buckets(users, monkeypatch):
    wall, clock = time.time(), time.monotonic()  # frozen: both reads fall in one bucket
    monkeypatch.setattr(time, "time", lambda: wall)
    monkeypatch.setattr(time, "monotonic", lambda: clock)
    User.cache.get(4)  # miss
    fresh_session()
    User.cache.get(4)  # hit
    later = stats_module.BUCKET_SECONDS
    monkeypatch.setattr(time, "time", lambda: wall + later)
    monkeypatch.setattr(time, "monotonic", lambda: clock + later)
    fresh_session()
    User.cache.get(4)  # hit, in the next bucket
    User.cache.get(5)  # miss

    figures = snapshot()
    assert [(b["hits"], b["misses"]) for b in figures["buckets"][-2:]] == [(1, 1), (1, 1)]
    assert (figures["hits"], figures["misses"]) == (2, 2)


def test_backend_errors_are_counted_and_reads_fall_back_to_the_database(users, monkeypatch, sql):
    region = caching.regions["default"]

    def broken(*args):
        raise ConnectionError("backend down")

    proxy = region.backend
    while not isinstance(proxy, stats_module.StatsProxy):
        proxy = proxy.proxied
    monkeypatch.setattr(proxy.proxied, "get_serialized_multi", broken)  # what the stats proxy calls
    sql.reset()
    assert User.cache.get(4).username == "user4"
    assert len(sql) == 1
    assert snapshot()["errors"] >= 1


def test_memory_backend_under_several_processes_is_warned_about(app, caplog):
    client = app.test_client()
    app.add_url_rule("/ping", "ping", lambda: "pong")
    client.get("/ping", environ_overrides={"wsgi.multiprocess": True})
    client.get("/ping", environ_overrides={"wsgi.multiprocess": True})
    warnings = [r for r in caplog.records if "each process has its own cache" in r.getMessage()]
    is_memory = type(actual_backend(caching.regions["default"])).__name__ == "MemoryBackend"
    assert len(warnings) == (1 if is_memory else 0)


@pytest.mark.parametrize(
    "stored, shape",
    [
        ("caching:user@2ed8d827:user.id[4]", ("user", "object")),
        ("caching:user@2ed8d827:user.id[all]", ("user", "listing")),
        ("caching:user@2ed8d827:user.views=3[all]", ("user", "listing")),
        ("caching:user@2ed8d827:user.views=3[all][20:40]", ("user", "page")),
        ("caching:user@2ed8d827:user.id[all][0:20:desc]", ("user", "page")),
        ("caching:user@2ed8d827:user.views=3[all][count]", ("user", "count")),
        ("caching:a.item@0123abcd:a.item.id[4]", ("a.item", "object")),
        ("caching:address@0123abcd:address.email=x@y.org[all]", ("address", "listing")),
        ("caching:sql:5f3a9c", ("", "statement")),
        ("caching:top_users", ("", "statement")),
        ("caching:me@home", ("", "statement")),  # an explicit key with an @, no fingerprint
    ],
)
def test_a_keys_table_and_kind_are_told_from_the_stored_key(stored, shape):
    assert stats_module.shape_of(stored, "caching:") == shape


def test_a_database_load_is_timed_per_shape_and_what_hits_saved_follows(users):
    caching.state().region("default").stats.reset()  # the fixture's inserts invalidated keys
    for _ in range(3):
        User.cache.get(4)  # a miss, then two hits
        fresh_session()
    [row] = snapshot()["shapes"]
    assert (row["hits"], row["misses"], row["loads"], row["statements_avoided"]) == (2, 1, 1, 2)
    assert row["load_mean_s"] == row["load_s"] > 0
    assert row["saved_s"] == pytest.approx(2 * (row["load_s"] - row["read_s"] / 3))
    latency = snapshot()["latency"]
    assert latency["reads"] == 3 and latency["p50"] <= latency["p99"]


@pytest.mark.parametrize("index", [0, 1, 5, len(stats_module.LATENCY_BOUNDS) - 1])
def test_a_reads_latency_falls_in_the_bucket_whose_upper_bound_first_holds_it(index):
    bound = stats_module.LATENCY_BOUNDS[index]
    region = stats_module.RegionStats("latency-test", "test:")
    for seconds in (bound * 0.999, bound, bound * 1.001):
        region.reads([(("user", "object"), True)], seconds)
    counts = region.snapshot()["latency"]["counts"]
    assert counts[index] == 2 and counts[index + 1] == 1 and sum(counts) == 3
