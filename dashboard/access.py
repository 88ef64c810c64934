"""Who may enter the dashboard, and who the invalidation log names.

Two modes. Where the host app has no Flask-Login ``LoginManager``, the dashboard
brings its own, with its login page and ``dashboard_admin_user`` table, and only
those admins get in. Where the host has one, the host's users are the users:
its login view signs them in and ``can_access(user)`` says who may enter, in the
spirit of Flask-Admin's ``is_accessible``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import abort, current_app, g, has_request_context
from flask_login import current_user
from werkzeug.wrappers import Response

AccessCheck = Callable[[Any], bool]


@dataclass(frozen=True)
class Gate:
    """The access rule of one mounted dashboard."""

    can_access: AccessCheck | None = None
    own_admins: type | None = None  # the class of its own signed-in admins, when it brings its login

    @property
    def own_login(self) -> bool:
        return self.own_admins is not None

    def admits(self, user: Any) -> bool:
        """A signed-in user the rule lets in; with its own login, only its own admins
        (so that a ``LoginManager`` the host adds later cannot let the host's users in)."""
        if not user.is_authenticated:
            return False
        if self.own_admins is not None and not isinstance(user, self.own_admins):
            return False
        return self.can_access is None or bool(self.can_access(user))


def gate() -> Gate:
    return current_app.extensions["dashboard"].gate


def admitted() -> bool:
    return gate().admits(current_user)


def refuse() -> Response:
    """Anonymous visitors go to the login view (the host's, if it has one), as the
    host's ``LoginManager`` sends them; signed-in users the rule refuses get a 403."""
    if current_user.is_authenticated:
        abort(403)
    return current_app.login_manager.unauthorized()


def remember_user() -> None:
    """Note who is signed in, at the start of a dashboard request: the invalidation log
    asks after the commit, when the host's user object may be expired."""
    if current_user.is_authenticated:
        g.dashboard_user = str(getattr(current_user, "username", None) or current_user.get_id())


def user_name() -> str:
    """Who the invalidation log names: the user of a dashboard page, else the app itself."""
    return (g.get("dashboard_user") if has_request_context() else None) or "app"
