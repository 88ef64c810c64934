"""With Redis, every process's counts and log entries land in one place."""

import pytest

from caching import stats as stats_module
from dashboard.log import current_log, enable_log
from tests.conftest import fresh_session, make_app
from tests.models import User, db


@pytest.fixture
def two_apps(redis_url, database_url):
    """Two apps on one Redis and one database: two worker processes, as far as the cache can tell."""
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    regions = {
        "default": {"backend": "dogpile.cache.redis", "expiration_time": 60, "arguments": {"url": redis_url}}
    }
    first, second = make_app(database_url, regions), make_app(database_url, regions)
    with first.app_context():
        db.create_all()
        db.session.add(User(username="shared", email="s@example.org", views=1))
        db.session.commit()
    yield first, second
    with first.app_context():
        db.drop_all()


def test_stats_add_up_across_processes(two_apps, monkeypatch):
    monkeypatch.setattr(stats_module, "PUSH_INTERVAL", 0.0)
    first, second = two_apps
    with first.app_context():
        User.cache.get(1)  # miss
    with second.app_context():
        User.cache.get(1)  # hit
    for app in (first, second):
        with app.app_context():
            figures = app.extensions["caching"].region("default").stats.snapshot()
            assert (figures["hits"], figures["misses"]) == (1, 1)


def test_counts_are_pushed_in_batches_not_per_operation(two_apps, monkeypatch):
    first, _ = two_apps
    with first.app_context():
        stats = first.extensions["caching"].region("default").stats
        pushes = []
        real_push = stats.push
        monkeypatch.setattr(stats, "push", lambda: pushes.append(1) or real_push())
        for _ in range(20):
            User.cache.get(1)
            fresh_session()
        assert pushes == []  # all within PUSH_INTERVAL
        assert stats.snapshot()["hits"] == 19


def test_log_entries_are_shared(two_apps):
    first, second = two_apps
    for app in (first, second):
        enable_log(app)
    with first.app_context():
        User.cache.get(1).views = 2
        db.session.commit()
    with second.app_context():
        [entry] = current_log().entries(model="User")
        assert entry["keys"][0] == "user.id[1]"


def test_per_model_counts_and_latency_add_up_across_processes(two_apps, monkeypatch):
    monkeypatch.setattr(stats_module, "PUSH_INTERVAL", 0.0)
    first, second = two_apps
    for app in (first, second, first):
        with app.app_context():
            User.cache.get(1)  # a miss in the first, then hits
            User.cache.filter()
            db.session.remove()
    for app in (first, second):
        with app.app_context():
            figures = app.extensions["caching"].region("default").stats.snapshot()
        counts = {(s["table"], s["kind"]): (s["hits"], s["misses"], s["sets"]) for s in figures["shapes"]}
        assert counts == {("user", "object"): (2, 1, 1), ("user", "listing"): (2, 1, 1)}
        assert figures["latency"]["reads"] == 6
