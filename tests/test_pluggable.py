"""The dashboard mounts on any Flask app that uses ``caching``, with its own models."""

import pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from caching import CacheableMixin, Caching
from dashboard.admin import init_dashboard
from dashboard.auth import create_admin
from tests.dashboard_helpers import log_in, post

other_db = SQLAlchemy()


class Note(CacheableMixin, other_db.Model):
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(80))


@pytest.fixture
def other_app(tmp_path, backend):
    app = Flask("other")
    app.config.update(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'other.db'}",
        SECRET_KEY="other-secret",
        CACHE_REGIONS={"default": backend},
    )
    other_db.init_app(app)
    Caching().init_app(app, other_db)
    init_dashboard(app, other_db)
    with app.app_context():
        other_db.create_all()
        create_admin(other_db, "owner", "a long enough password")
        other_db.session.add(Note(title="first"))
        other_db.session.commit()
        other_db.session.remove()
    yield app
    with app.app_context():
        other_db.drop_all()


def test_mounted_on_another_app_with_its_own_model(other_app):
    client = other_app.test_client()
    assert client.get("/admin/note/").status_code == 302  # login first
    assert log_in(client, "owner", "a long enough password").status_code == 302

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
