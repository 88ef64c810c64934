"""What every dashboard view shares: login required, input checked, database errors
answered (503 while it is down, 400 for a value it refuses), and the app's caching state."""

from __future__ import annotations

from functools import partial
from typing import Any

from flask import redirect, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from caching.extension import CachingState, current_state

from .. import security


class AdminAccess:
    """Mixin for Flask-Admin views: anonymous users are sent to the login page."""

    def is_accessible(self) -> bool:
        return current_user.is_authenticated

    def _handle_view(self, name: str, **kwargs: Any) -> Any:
        security.check_input()
        return security.answer_database_errors(partial(super()._handle_view, name, **kwargs))

    def _run_view(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return security.answer_database_errors(partial(super()._run_view, fn, *args, **kwargs))

    def inaccessible_callback(self, name: str, **kwargs: Any) -> Response:
        return redirect(url_for("dashboard_auth.login", next=request.full_path.rstrip("?")))


def state() -> CachingState:
    return current_state()


def region_label(requested: str | None) -> str:
    """The region named in the request, or the default one; unknown names fall back too."""
    regions = state().regions
    return requested if requested in regions else state().default_label
