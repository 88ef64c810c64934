"""The benchmarks' exact counts, asserted: what a read, a save and a page view cost on the wire.

The bench's report prints the same counts through the same helper
(``bench.counts``); here they are the issues' targets at the bench's scale:
a warm get and a warm listing of 50 are one Redis request and no SQL, a
cold one one statement and three Redis requests, a save one Redis request for all its keys and
one SELECT of its rows before and after its writes, and the HTTP bench's
pages a fixed number of backend calls when warm.
(tests/test_reads_cost.py checks which keys a warm read asks for,
tests/test_invalidation.py which keys a commit deletes, tests/test_warm_pages.py
that warm pages run no SQL and the users-with-addresses page's three reads.)
"""

from typing import Any

import pytest
from sqlalchemy import inspect

from bench.counts import per_operation, recorded, warm_view
from bench.http import log_in, page_floor, seed
from bench.library import table_rows
from dashboard import create_app
from dashboard.extensions import caching as demo_caching
from dashboard.extensions import db as demo_db
from dashboard.models import Address as DemoAddress
from dashboard.models import User as DemoUser
from dashboard.views.demo import users_and_addresses
from tests.conftest import make_app
from tests.models import User, caching, db

LISTING_SIZE = 50


@pytest.fixture
def redis_app(redis_url: str, database_url: str) -> Any:
    """The tests' models on Redis: 100 users, ``views = id % 2``, so each listing by views holds 50."""
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    app = make_app(
        database_url, {"default": {"backend": "dogpile.cache.redis", "arguments": {"url": redis_url}}}
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
        db.session.add_all(User(username=f"u{i}", email=f"u{i}@example.org", views=i % 2) for i in range(100))
        db.session.commit()
        yield app
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def _counts(operation: Any, reset: Any = None) -> Any:
    reset = reset or db.session.expunge_all
    return per_operation(operation, db.engine, [caching.regions["default"]], reset)


@pytest.mark.parametrize(
    "read",
    [
        lambda: User.cache.get(4),
        lambda: User.cache.filter(views=1),
        lambda: User.cache.window(0, 20, views=1),
    ],
    ids=["get", "listing of 50", "page of 20 and its count"],
)
def test_a_warm_read_is_one_redis_request_and_no_sql(redis_app, read):
    assert len(User.cache.filter(views=1)) == LISTING_SIZE
    read()

    counts = _counts(read)

    assert (counts.sql, counts.calls, counts.round_trips) == (0, 1, 1)


@pytest.mark.parametrize(
    "read, guard",
    [
        (lambda: User.cache.get(4), "gen:user.id[4]"),
        (lambda: User.cache.filter(views=1), "gen:user.views=1[all]"),
    ],
    ids=["get", "listing of 50"],
)
def test_a_cold_read_is_one_statement_and_three_redis_requests(redis_app, redis_url, read, guard):
    """The read that misses; the herd lock taken, the guard armed and a second look in one
    script; the value saved and the lock released in another. No lock is left behind."""
    import redis

    def forget() -> None:
        db.session.expunge_all()
        User.cache.flush(guard)

    counts = _counts(read, forget)

    assert (counts.sql, counts.round_trips) == (1, 3)
    assert redis.Redis.from_url(redis_url).keys("_lock*") == []
    db.session.expunge_all()
    assert _counts(read).round_trips == 1  # what the cold read stored is served


def test_a_cold_page_and_its_count_are_two_statements_and_three_redis_requests(redis_app, redis_url):
    """``window``: one read, one claim (one herd lock for both), one release."""
    import redis

    def forget() -> None:
        db.session.expunge_all()
        User.cache.flush("gen:user.views=1[all]")

    counts = _counts(lambda: User.cache.window(20, 20, views=1), forget)

    assert (counts.sql, counts.round_trips) == (2, 3)
    assert redis.Redis.from_url(redis_url).keys("_lock*") == []
    db.session.expunge_all()
    assert _counts(lambda: User.cache.window(20, 20, views=1)).round_trips == 1


def test_a_save_and_commit_is_one_redis_request(redis_app):
    for user in User.cache.filter(views=1)[:3]:
        User.cache.get(user.id)
    loaded: list[Any] = []

    def save() -> None:
        user = loaded[0]
        user.views = 1 - user.views
        db.session.commit()

    counts = _counts(save, lambda: loaded.__setitem__(slice(None), [db.session.get(User, 4)]))

    assert counts.round_trips == 1


def test_a_proxy_wrapped_around_the_region_later_sees_what_a_miss_writes(redis_app):
    """The two-script miss skips the proxies: once the app wraps one, misses go through dogpile."""
    db.session.expunge_all()
    User.cache.flush("gen:user.id[4]")

    recorder = recorded(caching.regions["default"], lambda: User.cache.get(4))

    guards = [key for key in recorder.written if ":gen:" in key]
    entries = [key for key in recorder.written if ":gen:" not in key]
    assert [key.endswith(":user.id[4]") for key in guards + entries] == [True, True]


@pytest.fixture
def bench_site(backend: dict[str, Any], database_url: str, redis_url: str) -> Any:
    """The HTTP bench's app and data (``bench.http.seed``: 100 users, an admin), logged in."""
    seed(database_url, redis_url)
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "tests-secret",
            "CACHE_REGIONS": {"default": backend},
        }
    )
    client = app.test_client()
    log_in(client)
    with app.app_context():
        yield client
        demo_db.session.remove()
        demo_db.drop_all()
        demo_db.engine.dispose()


WARM_PAGE_CALLS = {
    "/demo/": 1,  # the listing of every user
    "/demo/users/7/": 1,  # the user's key
    "/admin/user/": 1,  # the page of 20 and its count (``window``)
    "/admin/user/?search=a&sort=1": 2,  # the search's FromCache result, its count
    "/admin/user/edit/?id=7": 1,
}


@pytest.mark.parametrize("path", WARM_PAGE_CALLS)
def test_the_http_bench_pages_warm_make_a_fixed_number_of_backend_calls(bench_site, path):
    counts = warm_view(bench_site, path, demo_db.engine, [demo_caching.regions["default"]])

    assert counts.calls == WARM_PAGE_CALLS[path]


def _add_views(ids: list[int]) -> None:
    for user in [db.session.get(User, pk) for pk in ids]:
        user.views += 10


SAVES = {  # (what a form loads first, the write, its statements: the rows' values before and after)
    "update 1": (lambda: None, lambda: _add_views([1]), ["SELECT", "UPDATE", "SELECT"]),
    "update 10 in one commit": (
        lambda: None,
        lambda: _add_views(list(range(1, 11))),
        ["SELECT", "UPDATE", "SELECT"],
    ),
    "insert": (
        lambda: None,
        lambda: db.session.add(User(username="n", email="n@example.org")),
        ["INSERT", "SELECT"],
    ),
    "delete": (
        lambda: db.session.get(User, 1).addresses,
        lambda: db.session.delete(db.session.get(User, 1)),
        ["SELECT", "DELETE"],
    ),
}


@pytest.mark.parametrize("save", SAVES)
def test_a_save_costs_one_select_of_the_rows_before_and_after_its_writes(users, sql, save):
    load, write, statements = SAVES[save]
    held = [db.session.get(User, pk) for pk in range(1, 11)], load()  # loaded before, as a form does
    sql.statements.clear()

    write()
    db.session.commit()

    assert held and [s.split()[0] for s in sql.statements] == statements


def _users_and_emails(users: Any) -> list[tuple[int, str, list[str]]]:
    """Each user's id, name and address emails, read from what is loaded (no SQL)."""
    rows = []
    for user in users:
        assert "addresses" in inspect(user).dict  # loaded: reading it runs no SQL
        rows.append((user.id, user.username, sorted(a.email for a in user.addresses)))
    return rows


def test_the_addresses_page_floor_builds_the_objects_the_page_reads(bench_site):
    """The report holds ``/demo/addresses/`` to this floor: it must build what the page's read gives."""
    session = demo_db.session
    built = _users_and_emails(page_floor(table_rows(DemoUser), table_rows(DemoAddress)))
    session.expunge_all()
    users_and_addresses()  # warm
    session.expunge_all()
    read = _users_and_emails(users_and_addresses())

    assert built == read
    assert len(read) == 100 and all(emails for *_, emails in read)
