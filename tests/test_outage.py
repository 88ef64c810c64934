"""A Redis that does not answer never turns into an error page or a failed write."""

import pytest

from dashboard import create_app
from dashboard.auth import create_admin
from dashboard.extensions import db
from dashboard.models import User
from tests.conftest import _free_port
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
