"""``init_dashboard(app, db)``: mount the whole dashboard on any Flask app using ``caching``.

Like Django's ``admin.site.register``, it registers a CRUD view for every
``CacheableMixin`` model of ``db`` (or the ``models`` given), plus the key
browser, region stats and the invalidation log, under one URL prefix. What it
adds stays there: CSRF checks, the login requirement, flashes and the
backend-unavailable page, and the headers, login rate limits and input
checks of ``security``, apply to the dashboard's own blueprints only (see
``scope``), and a host that already uses Flask-Login keeps its
``LoginManager`` and users (see ``access``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask import Blueprint, Flask, Response
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme
from flask_sqlalchemy import SQLAlchemy

from caching import CacheableMixin

from . import access, auth, scope, security
from .cli import command_group
from .log import enable_log
from .paths import TEMPLATES
from .views.keys import KeyBrowserView
from .views.log import InvalidationLogView
from .views.models import CachedModelView
from .views.stats import DashboardIndexView

ENDPOINT = "cache_dashboard"
"""The prefix of every Flask-Admin endpoint of the dashboard (``cache_dashboard.index``,
``cache_dashboard_user``, ...): a host app's own Flask-Admin keeps ``admin`` and its models' names."""
FAVICON = (  # a key, drawn inline: no file to ship, no request outside the dashboard
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
    '<circle cx="10" cy="16" r="7" fill="none" stroke="#007bff" stroke-width="4"/>'
    '<path d="M17 16h13M25 16v6M29 16v5" stroke="#007bff" stroke-width="4" fill="none"/></svg>'
)


@dataclass(frozen=True)
class Mount:
    """One app's dashboard: its Flask-Admin instance and its access rule."""

    admin: Admin
    gate: access.Gate


def init_dashboard(
    app: Flask,
    db: SQLAlchemy,
    models: Iterable[type] | None = None,
    *,
    url: str = "/admin",
    name: str = "Cache dashboard",
    can_access: access.AccessCheck | None = None,
    cli_group: str | None = "cache",
) -> Admin:
    """Mount the dashboard on ``app`` under ``url``; ``caching.init_app(app, db)`` must have run.

    If ``app`` already has a Flask-Login ``LoginManager`` (set it up first), its
    users sign in there and ``can_access(user)`` says who may enter; otherwise the
    dashboard brings its own login and ``dashboard_admin_user`` table (create it
    with ``db.create_all()`` or ``flask cache create-admin NAME``). ``cli_group``
    names the group of its commands on ``app.cli`` (None: no commands).
    """
    if "caching" not in app.extensions:
        raise RuntimeError("init_dashboard needs caching: call Caching().init_app(app, db) first")
    url = mount_point(url)
    own_login = getattr(app, "login_manager", None) is None
    if not own_login and can_access is None:
        raise TypeError(
            "this app has its own LoginManager: say which of its users may enter the dashboard, "
            "e.g. init_dashboard(app, db, can_access=lambda user: user.is_staff)"
        )
    scope.configure(app)
    security.init_security(app, scope.in_dashboard)
    if own_login:
        auth.init_auth(app, db)
        app.register_blueprint(auth.bp, url_prefix=url)
    app.register_blueprint(Blueprint("dashboard_templates", __name__, template_folder=TEMPLATES))
    assets = Blueprint("dashboard_assets", __name__)
    assets.add_url_rule("/favicon.ico", "favicon", favicon)
    app.register_blueprint(assets, url_prefix=url)
    enable_log(app, app.config.get("CACHE_LOG_SIZE", 1000)).who = access.user_name
    gate = access.Gate(can_access, auth.SignedInAdmin if own_login else None)
    app.extensions["dashboard"] = Mount(build_admin(app, db, models, url, name), gate)
    if cli_group:
        app.cli.add_command(command_group(cli_group, own_login))
    return app.extensions["dashboard"].admin


def build_admin(app: Flask, db: SQLAlchemy, models: Iterable[type] | None, url: str, name: str) -> Admin:
    """Flask-Admin with the dashboard's views, every one under ``url``."""
    admin = Admin(
        app,
        name=name,
        url=url,
        endpoint=ENDPOINT,
        theme=Bootstrap4Theme(base_template="dashboard/base.html"),
        index_view=DashboardIndexView(name="Cache", url=url, endpoint=ENDPOINT),
    )
    for model in models if models is not None else cacheable_models(db):
        path = model.__name__.lower()  # Flask-Admin's URL for the model
        endpoint = f"{ENDPOINT}_{path}"
        admin.add_view(CachedModelView(model, db, category="Models", endpoint=endpoint, url=f"{url}/{path}"))
    admin.add_view(KeyBrowserView(name="Keys", endpoint=f"{ENDPOINT}_keys", url=f"{url}/keys"))
    admin.add_view(InvalidationLogView(name="Invalidation log", endpoint=f"{ENDPOINT}_log", url=f"{url}/log"))
    return admin


def favicon() -> Response:
    """The dashboard's icon (an SVG under the ``.ico`` name browsers ask for)."""
    return Response(FAVICON, mimetype="image/svg+xml", headers={"Cache-Control": "max-age=86400"})


def mount_point(url: str) -> str:
    """``url`` as ``/a/b``; the dashboard needs a prefix of its own, not the site's root."""
    path = "/" + url.strip("/")
    if path == "/":
        raise ValueError("mount the dashboard under a URL prefix of its own, e.g. url='/admin'")
    return path


def cacheable_models(db: SQLAlchemy) -> list[type]:
    """Every mapped class of ``db`` that opted into the cache, by name."""
    classes = (m.class_ for m in db.Model.registry.mappers)
    return sorted((c for c in classes if issubclass(c, CacheableMixin)), key=lambda c: c.__name__)
