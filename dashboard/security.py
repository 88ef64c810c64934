"""The dashboard's defences besides login and CSRF: headers, login rate limits, bad input.

All of it applies to the dashboard's own blueprints only (``scope``), never to
the rest of the host app: Flask-Talisman's headers (a Content-Security-Policy, framing
denied, ``nosniff``, a Referrer-Policy), Flask-Limiter's limits on login
attempts per name and per address (in Redis when the cache's default region is
on Redis, so every worker counts together), and a 4xx with a plain message for
input no page can use (NUL bytes, over-long values, numbers the database
cannot store) and a 503 while the database is down, never a 500.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from flask import Flask, current_app, render_template, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_talisman import Talisman
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from werkzeug.exceptions import BadRequest

MAX_VALUE = 10_000  # characters in one query or form value: a search longer than this is no search
CSP = {
    "default-src": "'self'",
    # Flask-Admin's pages load Bootstrap, jQuery and their icons from its own static files,
    # and use a few inline styles and handlers
    "script-src": ["'self'", "'unsafe-inline'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "frame-ancestors": "'none'",
    "form-action": "'self'",
    "base-uri": "'self'",
}
LOGIN_LIMITS = {
    "DASHBOARD_LOGIN_LIMIT_PER_NAME": "10 per minute;50 per hour",
    "DASHBOARD_LOGIN_LIMIT_PER_ADDRESS": "30 per minute;200 per hour",
}


class BadInput(BadRequest):
    """Input no dashboard page can use: answered 400 with a plain message."""


def init_security(app: Flask, here: Callable[[], bool]) -> None:
    """Headers on the requests of ``app`` for which ``here()`` is true, and the login limiter."""
    for name, default in LOGIN_LIMITS.items():
        app.config.setdefault(name, default)
    app.config["SESSION_COOKIE_SAMESITE"] = app.config.get("SESSION_COOKIE_SAMESITE") or "Lax"
    secure_headers(app, here)
    limiter = Limiter(
        get_remote_address,
        storage_uri=_limiter_storage(app),
        key_prefix="dashboard-login",
        # while Redis is down, count in the process rather than refuse every login
        in_memory_fallback_enabled=True,
        swallow_errors=True,
    )
    limiter.init_app(app)
    app.extensions["dashboard_limiter"] = limiter


def secure_headers(app: Flask, here: Callable[[], bool]) -> None:
    """Flask-Talisman's headers on the responses for which ``here()`` is true, not on the rest of ``app``."""
    Talisman().init_app(
        _Scope(app, here),
        force_https=False,  # TLS is the proxy's job; SESSION_COOKIE_SECURE marks the cookie
        frame_options="DENY",
        content_security_policy=CSP,
        referrer_policy="same-origin",
        session_cookie_samesite=app.config["SESSION_COOKIE_SAMESITE"],
        session_cookie_secure=app.config.get("SESSION_COOKIE_SECURE", False),
    )


class _Scope:
    """What Talisman needs of an app, with its request hooks limited to the requests ``here`` accepts."""

    def __init__(self, app: Flask, here: Callable[[], bool]) -> None:
        self._app = app
        self._here = here
        self.config = app.config
        self.jinja_env = app.jinja_env

    @property
    def debug(self) -> bool:
        return self._app.debug

    def before_request(self, hook: Callable[[], Any]) -> None:
        self._app.before_request(lambda: hook() if self._here() else None)

    def after_request(self, hook: Callable[[Any], Any]) -> None:
        self._app.after_request(lambda response: hook(response) if self._here() else response)


def _limiter_storage(app: Flask) -> str:
    """Where login attempts are counted: the setting, else the cache's Redis, else memory."""
    if app.config.get("DASHBOARD_RATELIMIT_STORAGE_URI"):
        return app.config["DASHBOARD_RATELIMIT_STORAGE_URI"]
    state = app.extensions["caching"]
    region = app.config.get("CACHE_REGIONS", {}).get(state.default_label, {})
    url = region.get("arguments", {}).get("url")
    return url if region.get("backend") == "dogpile.cache.redis" and url else "memory://"


@contextmanager
def login_attempt(username: str) -> Iterator[None]:
    """Count one login attempt for ``username`` and for the client's address;
    raises ``RateLimitExceeded`` (429) once either has had too many."""
    limiter: Limiter = current_app.extensions["dashboard_limiter"]
    config = current_app.config
    with ExitStack() as stack:
        stack.enter_context(
            limiter.limit(
                config["DASHBOARD_LOGIN_LIMIT_PER_NAME"],
                key_func=lambda: f"name:{username.casefold()}",
                scope="login-name",
            )
        )
        stack.enter_context(
            limiter.limit(
                config["DASHBOARD_LOGIN_LIMIT_PER_ADDRESS"],
                key_func=lambda: f"address:{get_remote_address()}",
                scope="login-address",
            )
        )
        yield


def check_input() -> None:
    """Refuse a request whose path, query or form holds a NUL byte or an over-long value:
    databases refuse NULs in text (PostgreSQL), and patterns grow too complex (SQLite)."""
    values = [request.path, *request.args.keys(), *request.args.values()]
    if request.method == "POST":
        values += [*request.form.keys(), *request.form.values()]
    for value in values:
        if "\x00" in value:
            raise BadInput("The request holds a NUL character, which no field accepts.")
        if len(value) > MAX_VALUE:
            raise BadInput(f"A value of the request is longer than {MAX_VALUE} characters.")


def is_database_down(exc: BaseException) -> bool:
    """Is ``exc`` the database being unreachable (as opposed to a bad statement)?"""
    return isinstance(exc, OperationalError) or (isinstance(exc, DBAPIError) and exc.connection_invalidated)


def is_bad_value(exc: BaseException) -> bool:
    """Is ``exc`` the database refusing a value of the request (out of range, NUL)?"""
    return isinstance(exc, (DataError, OverflowError))


def database_error(exc: BaseException) -> tuple[str, int]:
    """The answer to a database error: 503 when it is down, 400 for a value it refused;
    any other error is a bug, and stays one (re-raised)."""
    if is_database_down(exc):
        current_app.logger.warning("database unreachable: %s", exc)
        page = render_template(
            "dashboard/unavailable.html",
            title="Database unavailable",
            heading="The database is unreachable",
            advice="This page needs the database, which does not answer right now. "
            "Pages served from the cache keep working. Try again shortly.",
        )
        return page, 503
    if is_bad_value(exc):
        return "The database cannot store a value of this request (out of range or malformed).", 400
    raise exc


DATABASE_ERRORS = (DBAPIError, OverflowError)
