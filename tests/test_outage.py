"""A Redis that does not answer never turns into an error page or a failed write."""

import time

import pytest

from dashboard import create_app
from dashboard.auth import create_admin
from dashboard.extensions import db
from dashboard.models import User
from tests.conftest import _free_port, start_redis_server
from tests.dashboard_helpers import log_in, post


@pytest.fixture
def app_without_redis(database_url):
    dead = f"redis://127.0.0.1:{_free_port()}/0"  # nothing listens there
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "outage",
            "TESTING": True,
            "CACHE_REGIONS": {
                "default": {
                    "backend": "dogpile.cache.redis",
                    "expiration_time": 60,
                    "arguments": {"url": dead, "socket_timeout": 0.2, "socket_connect_timeout": 0.2},
                }
            },
        }
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
        create_admin(db, "admin", "correct horse battery")
        db.session.add(User(username="u1", email="u1@example.org", views=1))
        db.session.commit()
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()


def test_reads_and_writes_work_while_redis_is_down(app_without_redis):
    with app_without_redis.app_context():
        assert User.cache.get(1).username == "u1"
        assert [u.username for u in User.cache.filter(views=1)] == ["u1"]
        User.cache.get(1).views = 2
        db.session.commit()
        db.session.remove()
        assert User.cache.get(1).views == 2


def test_pages_that_need_redis_say_so_without_a_500(app_without_redis):
    client = app_without_redis.test_client()
    log_in(client, "admin", "correct horse battery")
    for path in ("/admin/", "/admin/keys/", "/admin/log/"):
        response = client.get(path)
        assert response.status_code == 503, path
        assert "cache backend is unreachable" in response.get_data(as_text=True)
    assert client.get("/admin/user/").status_code == 200
    assert client.get("/demo/").status_code == 200
    response = post(
        client, "/admin/user/edit/?id=1", {"username": "u1", "email": "e@example.org", "views": "5"}
    )
    assert response.status_code == 302
    with app_without_redis.app_context():
        assert db.session.get(User, 1).views == 5


class OwnRedis:
    """A redis-server of the test's own, with an append-only file, so that a stop and
    a start keep its data, as a production Redis with persistence does."""

    def __init__(self, directory):
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.directory = directory
        self.process = None

    def start(self):
        options = ["--dir", str(self.directory), "--appendonly", "yes", "--appendfsync", "always"]
        self.process = start_redis_server(self.port, *options)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture
def own_redis(tmp_path):
    server = OwnRedis(tmp_path)
    server.start()
    yield server
    if server.process.poll() is None:
        server.stop()


def test_an_outage_loses_no_write_and_leaves_no_stale_value(own_redis, database_url, caplog, monkeypatch):
    """Stop Redis mid-loop and start it again with its data: every write commits, no
    caller sees an exception, and the values cached before the outage that commits
    during it made stale are never served after it."""
    from caching import store as store_module

    monkeypatch.setattr(store_module, "RETRY_INTERVAL", 0.1)
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "outage",
            "CACHE_REGIONS": {
                "default": {
                    "backend": "dogpile.cache.redis",
                    "expiration_time": 300,
                    "arguments": {"url": own_redis.url, "socket_timeout": 0.2, "socket_connect_timeout": 0.2},
                }
            },
        }
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
        db.session.add(User(username="u1", email="u1@example.org", views=0))
        db.session.commit()
        db.session.remove()
        committed = 0
        stale = []

        def read(phase):
            floor = committed
            value = User.cache.get(1).views
            [listed] = [u.views for u in User.cache.filter(username="u1")]
            db.session.remove()
            if min(value, listed) < floor:
                stale.append((phase, floor, value, listed))

        def write():
            nonlocal committed
            db.session.get(User, 1).views = committed + 1
            db.session.commit()
            committed += 1
            db.session.remove()

        for _ in range(10):
            read("before")
            write()
        read("before")  # cached now: the writes during the outage make this stale
        own_redis.stop()
        for _ in range(10):
            write()
            read("during")
        own_redis.start()
        time.sleep(0.2)  # past the retry interval
        for _ in range(10):
            read("after")
            write()
        read("after")

        assert stale == []
        assert db.session.get(User, 1).views == committed == 30
        messages = [r.getMessage() for r in caplog.records]
        assert len([m for m in messages if "unreachable" in m]) == 1  # once per outage, not per request
        assert any("reachable again" in m for m in messages)
        db.session.remove()  # end the read transaction, or PostgreSQL's DROP waits for it
        db.drop_all()
