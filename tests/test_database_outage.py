"""PostgreSQL down: pages the cache can serve keep working, the others answer 503, and
the first request after a brief drop does not fail on a dead pooled connection."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import make_url

from dashboard import create_app
from dashboard.auth import create_admin
from dashboard.extensions import db
from dashboard.models import User
from tests.dashboard_helpers import ADMIN, log_in, post
from tests.tcp_proxy import TcpProxy


@pytest.fixture
def server_url(database_url: str) -> str:
    """The test database, a server (an outage needs one: SQLite is a file)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("an outage needs a database server")
    return database_url


@pytest.fixture
def proxy(server_url: str) -> Any:
    url = make_url(server_url)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    yield proxy
    proxy.close()


@pytest.fixture
def live_app(server_url: str, proxy: TcpProxy) -> Any:
    """The demo app, as deployed (TESTING off), reaching PostgreSQL through ``proxy``."""
    url = make_url(server_url).set(host="127.0.0.1", port=proxy.port)
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url.render_as_string(hide_password=False),
            "SECRET_KEY": "tests-secret",
            "CACHE_REGIONS": {"default": {"backend": "dogpile.cache.memory", "expiration_time": 300}},
            "TESTING": False,
        }
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
        create_admin(db, *ADMIN)
        db.session.add_all(User(username=f"user{i}", email=f"u{i}@example.org", views=3) for i in range(1, 6))
        db.session.commit()
        db.session.remove()
    yield app
    proxy.restore()
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def test_the_first_request_after_a_brief_drop_succeeds(live_app, proxy):
    admin = live_app.test_client()
    assert log_in(admin).status_code == 302
    assert admin.get("/admin/user/?sort=1").status_code == 200  # a pooled connection now exists
    proxy.cut()
    proxy.restore()
    response = admin.get("/admin/user/?sort=1")
    assert response.status_code == 200
    assert "user5" in response.get_data(as_text=True)


def test_while_the_database_is_down_cached_pages_work_and_the_rest_is_a_503(live_app, proxy):
    admin = live_app.test_client()
    assert log_in(admin).status_code == 302
    for path in ("/demo/", "/demo/users/2/", "/admin/user/"):
        assert admin.get(path).status_code == 200  # now cached
    proxy.cut()
    for path in ("/demo/", "/demo/users/2/", "/admin/user/", "/admin/", "/admin/keys/"):
        response = admin.get(path)
        assert response.status_code == 200, path
    assert "u2@example.org" in admin.get("/demo/users/2/").get_data(as_text=True)
    for response in (
        admin.get("/admin/user/?sort=1"),
        admin.get("/admin/user/edit/?id=2"),
        admin.get("/demo/views/4/"),  # a listing never read, so not cached
        post(admin, "/demo/users/2/update"),
        live_app.test_client().post("/admin/login", data={"username": "x", "password": "y"}),
    ):
        assert response.status_code in (503, 400), response.request.path  # 400: the CSRF token
    down = admin.get("/admin/user/?sort=1")
    assert down.status_code == 503
    assert "The database is unreachable" in down.get_data(as_text=True)
    proxy.restore()
    assert admin.get("/admin/user/?sort=1").status_code == 200
