"""Warm pages run no SQL: the demo pages, the admin's lists (with a search, a sort and a
filter), its details and edit pages, and the logged-in admin all read through the cache."""

from typing import Any

import pytest
from sqlalchemy import event

from caching.testing import CountingProxy
from dashboard import create_app
from dashboard.auth import create_admin
from dashboard.extensions import db
from dashboard.models import Address, User
from tests.dashboard_helpers import ADMIN, log_in, post


@pytest.fixture
def counted() -> CountingProxy:
    return CountingProxy()


@pytest.fixture
def site(backend: dict[str, Any], database_url: str, counted: CountingProxy) -> Any:
    """The demo app with its dashboard: 25 users with two addresses each, an admin logged in."""
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "tests-secret",
            "CACHE_REGIONS": {"default": {**backend, "wrap": [counted]}},
            "TESTING": True,
        }
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
        create_admin(db, *ADMIN)
        for i in range(1, 26):
            user = User(username=f"user{i}", email=f"user{i}@example.org", views=i % 4)
            user.addresses = [Address(email=f"{i}.{j}@example.org") for j in range(2)]
            db.session.add(user)
        db.session.commit()
        db.session.remove()
    client = app.test_client()
    assert log_in(client).status_code == 302
    yield app, client
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


@pytest.fixture
def sql(site: Any) -> list[str]:
    app, _ = site
    statements: list[str] = []
    with app.app_context():
        engine = db.engine
    listener = lambda conn, cursor, statement, *args: statements.append(statement)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    yield statements
    event.remove(engine, "before_cursor_execute", listener)


PAGES = {
    "/demo/": "user25@example.org",
    "/demo/users/3/": "user3@example.org",
    "/demo/addresses/": "25.1@example.org",
    "/admin/user/": "user1@example.org",
    "/admin/user/?search=user1": "user11@example.org",
    "/admin/user/?sort=1&desc=1": "user9@example.org",
    "/admin/user/?flt0_0=user2": "user2@example.org",
    "/admin/user/?page=1": "user21@example.org",
    "/admin/user/details/?id=3": "user3@example.org",
    "/admin/user/edit/?id=3": "user3@example.org",
    "/admin/address/": "1.0@example.org",
    "/admin/address/edit/?id=5": "3.0@example.org",
    "/admin/": "default",
}


@pytest.mark.parametrize("path", PAGES)
def test_a_warm_page_runs_no_sql(site, sql, path):
    _, client = site
    client.get(path)  # eager-loaded relationships are not stored: the second view caches them
    first = client.get(path)
    assert first.status_code == 200
    assert PAGES[path] in first.get_data(as_text=True)
    sql.clear()

    again = client.get(path)

    assert again.status_code == 200
    assert again.get_data(as_text=True).count(PAGES[path]) == first.get_data(as_text=True).count(PAGES[path])
    assert sql == []


@pytest.mark.backends  # batched reads split per slot on a cluster
def test_users_with_addresses_is_two_backend_reads_warm(site, sql, counted):
    _, client = site
    client.get("/demo/addresses/")
    client.get("/demo/addresses/")
    counted.reset()
    sql.clear()

    html = client.get("/demo/addresses/").get_data(as_text=True)

    assert "user7" in html and "7.0@example.org, 7.1@example.org" in html
    assert sql == []
    # the signed-in admin's session; the users with the addresses their selectinload loaded
    assert counted.total() == 2


def test_users_with_addresses_is_two_statements_cold_as_without_the_cache(site, sql):
    app, client = site
    client.get("/demo/")  # the admin's session is cached
    sql.clear()
    client.get("/demo/addresses/")
    assert len(sql) == 2 and "address.user_id IN" in sql[1]  # selectinload's
    sql.clear()
    client.get("/demo/addresses/")  # the users and their addresses are one entry
    assert sql == []
    app.extensions["caching"].enabled = False
    sql.clear()
    client.get("/demo/addresses/")
    page_statements = [s for s in sql if "dashboard_admin" not in s]  # not the admin's session
    assert len(page_statements) == 2  # the rival: selectinload, not 1 + N


def test_an_edit_shows_at_once_on_every_cached_page(site):
    _, client = site
    for path in ("/admin/user/?search=user1", "/admin/user/?sort=1&desc=1", "/demo/addresses/"):
        client.get(path)
    form = {"username": "renamed", "email": "renamed@example.org", "views": "0", "addresses": ["1", "2"]}
    assert post(client, "/admin/user/edit/?id=1", form).status_code == 302

    assert "renamed@example.org" in client.get("/admin/user/?sort=1&desc=1").get_data(as_text=True)
    assert "renamed@example.org" not in client.get("/admin/user/?search=user1").get_data(as_text=True)
    assert "renamed@example.org" in client.get("/admin/user/?search=renamed").get_data(as_text=True)
    assert post(client, "/admin/address/delete/", {"id": "2"}).status_code == 302
    html = client.get("/demo/addresses/").get_data(as_text=True)
    assert "<td>1.0@example.org</td>" in html  # user 1's second address is gone
