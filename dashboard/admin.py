"""``init_dashboard(app, db)``: mount the whole dashboard on any Flask app using ``caching``.

Like Django's ``admin.site.register``, it registers a CRUD view for every
``CacheableMixin`` model of ``db`` (or the ``models`` given), plus the key
browser, region stats and the invalidation log, all behind Flask-Login, with
Flask-WTF's ``CSRFProtect`` checking every POST, and the headers, login rate
limits and input checks of :mod:`dashboard.security` on the dashboard's pages.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from flask import Blueprint, Flask, flash, g, has_request_context, render_template, url_for
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme
from flask_login import current_user
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from markupsafe import Markup
from redis.exceptions import RedisError
from werkzeug.wrappers import Response

from caching import CacheableMixin

from . import auth, security
from .views.keys import KeyBrowserView
from .views.log import InvalidationLogView
from .views.models import CachedModelView
from .views.stats import DashboardIndexView

TEMPLATES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "templates")
FLASHED_ENTRIES = 5
FLASHED_KEYS = 8


def init_dashboard(
    app: Flask,
    db: SQLAlchemy,
    models: Iterable[type] | None = None,
    *,
    url: str = "/admin",
    name: str = "Cache dashboard",
) -> Admin:
    """Mount the dashboard on ``app``; ``caching.init_app(app, db)`` must have run."""
    if "caching" not in app.extensions:
        raise RuntimeError("init_dashboard needs caching: call Caching().init_app(app, db) first")
    if "csrf" not in app.extensions:
        CSRFProtect(app)
    auth.init_auth(app, db)
    app.register_blueprint(auth.bp)
    app.register_blueprint(Blueprint("dashboard_templates", __name__, template_folder=TEMPLATES))
    app.extensions["caching"].enable_log(app.config.get("CACHE_LOG_SIZE", 1000)).who = current_admin_name

    admin = Admin(
        app,
        name=name,
        url=url,
        theme=Bootstrap4Theme(base_template="dashboard/base.html"),
        index_view=DashboardIndexView(name="Cache", url=url),
    )
    for model in models if models is not None else cacheable_models(db):
        admin.add_view(CachedModelView(model, db, category="Models"))
    admin.add_view(KeyBrowserView(name="Keys", endpoint="keys", url=f"{url}/keys"))
    admin.add_view(InvalidationLogView(name="Invalidation log", endpoint="invalidations", url=f"{url}/log"))
    security.init_security(app, [view.blueprint.name for view in admin._views] + [auth.bp.name])
    app.after_request(flash_invalidations)
    app.register_error_handler(RedisError, backend_unavailable)
    app.extensions["dashboard"] = admin
    return admin


def cacheable_models(db: SQLAlchemy) -> list[type]:
    """Every mapped class of ``db`` that opted into the cache, by name."""
    classes = (m.class_ for m in db.Model.registry.mappers)
    return sorted((c for c in classes if issubclass(c, CacheableMixin)), key=lambda c: c.__name__)


def current_admin_name() -> str:
    """Who the invalidation log names: the logged-in admin, else the app itself."""
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user.username
    return "app"


def flash_invalidations(response: Response) -> Response:
    """After a write that redirects, flash the keys it invalidated, linking to the log."""
    entries = g.pop("cache_invalidations", None)
    if entries and response.status_code in (301, 302, 303):
        for entry in entries[:FLASHED_ENTRIES]:
            flash(invalidation_message(entry), "info")
        if len(entries) > FLASHED_ENTRIES:
            flash(f"… and {len(entries) - FLASHED_ENTRIES} more invalidations (see the log).", "info")
    return response


def invalidation_message(entry: dict[str, Any]) -> Markup:
    keys = entry["keys"][:FLASHED_KEYS]
    subject = (
        f"{entry['model']} {entry['pk']}" if entry["model"] and entry["pk"] is not None else "Manual flush"
    )
    more = f" and {entry['key_count'] - len(keys)} more" if entry["key_count"] > len(keys) else ""
    return Markup('{} ({}) invalidated {} keys: {}{} — <a href="{}">log entry</a>').format(
        subject,
        entry["operation"],
        entry["key_count"],
        Markup(", ").join(Markup("<code>{}</code>").format(k) for k in keys),
        more,
        url_for("invalidations.index", id=entry["id"]),
    )


def backend_unavailable(exc: RedisError) -> tuple[str, int]:
    return render_template("dashboard/unavailable.html", error=str(exc)), 503
