"""The dashboard's own login, for host apps without Flask-Login: a werkzeug-hashed
password, CSRF on every form.

The admin account table lives in the host app's database (one ``AdminUser``
model per Flask-SQLAlchemy instance), and so does each signed-in session: the
cookie carries a random token, the database its hash. Logging out, or a new
password, deletes those rows, so a copied cookie stops working at once, in
every worker. Sessions are read through the cache (guarded like every cached
value), so pages served from the cache keep working while the database is down.
(With the host's ``LoginManager``, the host owns its users' sessions.) The login
and logout routes are mounted under the dashboard's URL. Logout is a POST;
``next`` only ever redirects within the site; login attempts are rate-limited
per name and per address, and an unknown name costs the same hashing time as a
wrong password.
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import FlaskForm
from sqlalchemy import ForeignKey, Integer, String, delete, select
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash
from werkzeug.wrappers import Response
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from caching import MISS, current_state, uncounted
from caching.keys import guard_key, with_guards

from . import security
from .scope import confine

bp = confine(Blueprint("dashboard_auth", __name__))

SESSION_DAYS = 14  # a session not ended by logout ends this long after login
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
_models: dict[int, AdminModels] = {}


class AdminModels(NamedTuple):
    user: Any
    session: Any


@dataclass(frozen=True)
class SignedInAdmin(UserMixin):
    """The logged-in admin as plain values: reading it never needs the database,
    not even in an ``after_commit`` hook when the session's objects are expired.
    Flask-Login keeps ``token`` (its id) in the cookie."""

    id: int
    username: str
    token: str

    def get_id(self) -> str:
        return self.token


def admin_models(db: SQLAlchemy) -> AdminModels:
    """The ``AdminUser`` and ``AdminSession`` models of this database, defined on first use."""
    if id(db) not in _models:

        class AdminUser(db.Model):  # type: ignore[name-defined]
            __tablename__ = "dashboard_admin_user"

            id: Mapped[int] = mapped_column(primary_key=True)
            username: Mapped[str] = mapped_column(String(80), unique=True)
            password_hash: Mapped[str] = mapped_column(String(256))

            def set_password(self, password: str) -> None:
                self.password_hash = generate_password_hash(password)

            def check_password(self, password: str) -> bool:
                return check_password_hash(self.password_hash, password)

        class AdminSession(db.Model):  # type: ignore[name-defined]
            __tablename__ = "dashboard_admin_session"

            digest: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the token
            admin_id: Mapped[int] = mapped_column(ForeignKey(AdminUser.id, ondelete="CASCADE"), index=True)
            created: Mapped[int] = mapped_column(Integer)  # Unix time

        _models[id(db)] = AdminModels(AdminUser, AdminSession)
    return _models[id(db)]


def admin_user_model(db: SQLAlchemy) -> Any:
    return admin_models(db).user


def init_auth(app: Flask, db: SQLAlchemy) -> None:
    """The dashboard's own Flask-Login ``LoginManager`` on ``app``, which has none."""
    models = admin_models(db)
    manager = LoginManager(app)
    manager.login_view = "dashboard_auth.login"
    manager.login_message_category = "info"
    manager.user_loader(load_admin)
    app.extensions["dashboard_admin_models"] = models
    app.extensions["dashboard_db"] = db


def load_admin(token: str) -> SignedInAdmin | None:
    """The admin whose session ``token`` names, if that session has not ended."""
    if not _TOKEN.fullmatch(token):
        return None
    key = _session_key(_digest(token))
    state = current_state()

    def load() -> tuple[Any, Any]:
        models, db = current_app.extensions["dashboard_admin_models"], current_app.extensions["dashboard_db"]
        row = db.session.execute(
            select(models.session.admin_id, models.user.username, models.session.created)
            .join(models.user, models.user.id == models.session.admin_id)
            .where(models.session.digest == _digest(token))
        ).first()
        data = None if row is None else list(row)
        return data, data

    def use(data: Any) -> Any:
        well_formed = isinstance(data, list) and [type(v) for v in data] == [int, str, int]
        return data if data is None or well_formed else MISS

    if state.enabled:
        with uncounted():  # the dashboard's own bookkeeping, not the app's cache traffic
            data = state.region(state.default_label).store.read_through(key, [guard_key(key)], load, use)
    else:
        data = load()[1]
    if data is None or data[2] < time.time() - SESSION_DAYS * 86400:
        return None
    return SignedInAdmin(data[0], data[1], token)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _session_key(digest: str) -> str:
    return f"dashboard_session:{digest}"


def start_session(db: SQLAlchemy, admin_id: int) -> str:
    """A new session of ``admin_id``: its token (for the cookie); ends the admin's expired ones."""
    models = admin_models(db)
    token = secrets.token_urlsafe(32)
    now = int(time.time())
    db.session.add(models.session(digest=_digest(token), admin_id=admin_id, created=now))
    expired = select(models.session.digest).where(
        models.session.admin_id == admin_id, models.session.created < now - SESSION_DAYS * 86400
    )
    _end_sessions(db, list(db.session.scalars(expired)))
    return token


def end_sessions(db: SQLAlchemy, *, admin_id: int | None = None, token: str | None = None) -> None:
    """End one session (``token``) or every session of ``admin_id``, in every worker."""
    models = admin_models(db)
    if token is not None:
        digests = [_digest(token)]
    else:
        of_admin = select(models.session.digest).where(models.session.admin_id == admin_id)
        digests = list(db.session.scalars(of_admin))
    _end_sessions(db, digests)


def _end_sessions(db: SQLAlchemy, digests: list[str]) -> None:
    """Delete the sessions' rows, commit, then their cached copies (with their guards,
    so that a copy read before the commit is never stored after it)."""
    if digests:
        models = admin_models(db)
        db.session.execute(delete(models.session).where(models.session.digest.in_(digests)))
    db.session.commit()
    if digests:
        state = current_state()
        state.region(state.default_label).store.delete(with_guards(map(_session_key, digests)))


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


@bp.route("/login", methods=["GET", "POST"], strict_slashes=False)  # /login/ too
def login() -> str | Response:
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")) or url_for("cache_dashboard.index"))
    form = LoginForm()
    if form.validate_on_submit():
        with security.login_attempt(form.username.data):
            admin_id = authenticate(form.username.data, form.password.data)
        if admin_id is not None:
            db = current_app.extensions["dashboard_db"]
            token = start_session(db, admin_id)
            session.clear()  # a new CSRF token, and nothing kept from before the login
            login_user(SignedInAdmin(admin_id, form.username.data, token))
            return redirect(safe_next(request.args.get("next")) or url_for("cache_dashboard.index"))
        flash("Wrong username or password.", "error")
    return render_template("dashboard/login.html", form=form), (401 if form.is_submitted() else 200)


def authenticate(username: str, password: str) -> int | None:
    """The id of the admin with this name and password. An unknown name is checked
    against a dummy hash, so that its answer takes as long as a wrong password's."""
    model, db = current_app.extensions["dashboard_admin_models"].user, current_app.extensions["dashboard_db"]
    row = db.session.execute(select(model.id, model.password_hash).where(model.username == username)).first()
    matches = check_password_hash(row.password_hash if row else _dummy_hash(), password)
    return row.id if row is not None and matches else None


@functools.cache
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_urlsafe(16))


@bp.post("/logout")
def logout() -> Response:
    if current_user.is_authenticated:
        end_sessions(current_app.extensions["dashboard_db"], token=current_user.token)
    logout_user()
    flash("Logged out.", "info")
    return redirect(url_for("dashboard_auth.login"))


def create_admin(db: SQLAlchemy, username: str, password: str) -> Any:
    """Add an admin, or set the password of an existing one, which ends its sessions."""
    model = admin_user_model(db)
    user = db.session.scalars(select(model).where(model.username == username)).first()
    if user is None:
        user = model(username=username)
        db.session.add(user)
    user.set_password(password)
    db.session.commit()
    end_sessions(db, admin_id=user.id)
    return user


def ensure_admin(db: SQLAlchemy, username: str = "admin") -> str | None:
    """Create a first admin with a random password if there is none; return that password."""
    model = admin_user_model(db)
    if db.session.scalars(select(model.id)).first() is not None:
        return None
    password = secrets.token_urlsafe(12)
    create_admin(db, username, password)
    return password
