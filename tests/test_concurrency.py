"""No stale read after commit while readers race a writer.

Readers loop over ``get`` and ``filter`` while a writer commits increments.
Each reader SELECT is followed by a short sleep (an ``after_cursor_execute``
listener), widening the window in which a reader holds an old row while the
writer commits and flushes. A read that returns a value older than the one
committed before the read began is stale.
"""

import threading
import time

import pytest
from sqlalchemy import event

from tests.models import User, db

# races between readers and a writer through the backend, 150 commits
pytestmark = [pytest.mark.backends, pytest.mark.slow]

WRITES = 150
READERS = 4


def test_no_reader_sees_a_value_older_than_the_last_commit(app, users):
    committed = [0]
    stale: list[tuple[str, int, int]] = []
    reads = [0]
    done = threading.Event()

    def slow_reader_select(*args):
        if threading.current_thread().name.startswith("reader"):
            time.sleep(0.002)

    event.listen(db.engine, "after_cursor_execute", slow_reader_select)

    def read(name: str, how) -> None:
        with app.app_context():
            while not done.is_set():
                floor = committed[0]
                value = how()
                if value < floor:
                    stale.append((name, floor, value))
                reads[0] += 1
                db.session.remove()

    readers = [
        ("get", lambda: User.cache.get(1).views),
        ("filter", lambda: User.cache.filter(username="user1")[0].views),
        ("all", lambda: User.cache.filter(limit=1)[0].views),
        ("get", lambda: User.cache.get(1).views),
    ]
    threads = [
        threading.Thread(target=read, args=(name, how), name=f"reader-{i}", daemon=True)
        for i, (name, how) in enumerate(readers[:READERS])
    ]
    for thread in threads:
        thread.start()
    try:
        with app.app_context():
            for n in range(1, WRITES + 1):
                db.session.get(User, 1).views = n
                db.session.commit()
                committed[0] = n
                db.session.remove()
                time.sleep(0.003)
    finally:
        done.set()
        for thread in threads:
            thread.join(timeout=30)
        event.remove(db.engine, "after_cursor_execute", slow_reader_select)

    assert reads[0] > WRITES
    assert stale == []
    db.session.remove()
    assert User.cache.get(1).views == WRITES
