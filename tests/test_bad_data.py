"""Data of the wrong shape in the backend is skipped and counted, never a broken page."""

import html
import json

import pytest

from dashboard.extensions import caching, db
from dashboard.models import User
from tests.dashboard_helpers import post


def errors(app):
    with app.app_context():
        return caching.state().region("default").stats.snapshot()["errors"]


def overwrite(app, key, data):
    """Store ``data`` under ``key`` as this cache would (well-formed, with valid tokens)."""
    with app.app_context():
        region = caching.regions["default"]
        tokens, _ = region.get(key)
        region.set(key, [tokens, data])


def warm(app):
    """Cache user 1 and the listing of all users (which holds its rows, not its keys)."""
    with app.app_context():
        User.cache.get(1)
        User.cache.filter()
        db.session.remove()


@pytest.mark.parametrize(
    ("key", "data"),
    [
        ("user.id[1]", {"not": "a row"}),
        ("user.id[1]", [1, "user1"]),
        # the right length, but a primary key that names no object (column values'
        # types are not checked: caching.entries checks shapes, not each value)
        ("user.id[1]", [[1], "user1", "user1@example.org", 3]),
        ("user.id[all]", "not a listing"),
        ("user.id[all]", [1, [2]]),
        ("user.id[all]", [1, 2]),  # primary keys: what listings held before they held rows
        ("user.id[all]", [[1, "user1"]]),
    ],
)
def test_a_cached_value_of_the_wrong_shape_is_a_counted_miss(dashboard, admin, key, data):
    warm(dashboard)
    overwrite(dashboard, key, data)
    before = errors(dashboard)
    for path in ("/demo/", "/admin/user/", "/demo/users/1/"):
        response = admin.get(path)
        assert response.status_code == 200, path
        assert "user1@example.org" in response.get_data(as_text=True), path
    assert errors(dashboard) > before
    with dashboard.app_context():  # the next load stored the right value again
        assert caching.regions["default"].get(key)[1] != data


@pytest.mark.backends  # keys listed by SCAN on Redis
def test_the_key_browser_shows_and_deletes_a_value_of_the_wrong_shape(dashboard, admin):
    warm(dashboard)
    overwrite(dashboard, "user.id[all]", 42)
    text = html.unescape(admin.get("/admin/keys/?pattern=user.id*").get_data(as_text=True))
    assert "(not the shape of a listing value) [" in text
    post(admin, "/admin/keys/delete", {"region": "default", "key": "user.id[all]"})
    with dashboard.app_context():
        left = [key for batch in caching.state().region("default").keys_matching("user.id*") for key in batch]
    assert "user.id[all]" not in left and "user.id[1]" in left


def redis_of(app):
    with app.app_context():
        client = caching.state().region("default").client
        prefix = caching.state().region("default").namespace.meta_prefix
    if client is None:
        pytest.skip("the log and shared stats live in Redis only")
    return client, prefix


@pytest.mark.backends  # the log lives in Redis when the region does
def test_foreign_items_in_the_log_are_skipped_and_counted(dashboard, admin):
    client, prefix = redis_of(dashboard)
    post(admin, "/admin/keys/delete", {"region": "default", "key": "user.id[1]"})
    before = errors(dashboard)
    client.lpush(f"{prefix}log", b"not json", json.dumps({"id": 1}), json.dumps([1, 2]), b"\xff")
    for path in ("/admin/log/", "/admin/log/?key=user.*", "/admin/log/history/User/1"):
        response = admin.get(path)
        assert response.status_code == 200, path
    assert "user.id[1]" in response.get_data(as_text=True)
    assert errors(dashboard) >= before + 4


@pytest.mark.backends  # stats shared through Redis
def test_non_integer_stats_fields_are_skipped_and_counted(dashboard, admin):
    client, prefix = redis_of(dashboard)
    warm(dashboard)
    client.hset(f"{prefix}stats:default", mapping={"hits": "lots", "misses": "7"})
    client.hset(f"{prefix}series:default", mapping={"h:abc": "1", "m:1": "x", "nonsense": "2"})
    response = admin.get("/admin/")
    assert response.status_code == 200
    assert errors(dashboard) > 0
