"""The dashboard's own login, for host apps without Flask-Login: a werkzeug-hashed
password, CSRF on every form.

The admin account table lives in the host app's database (one ``AdminUser``
model per Flask-SQLAlchemy instance). The login and logout routes are mounted
under the dashboard's URL. Logout is a POST; ``next`` only ever redirects
within the site.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, url_for
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import FlaskForm
from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash
from werkzeug.wrappers import Response
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from .scope import confine

bp = confine(Blueprint("dashboard_auth", __name__))
_admin_models: dict[int, type] = {}


@dataclass(frozen=True)
class SignedInAdmin(UserMixin):
    """The logged-in admin as plain values: reading it never needs the database,
    not even in an ``after_commit`` hook when the session's objects are expired."""

    id: int
    username: str


def admin_user_model(db: SQLAlchemy) -> Any:
    """The ``AdminUser`` model of this database, defined on first use."""
    if id(db) not in _admin_models:

        class AdminUser(db.Model):  # type: ignore[name-defined]
            __tablename__ = "dashboard_admin_user"

            id: Mapped[int] = mapped_column(primary_key=True)
            username: Mapped[str] = mapped_column(String(80), unique=True)
            password_hash: Mapped[str] = mapped_column(String(256))

            def set_password(self, password: str) -> None:
                self.password_hash = generate_password_hash(password)

            def check_password(self, password: str) -> bool:
                return check_password_hash(self.password_hash, password)

        _admin_models[id(db)] = AdminUser
    return _admin_models[id(db)]


def init_auth(app: Flask, db: SQLAlchemy) -> None:
    """The dashboard's own Flask-Login ``LoginManager`` on ``app``, which has none."""
    model = admin_user_model(db)
    manager = LoginManager(app)
    manager.login_view = "dashboard_auth.login"
    manager.login_message_category = "info"

    @manager.user_loader
    def load_user(user_id: str) -> SignedInAdmin | None:
        if not user_id.isdigit():
            return None
        row = db.session.execute(select(model.id, model.username).where(model.id == int(user_id))).first()
        return SignedInAdmin(*row) if row else None

    app.extensions["dashboard_admin_model"] = model
    app.extensions["dashboard_db"] = db


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=80)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])
    submit = SubmitField("Log in")


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (no open redirects)."""
    if not target or "\\" in target or any(ord(c) < 32 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response:
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")) or url_for("admin.index"))
    form = LoginForm()
    if form.validate_on_submit():
        model = current_app.extensions["dashboard_admin_model"]
        db = current_app.extensions["dashboard_db"]
        user = db.session.scalars(select(model).where(model.username == form.username.data)).first()
        if user is not None and user.check_password(form.password.data):
            login_user(SignedInAdmin(user.id, user.username))
            return redirect(safe_next(request.args.get("next")) or url_for("admin.index"))
        flash("Wrong username or password.", "error")
    return render_template("dashboard/login.html", form=form), (401 if form.is_submitted() else 200)


@bp.post("/logout")
def logout() -> Response:
    logout_user()
    flash("Logged out.", "info")
    return redirect(url_for("dashboard_auth.login"))


def create_admin(db: SQLAlchemy, username: str, password: str) -> Any:
    """Add an admin, or set the password of an existing one."""
    model = admin_user_model(db)
    user = db.session.scalars(select(model).where(model.username == username)).first()
    if user is None:
        user = model(username=username)
        db.session.add(user)
    user.set_password(password)
    db.session.commit()
    return user


def ensure_admin(db: SQLAlchemy, username: str = "admin") -> str | None:
    """Create a first admin with a random password if there is none; return that password."""
    model = admin_user_model(db)
    if db.session.scalars(select(model.id)).first() is not None:
        return None
    password = secrets.token_urlsafe(12)
    create_admin(db, username, password)
    return password
