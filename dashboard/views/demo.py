"""The gist's demo pages, reading through ``User.cache`` to generate cache traffic.

They show users' emails, so they need a logged-in admin like the dashboard,
unless ``DEMO_PUBLIC`` opens the reading pages; the two writes (update a user,
add demo users) are POSTs that always need a logged-in admin and a CSRF token.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from .. import security
from ..extensions import db
from ..models import User

bp = Blueprint("demo", __name__, url_prefix="/demo")
bp.before_request(security.check_input)
for _error in security.DATABASE_ERRORS:
    bp.register_error_handler(_error, security.database_error)
SEED_USERS = 50


@bp.before_request
def require_login() -> Response | None:
    """Send visitors to the login page, unless ``DEMO_PUBLIC`` opens the reading pages."""
    public = current_app.config.get("DEMO_PUBLIC") and request.method == "GET"
    if public or current_user.is_authenticated:
        return None
    return current_app.login_manager.unauthorized()


@bp.get("/")
def all_users() -> str:
    return render_template("demo/users.html", users=User.cache.filter(), title="All users")


@bp.get("/views/<int:views>/")
def users_with_views(views: int) -> str:
    users = User.cache.filter(views=views)
    return render_template("demo/users.html", users=users, title=f"Users with {views} views")


@bp.get("/users/<int:user_id>/")
def view_user(user_id: int) -> str:
    return render_template("demo/user.html", user=_user_or_404(user_id))


@bp.post("/users/<int:user_id>/update")
def update_user(user_id: int) -> Response:
    """Add a view: flushes the user, the ``all`` listing and the old and new views listings."""
    user = _user_or_404(user_id)
    user.views += 1
    db.session.commit()
    return redirect(url_for("demo.view_user", user_id=user_id))


@bp.post("/init-db")
def init_db() -> Response:
    """Add demo users, as the gist's ``/init_db/`` did."""
    from ..commands import seed_users

    db.create_all()
    seed_users(SEED_USERS)
    return redirect(url_for("demo.all_users"))


def _user_or_404(user_id: int) -> User:
    user = User.cache.get(user_id)
    if user is None:
        abort(404)
    return user
