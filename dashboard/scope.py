"""What the dashboard adds to its own blueprints, and to nothing else of the host app.

Every dashboard blueprint (each Flask-Admin view, the login pages, the demo
pages) refuses input no page can use (see ``security``), checks the CSRF token
of its writes with Flask-WTF, offers ``csrf_token()`` to its templates, notes
the signed-in user for the invalidation log, flashes the keys a write
invalidated when it redirects, answers 503 while the cache backend or the
database is unreachable, and gets the security headers of ``security``. The
host's own views keep their hooks, error handlers, headers and CSRF settings.
"""

from __future__ import annotations

from typing import Any
from weakref import WeakSet

from flask import Blueprint, Flask, current_app, flash, g, render_template, request, url_for
from flask_wtf.csrf import CSRFProtect, generate_csrf
from markupsafe import Markup
from werkzeug.wrappers import Response

from . import access, formats, security

try:
    from redis.exceptions import RedisError

    BACKEND_ERRORS: tuple[type[Exception], ...] = (RedisError,)
except ImportError:  # without the [redis] extra no region can raise it
    BACKEND_ERRORS = ()

# Flask-WTF's own defaults for the settings its check reads; a host's values win.
# (CSRFProtect.init_app would set them too, but would also check every host view.)
CSRF_DEFAULTS = {
    "WTF_CSRF_ENABLED": True,
    "WTF_CSRF_METHODS": {"POST", "PUT", "PATCH", "DELETE"},
    "WTF_CSRF_FIELD_NAME": "csrf_token",
    "WTF_CSRF_HEADERS": ["X-CSRFToken", "X-CSRF-Token"],
    "WTF_CSRF_SSL_STRICT": True,
}
FLASHED_ENTRIES = 5
FLASHED_KEYS = 8

_csrf = CSRFProtect()  # never given the app: only the dashboard's blueprints call its check
_confined: WeakSet[Blueprint] = WeakSet()


def configure(app: Flask) -> None:
    for name, value in CSRF_DEFAULTS.items():
        app.config.setdefault(name, value)


def confine(blueprint: Blueprint) -> Blueprint:
    """Attach the dashboard's hooks to ``blueprint``, before it is registered."""
    blueprint.before_request(security.check_input)
    blueprint.before_request(check_csrf)
    blueprint.before_request(access.remember_user)
    blueprint.context_processor(template_globals)
    blueprint.after_request(flash_invalidations)
    for error in BACKEND_ERRORS:
        blueprint.register_error_handler(error, backend_unavailable)
    for error in security.DATABASE_ERRORS:
        blueprint.register_error_handler(error, security.database_error)
    _confined.add(blueprint)
    return blueprint


def in_dashboard() -> bool:
    """Is the current request for one of the dashboard's blueprints?"""
    return current_app.blueprints.get(request.blueprint or "") in _confined


def check_csrf() -> None:
    """Flask-WTF's check of the form field or header on every write (400 without a
    valid token), unless the app turned CSRF off with ``WTF_CSRF_ENABLED``."""
    if current_app.config["WTF_CSRF_ENABLED"]:
        _csrf.protect()


def template_globals() -> dict[str, Any]:
    return {"csrf_token": generate_csrf, "dashboard_own_login": access.gate().own_login, **formats.HELPERS}


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
    if entry["model"] and entry["pk"] is not None:
        subject = Markup("{} {} ({})").format(entry["model"], entry["pk"], entry["operation"])
    else:
        patterns = Markup(", ").join(Markup("<code>{}</code>").format(p) for p in entry.get("patterns", ()))
        subject = Markup("{} flush of region <code>{}</code>{}").format(
            entry["operation"].capitalize(), entry["region"], Markup(" by ") + patterns if patterns else ""
        )
    more = f" and {entry['key_count'] - len(keys)} more" if entry["key_count"] > len(keys) else ""
    return Markup('{} invalidated {}: {}{} — <a href="{}">log entry</a>').format(
        subject,
        formats.plural(entry["key_count"], "key"),
        Markup(", ").join(Markup("<code>{}</code>").format(k) for k in keys),
        more,
        url_for("cache_dashboard_log.index", id=entry["id"]),
    )


def backend_unavailable(exc: Exception) -> tuple[str, int]:
    page = render_template(
        "dashboard/unavailable.html",
        title="Cache backend unavailable",
        heading="The cache backend is unreachable",
        error=str(exc),
        advice="The application keeps serving from the database; this page needs the cache itself. "
        "Try again shortly.",
        back=True,
    )
    return page, 503
