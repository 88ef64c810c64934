"""Smoke test of the installed wheel, run by .ci/wheel in a fresh venv outside the source tree.

``core``: a foreign app with one ``CacheableMixin`` model reads through the cache,
with the core dependencies only (no Redis client, no Flask-Admin).
``dashboard``: the same app mounts the dashboard under ``/ops/cache``; an admin
logs in and a page renders from the packaged templates, with Flask-Admin's
static files.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event

import caching
from caching import CacheableMixin, Caching

db = SQLAlchemy()
EXTRAS = ("redis", "flask_admin", "flask_login", "flask_wtf")


class Gadget(CacheableMixin, db.Model):
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(40))


def make_app() -> Flask:
    app = Flask("foreign")
    app.config.update(
        SQLALCHEMY_DATABASE_URI="sqlite://",
        SECRET_KEY="smoke",
        CACHE_REGIONS={"default": {"backend": "dogpile.cache.memory", "expiration_time": 60}},
    )
    db.init_app(app)
    Caching().init_app(app, db)
    return app


def installed(module_file: str) -> bool:
    return Path(module_file).resolve().is_relative_to(Path(sys.prefix).resolve())


def seed(app: Flask) -> None:
    with app.app_context():
        db.create_all()
        db.session.add(Gadget(id=1, name="sprocket"))
        db.session.commit()


def core() -> None:
    unexpected = [name for name in EXTRAS if importlib.util.find_spec(name) is not None]
    assert not unexpected, f"the core install brought {unexpected}"
    app = make_app()
    seed(app)
    statements: list[str] = []
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
        assert Gadget.cache.get(1).name == "sprocket"  # a miss: read from the database
        db.session.remove()
        read = len(statements)
        assert Gadget.cache.get(1).name == "sprocket"  # a hit: no SQL
        assert read > 0 and len(statements) == read, statements
    print("core: ok, a CacheableMixin model reads through the cache")


def dashboard() -> None:
    from dashboard.admin import init_dashboard
    from dashboard.auth import create_admin
    from dashboard.paths import TEMPLATES

    packaged = installed(TEMPLATES) and Path(TEMPLATES, "dashboard", "login.html").is_file()
    assert packaged, f"no templates from the wheel in {TEMPLATES}"
    app = make_app()
    init_dashboard(app, db, url="/ops/cache")
    seed(app)
    with app.app_context():
        create_admin(db, "smoke", "a smoke password")
    client = app.test_client()
    login = client.get("/ops/cache/login")
    assert login.status_code == 200, login.status_code
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login.get_data(as_text=True))[1]
    form = {"username": "smoke", "password": "a smoke password", "csrf_token": token}
    assert client.post("/ops/cache/login", data=form).location == "/ops/cache/"
    page = client.get("/ops/cache/gadget/")
    assert page.status_code == 200 and "sprocket" in page.get_data(as_text=True), page.status_code
    css = client.get("/ops/cache/static/bootstrap/bootstrap4/css/bootstrap.min.css")
    assert css.status_code == 200, css.status_code
    print(f"dashboard: ok, /ops/cache/gadget/ rendered from {TEMPLATES}")


if __name__ == "__main__":
    assert installed(caching.__file__), f"caching imported from {caching.__file__}, not the venv"
    {"core": core, "dashboard": dashboard}[sys.argv[1]]()
