"""The gist's demo pages, reading through ``User.cache`` to generate cache traffic.

They show users' emails, so they need an admin the dashboard lets in, unless
``DEMO_PUBLIC`` opens the reading pages; the two writes (update a user, add
demo users) are POSTs that always need such an admin and a CSRF token, like
every other write: the blueprint is part of the dashboard (``confine``).
"""

from __future__ import annotations

from collections.abc import Sequence

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from caching import FromCache

from .. import access
from ..extensions import db
from ..models import User
from ..scope import confine

bp = confine(Blueprint("demo", __name__, url_prefix="/demo"))
SEED_USERS = 50


@bp.before_request
def require_login() -> Response | None:
    """Only users the dashboard admits, unless ``DEMO_PUBLIC`` opens the reading pages."""
    public = current_app.config.get("DEMO_PUBLIC") and request.method == "GET"
    if public or access.admitted():
        return None
    return access.refuse()


@bp.get("/")
def all_users() -> str:
    return render_template("demo/users.html", users=User.cache.filter(), title="All users")


@bp.get("/views/<int:views>/")
def users_with_views(views: int) -> str:
    users = User.cache.filter(views=views)
    return render_template("demo/users.html", users=users, title=f"Users with {views} views")


@bp.get("/addresses/")
def users_with_addresses() -> str:
    return render_template(
        "demo/addresses.html", users=users_and_addresses(), title="Users and their addresses"
    )


def users_and_addresses() -> Sequence[User]:
    """Each user with their addresses, written as without a cache: ``selectinload`` (two
    statements rather than 1 + N), with ``FromCache``. Warm, the users and the addresses
    their ``selectinload`` loaded come from the statement's one entry."""
    stmt = select(User).order_by(User.id).options(selectinload(User.addresses), FromCache(User.cache.label))
    return db.session.scalars(stmt).all()


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
