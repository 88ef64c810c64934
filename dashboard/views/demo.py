"""The gist's demo pages, reading through ``User.cache`` to generate cache traffic."""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from ..models import User

bp = Blueprint("demo", __name__, url_prefix="/demo")


@bp.get("/")
def all_users() -> str:
    return render_template("demo/users.html", users=User.cache.filter(), title="All users")


@bp.get("/views/<int:views>/")
def users_with_views(views: int) -> str:
    users = User.cache.filter(views=views)
    return render_template("demo/users.html", users=users, title=f"Users with {views} views")


@bp.get("/users/<int:user_id>/")
def view_user(user_id: int) -> str:
    user = User.cache.get(user_id)
    if user is None:
        abort(404)
    return render_template("demo/user.html", user=user)
