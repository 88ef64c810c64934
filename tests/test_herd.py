"""The herd lock: many concurrent misses of one key run one SQL statement."""

import threading

import pytest
from sqlalchemy import event, select

from caching import FromCache, current_state
from tests.models import User, db

pytestmark = pytest.mark.backends  # the herd lock is dogpile's distributed lock on Redis

CALLERS = 20


def run_together(app, read):
    """Call ``read`` from CALLERS threads released at once; return their results."""
    barrier = threading.Barrier(CALLERS)
    results: list = [None] * CALLERS

    def call(i):
        with app.app_context():
            barrier.wait()
            results[i] = read()
            db.session.remove()

    threads = [threading.Thread(target=call, args=(i,)) for i in range(CALLERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def count_selects(app):
    selects = []

    def record(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    return selects


def slow_selects(app, seconds=0.05):
    """Make each SELECT take a while, so the misses really overlap."""
    import time

    event.listen(db.engine, "after_cursor_execute", lambda *args: time.sleep(seconds))


def test_twenty_concurrent_misses_of_one_object_run_one_query(app, users):
    selects = count_selects(app)
    slow_selects(app)
    results = run_together(app, lambda: User.cache.get(4).username)
    assert results == ["user4"] * CALLERS
    assert len(selects) == 1


def test_twenty_concurrent_misses_of_one_listing_run_one_pk_query(app, users):
    User.cache.filter(views=3)  # objects cached; the listing is what the herd misses
    User.cache.flush("user.views=3[all]")
    db.session.remove()
    selects = count_selects(app)
    slow_selects(app)
    results = run_together(app, lambda: [u.id for u in User.cache.filter(views=3)])
    assert results == [[1, 2, 3, 4, 5]] * CALLERS
    assert len(selects) == 1


def test_twenty_concurrent_misses_of_a_page_and_its_count_run_each_query_once(app, users):
    def page_and_count():
        objects, total = User.cache.window(1, 2, views=3)
        return [u.id for u in objects], total

    selects = count_selects(app)
    slow_selects(app)
    results = run_together(app, page_and_count)
    assert results == [([2, 3], 5)] * CALLERS
    assert len(selects) == 2


def test_twenty_concurrent_misses_of_one_statement_run_one_query(app, users):
    selects = count_selects(app)
    slow_selects(app)
    stmt = select(User.username).where(User.id == 4).options(FromCache())
    results = run_together(app, lambda: db.session.scalars(stmt).all())
    assert results == [["user4"]] * CALLERS
    assert len(selects) == 1


def test_a_load_that_fails_releases_the_herd_lock(app, users, backend):
    """Readers waiting on the lock must not sit out its timeout after a failed load."""
    if backend["backend"] == "dogpile.cache.memory":
        pytest.skip("the herd lock lives in Redis only on Redis")
    client = current_state().region("default").client

    def fail(*args):
        raise RuntimeError("the database went away")

    event.listen(db.engine, "before_cursor_execute", fail)
    with pytest.raises(RuntimeError, match="went away"):
        User.cache.get(4)
    event.remove(db.engine, "before_cursor_execute", fail)
    db.session.rollback()

    assert client.keys("_lock*") == []
    assert User.cache.get(4).username == "user4"
    assert client.keys("_lock*") == []
