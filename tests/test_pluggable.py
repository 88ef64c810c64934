"""The dashboard mounts on any Flask app that uses ``caching``, with its own models."""

import re
from contextlib import contextmanager

import pytest
from flask import Flask, redirect, request
from flask_admin import Admin
from flask_admin.contrib.sqla import ModelView
from flask_admin.theme import Bootstrap4Theme
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Integer, String, func, select
from sqlalchemy.orm import Mapped, mapped_column

from caching import CacheableMixin, Caching
from dashboard.admin import init_dashboard
from dashboard.auth import create_admin
from tests.dashboard_helpers import log_in, post

other_db = SQLAlchemy()


class Note(CacheableMixin, other_db.Model):
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(80))


MEMORY = {"backend": "dogpile.cache.memory", "expiration_time": 300}
OWNER, OPERATOR = ("owner", "a long enough password"), ("operator", "another long password")


@contextmanager
def host_app(
    tmp_path, name: str, operator: tuple[str, str], note: str, backend=MEMORY, setup=lambda app: None, **mount
):
    """A host app of its own in this process on ``other_db``, with one operator and one note:
    ``setup(app)`` adds the host's own routes or admin before the dashboard mounts (``mount``)."""
    app = Flask(name)
    app.config.update(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / name}.db",
        SECRET_KEY=f"{name}-secret",
        CACHE_REGIONS={"default": backend},
    )
    other_db.init_app(app)
    Caching().init_app(app, other_db)
    setup(app)
    init_dashboard(app, other_db, **mount)
    with app.app_context():
        other_db.create_all()
        create_admin(other_db, *operator)
        other_db.session.add(Note(title=note))
        other_db.session.commit()
        other_db.session.remove()
    try:
        yield app
    finally:
        with app.app_context():
            other_db.drop_all()


@pytest.fixture
def other_app(tmp_path, backend):
    with host_app(tmp_path, "other", OWNER, "first", backend) as app:
        yield app


def test_mounted_on_another_app_with_its_own_model(other_app):
    client = other_app.test_client()
    assert client.get("/admin/note/").status_code == 302  # login first
    assert log_in(client, *OWNER).status_code == 302

    listing = client.get("/admin/note/").get_data(as_text=True)
    assert "first" in listing
    assert "/admin/user/" not in listing  # only this app's models

    with other_app.app_context():
        assert Note.cache.get(1).title == "first"
    response = post(client, "/admin/note/edit/?id=1", {"title": "renamed"}, follow_redirects=True)
    assert "<code>note.id[1]</code>" in response.get_data(as_text=True)
    assert "note.title=renamed[all]" in client.get("/admin/log/").get_data(as_text=True)
    with other_app.app_context():
        assert Note.cache.get(1).title == "renamed"


def json_api(app: Flask) -> None:
    """The host's own writes: a JSON API and a form post, neither knowing of the dashboard."""

    @app.post("/api/notes")
    def add_note():
        other_db.session.add(Note(title=request.json["title"]))
        other_db.session.commit()
        return {"notes": other_db.session.scalar(select(func.count()).select_from(Note))}, 201

    @app.post("/notes/<int:pk>/touch")
    def touch_note(pk):
        other_db.session.get(Note, pk).title += "!"
        other_db.session.commit()
        return redirect("/notes", 303)


@pytest.fixture
def prefixed_app(tmp_path):
    """A second app in this process, its own login, mounted under /ops/cache, with a JSON API."""
    with host_app(tmp_path, "prefixed", OPERATOR, "prefixed", setup=json_api, url="/ops/cache/") as app:
        yield app


def test_mounted_under_a_prefix_every_link_and_redirect_follows_it(prefixed_app):
    client = prefixed_app.test_client()
    assert client.get("/admin/").status_code == 404
    assert [r.rule for r in prefixed_app.url_map.iter_rules() if "//" in r.rule] == []  # "/ops/cache/" given
    response = client.get("/ops/cache/note/")
    assert (
        response.status_code == 302 and response.location == "/ops/cache/login?next=%2Fops%2Fcache%2Fnote%2F"
    )
    assert log_in(client, *OPERATOR, prefix="/ops/cache").location == "/ops/cache/"

    for path in ("/ops/cache/", "/ops/cache/note/", "/ops/cache/keys/", "/ops/cache/log/"):
        html = client.get(path).get_data(as_text=True)
        links = re.findall(r'(?:href|action|src)="(/[^"]*)"', html)
        assert links and [link for link in links if not link.startswith("/ops/cache")] == [], path
    response = post(client, "/ops/cache/note/edit/?id=1", {"title": "moved"}, follow_redirects=True)
    assert re.search(r'href="/ops/cache/log/\?id=[0-9a-f]+">log entry', response.get_data(as_text=True))
    logout = post(client, "/ops/cache/logout")
    assert logout.location == "/ops/cache/login"


def test_the_hosts_own_writes_need_no_csrf_token_and_get_no_flashes(prefixed_app):
    client = prefixed_app.test_client()
    response = client.post("/api/notes", json={"title": "from the API"})
    assert response.status_code == 201 and response.get_json() == {"notes": 2}
    response = client.post("/notes/1/touch")
    assert response.status_code == 303
    assert "Set-Cookie" not in response.headers  # no flash written to the session


def test_two_apps_in_one_process_each_mount_the_dashboard(dashboard, admin, prefixed_app):
    other = prefixed_app.test_client()
    assert log_in(other, *OPERATOR, prefix="/ops/cache").status_code == 302
    demo_listing = admin.get("/admin/").get_data(as_text=True)
    other_listing = other.get("/ops/cache/").get_data(as_text=True)
    assert 'href="/admin/user/"' in demo_listing and "/ops/cache" not in demo_listing
    assert 'href="/ops/cache/note/"' in other_listing and 'href="/admin/' not in other_listing
    assert admin.get("/ops/cache/").status_code == 404
    assert other.get("/admin/").status_code == 404


def test_a_host_with_its_own_flask_admin_keeps_it_beside_the_dashboard(tmp_path):
    """The host's Flask-Admin has the endpoint ``admin`` and a view of the same model: both mount,
    and each keeps its own pages, access rules and links."""

    def back_office(app: Flask) -> None:
        admin = Admin(app, name="Back office", url="/manage", theme=Bootstrap4Theme())
        admin.add_view(ModelView(Note, other_db))

    with host_app(tmp_path, "with_admin", OPERATOR, "shared", setup=back_office, url="/cache") as app:
        client = app.test_client()
        host_page = client.get("/manage/note/")  # the host's own: open, as the host set it up
        assert host_page.status_code == 200 and "shared" in host_page.get_data(as_text=True)
        assert 'href="/cache' not in host_page.get_data(as_text=True)
        assert client.get("/cache/note/").status_code == 302  # the dashboard's: login first
        assert log_in(client, *OPERATOR, prefix="/cache").status_code == 302
        dashboard_page = client.get("/cache/note/").get_data(as_text=True)
        assert "shared" in dashboard_page and 'href="/manage' not in dashboard_page
