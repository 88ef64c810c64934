"""No stale read after commit across processes sharing one Redis (and one database).

Reader threads in two other processes loop over ``get`` and ``filter`` while
this process commits increments; each read is checked against the value
committed before it began. At least 10 000 reads, none stale. A second test
shows the race is real: with guard tokens switched off (the naive
delete-after-commit design) and the same pause between database read and
cache write, readers do get old values after a commit.
"""

import contextlib
import multiprocessing
import threading
import time

import pytest

from caching.store import Store
from tests import workers
from tests.conftest import flush_cluster, make_app
from tests.models import User, db

pytestmark = pytest.mark.slow  # reader processes, at least 10 000 reads

MIN_READS = 10_000
TIME_LIMIT = 150


@pytest.fixture(params=["redis", "redis_cluster"])
def shared_region(request):
    """A region every process shares: one Redis, or a 3-node Redis Cluster."""
    url = request.getfixturevalue(f"{request.param}_url")
    if request.param == "redis":
        import redis

        redis.Redis.from_url(url).flushdb()
    else:
        flush_cluster(url)
    return {"backend": f"dogpile.cache.{request.param}", "expiration_time": 300, "arguments": {"url": url}}


@pytest.fixture
def shared_app(shared_region, database_url):
    app = make_app(database_url, {"default": shared_region})
    with app.app_context():
        db.drop_all()
        db.create_all()
        db.session.add(User(username="user1", email="user1@example.org", views=0))
        db.session.commit()
        db.session.remove()
        yield app
        db.session.remove()
        db.drop_all()


def test_no_stale_read_across_processes(shared_app, shared_region, database_url):
    context = multiprocessing.get_context("spawn")
    committed, reads, stop = context.Value("q", 0), context.Value("q", 0), context.Value("b", 0)
    results = context.Queue()
    processes = [
        context.Process(
            target=workers.read_loop, args=(database_url, shared_region, committed, reads, stop, results)
        )
        for _ in range(2)
    ]
    for process in processes:
        process.start()
    deadline = time.monotonic() + TIME_LIMIT
    try:
        while reads.value < MIN_READS and time.monotonic() < deadline:
            db.session.get(User, 1).views = committed.value + 1
            db.session.commit()
            committed.value += 1
            db.session.remove()
            time.sleep(0.003)
    finally:
        stop.value = 1
        reported = [results.get(timeout=60) for _ in processes]
        for process in processes:
            process.join(timeout=30)
    total = sum(count for count, _ in reported)
    stale = [s for _, found in reported for s in found]
    assert committed.value > 100
    assert total >= MIN_READS
    assert stale == []


@pytest.mark.parametrize("read_views", [workers.READS["get"], workers.READS["window"]], ids=["get", "window"])
@pytest.mark.parametrize("design", ["naive", "guarded"])
def test_a_pause_between_database_read_and_cache_write(shared_app, monkeypatch, design, read_views):
    """The race, widened: a reader sleeps between its database read and its cache
    write. Without guard tokens (plain delete-after-commit) it writes the old row
    back just after the writer's delete, and later reads are stale; with them,
    that late write is never served."""
    if design == "naive":
        real_fetch = Store.fetch
        monkeypatch.setattr(
            Store, "fetch", lambda self, requests: real_fetch(self, [(k, []) for k, _ in requests])
        )
    real_loading = Store.loading

    @contextlib.contextmanager
    def late_loading(self, keys):
        with real_loading(self, keys):
            yield  # the database read
        if threading.current_thread().name.startswith("reader"):
            time.sleep(0.005)  # before the cache write, on every miss path

    monkeypatch.setattr(Store, "loading", late_loading)
    stale = []
    committed = [0]
    done = threading.Event()

    def read():
        with shared_app.app_context():
            while not done.is_set():
                floor = committed[0]
                value = read_views()
                db.session.remove()
                if value < floor:
                    stale.append((floor, value))

    readers = [threading.Thread(target=read, name=f"reader-{i}") for i in range(3)]
    for reader in readers:
        reader.start()
    try:
        for n in range(1, 101):
            db.session.get(User, 1).views = n
            db.session.commit()
            committed[0] = n
            db.session.remove()
            time.sleep(0.002)
    finally:
        done.set()
        for reader in readers:
            reader.join(timeout=30)
    if design == "naive":
        assert stale, "the race did not show: the naive design looked correct"
    else:
        assert stale == []
