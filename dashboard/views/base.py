"""What every dashboard view shares: login required, and the app's caching state."""

from __future__ import annotations

from typing import Any

from flask import redirect, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from caching.extension import CachingState, current_state


class AdminAccess:
    """Mixin for Flask-Admin views: anonymous users are sent to the login page."""

    def is_accessible(self) -> bool:
        return current_user.is_authenticated

    def inaccessible_callback(self, name: str, **kwargs: Any) -> Response:
        return redirect(url_for("dashboard_auth.login", next=request.full_path.rstrip("?")))


def state() -> CachingState:
    return current_state()


def region_label(requested: str | None) -> str:
    """The region named in the request, or the default one; unknown names fall back too."""
    regions = state().regions
    return requested if requested in regions else state().default_label
