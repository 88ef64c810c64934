"""What every dashboard view shares: its access rule, its blueprint hooks, the app's caching state."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask_admin import Admin
from werkzeug.wrappers import Response

from caching import CachingState, current_state

from .. import access
from ..scope import confine


class AdminAccess:
    """Mixin for Flask-Admin views: only users the dashboard admits get in; anonymous
    visitors are sent to the login page. The view's blueprint gets the dashboard's hooks."""

    def is_accessible(self) -> bool:
        return access.admitted()

    def inaccessible_callback(self, name: str, **kwargs: Any) -> Response:
        return access.refuse()

    def create_blueprint(self, admin: Admin) -> Blueprint:
        return confine(super().create_blueprint(admin))  # type: ignore[misc]


def state() -> CachingState:
    return current_state()


def region_label(requested: str | None) -> str:
    """The region named in the request, or the default one; unknown names fall back too."""
    regions = state().regions
    return requested if requested in regions else state().default_label
