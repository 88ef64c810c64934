"""A host app with its own Flask-Login users, JSON API and handlers, and the dashboard
mounted on it under ``/ops/cache`` with an access callback.

The host's endpoints, login and handlers answer exactly as they do without the
dashboard; host users the callback admits see the dashboard, others are refused;
every dashboard POST still needs a CSRF token.
"""

import re

import pytest
from flask import Flask, request
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user
from flask_sqlalchemy import SQLAlchemy
from redis.exceptions import RedisError
from sqlalchemy import Boolean, Integer, String, inspect
from sqlalchemy.orm import Mapped, mapped_column

from caching import CacheableMixin, Caching
from dashboard.admin import init_dashboard
from tests.dashboard_helpers import csrf_token

host_db = SQLAlchemy()
MOUNT = "/ops/cache"


class Member(UserMixin, host_db.Model):
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    is_staff: Mapped[bool] = mapped_column(Boolean, default=False)


class Memo(CacheableMixin, host_db.Model):
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(80))


class TeapotError(Exception):
    pass


def build_host(database_url: str, *, mount: bool) -> Flask:
    """The host as it was before the dashboard (``mount=False``), or with it."""
    app = Flask("host")
    app.config.update(
        SQLALCHEMY_DATABASE_URI=database_url,
        SECRET_KEY="host-secret",
        CACHE_REGIONS={"default": {"backend": "dogpile.cache.memory", "expiration_time": 300}},
    )
    host_db.init_app(app)
    Caching().init_app(app, host_db)
    login_manager = LoginManager(app)
    login_manager.login_view = "login"
    login_manager.user_loader(lambda user_id: host_db.session.get(Member, int(user_id)))

    @app.route("/login", methods=["GET", "POST"])
    def login():
        if request.method == "GET":
            return "the host's login page"
        member = host_db.session.scalars(
            host_db.select(Member).filter_by(username=request.json["username"])
        ).one()
        login_user(member)
        return {"signed_in": member.username}

    @app.post("/api/memos")
    def add_memo():
        memo = Memo(title=request.json["title"])
        host_db.session.add(memo)
        host_db.session.commit()
        return {"id": memo.id, "title": Memo.cache.get(memo.id).title}, 201

    @app.get("/api/me")
    @login_required
    def me():
        return {"username": current_user.username}

    @app.get("/api/teapot")
    def teapot():
        raise TeapotError

    @app.get("/api/redis")
    def redis_down():
        raise RedisError("the host's own Redis is down")

    @app.errorhandler(TeapotError)
    def short_and_stout(exc):
        return {"error": "teapot"}, 418

    @app.errorhandler(RedisError)
    def host_redis_error(exc):
        return {"error": str(exc)}, 502

    @app.errorhandler(404)
    def not_found(exc):
        return {"error": "not found"}, 404

    @app.after_request
    def stamp(response):
        response.headers["X-Host"] = "yes"
        return response

    if mount:
        init_dashboard(app, host_db, url=MOUNT, can_access=lambda user: user.is_staff)
    with app.app_context():
        host_db.drop_all()
        host_db.create_all()
        host_db.session.add_all([Member(username="alice", is_staff=True), Member(username="bob")])
        host_db.session.add(Memo(title="first"))
        host_db.session.commit()
        host_db.session.remove()
    return app


@pytest.fixture
def make_host(database_url):
    built = []

    def make(mount: bool) -> Flask:
        built.append(build_host(database_url, mount=mount))
        return built[-1]

    yield make
    for app in built:
        with app.app_context():
            host_db.drop_all()
            host_db.engine.dispose()


@pytest.fixture
def host(make_host):
    return make_host(True)


def sign_in(client, username):
    assert client.post("/login", json={"username": username}).status_code == 200


def host_session(app):
    """What the host's own users and clients see of the host's routes."""
    client = app.test_client()
    seen = []
    for method, path, body in [
        ("post", "/api/memos", {"title": "via the API"}),  # JSON, no CSRF token
        ("get", "/api/me", None),
        ("get", "/login", None),
        ("post", "/login", {"username": "bob"}),
        ("get", "/api/me", None),
        ("get", "/api/teapot", None),
        ("get", "/api/redis", None),
        ("get", "/nowhere", None),
    ]:
        response = getattr(client, method)(path, json=body)
        seen.append(
            (
                method,
                path,
                response.status_code,
                response.location,
                response.get_json(silent=True) or response.get_data(as_text=True),
                response.headers.get("X-Host"),
            )
        )
    return seen


def test_the_hosts_routes_login_and_handlers_answer_as_without_the_dashboard(make_host):
    before = host_session(make_host(False))
    assert [status for _, _, status, *_ in before] == [201, 302, 200, 200, 200, 418, 502, 404]
    assert before[1][3] == "/login?next=%2Fapi%2Fme"
    assert before[4][4] == {"username": "bob"}

    with_dashboard = make_host(True)
    assert host_session(with_dashboard) == before
    assert with_dashboard.login_manager.login_view == "login"  # the host's own LoginManager
    with with_dashboard.app_context():
        tables = inspect(host_db.engine).get_table_names()
    assert "dashboard_admin_user" not in tables and "dashboard_admin_session" not in tables


def test_anonymous_visitors_are_sent_to_the_hosts_login(host):
    response = host.test_client().get(f"{MOUNT}/memo/")
    assert response.status_code == 302
    assert response.location == "/login?next=%2Fops%2Fcache%2Fmemo%2F"


def test_staff_see_the_dashboard_and_every_link_stays_under_its_prefix(host):
    client = host.test_client()
    sign_in(client, "alice")
    for path in (f"{MOUNT}/", f"{MOUNT}/memo/", f"{MOUNT}/keys/", f"{MOUNT}/log/"):
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        assert "alice" in html, path
        links = re.findall(r'(?:href|action|src)="(/[^"]*)"', html)
        assert links, path
        assert [link for link in links if link != MOUNT and not link.startswith(f"{MOUNT}/")] == [], path
    assert "first" in client.get(f"{MOUNT}/memo/").get_data(as_text=True)
    assert client.get(f"{MOUNT}/static/bootstrap/bootstrap4/css/bootstrap.min.css").status_code == 200


def test_the_dashboards_headers_and_input_checks_stay_on_its_pages(host):
    client = host.test_client()
    sign_in(client, "alice")
    dashboard_page, host_page = client.get(f"{MOUNT}/"), client.get("/api/me")
    assert "frame-ancestors 'none'" in dashboard_page.headers["Content-Security-Policy"]
    assert dashboard_page.headers["X-Frame-Options"] == "DENY"
    assert "Content-Security-Policy" not in host_page.headers and "X-Frame-Options" not in host_page.headers
    assert client.get(f"{MOUNT}/keys/?pattern=memo%00").status_code == 400
    assert client.get(f"{MOUNT}/memo/?search=" + "x" * 10_001).status_code == 400
    assert client.get("/api/me?q=%00").get_json() == {"username": "alice"}  # the host's own input rules


def test_host_users_the_callback_refuses_get_a_403(host):
    client = host.test_client()
    sign_in(client, "bob")
    for path in (f"{MOUNT}/", f"{MOUNT}/memo/", f"{MOUNT}/keys/"):
        assert client.get(path).status_code == 403, path
    assert client.get(f"{MOUNT}/login").get_json() == {"error": "not found"}  # no login of its own


def test_every_dashboard_post_needs_a_csrf_token(host):
    client = host.test_client()
    sign_in(client, "alice")
    posts = [r for r in host.url_map.iter_rules() if r.rule.startswith(MOUNT) and "POST" in r.methods]
    assert len(posts) > 5
    for rule in posts:
        path = re.sub(r"<(?:[a-z]+:)?[a-z_]+>", "default", rule.rule)
        response = client.post(path, data={"key": "memo.id[1]", "region": "default", "pattern": "*"})
        assert response.status_code == 400, rule.rule
        assert "CSRF token" in response.get_data(as_text=True), rule.rule


def test_an_edit_by_a_host_user_is_flashed_and_logged_under_their_name(host):
    client = host.test_client()
    sign_in(client, "alice")
    token = csrf_token(client, f"{MOUNT}/")
    response = client.post(
        f"{MOUNT}/memo/edit/?id=1", data={"title": "renamed", "csrf_token": token}, follow_redirects=True
    )
    assert response.status_code == 200
    assert "<code>memo.id[1]</code>" in response.get_data(as_text=True)
    log = client.get(f"{MOUNT}/log/?model=Memo").get_data(as_text=True)
    assert "alice" in log and "memo.title=renamed[all]" in log


def test_the_cli_group_has_no_create_admin_where_the_host_has_its_login(host):
    runner = host.test_cli_runner()
    assert runner.invoke(args=["cache", "stats"]).exit_code == 0
    result = runner.invoke(args=["cache", "create-admin", "someone"])
    assert result.exit_code == 2 and "No such command 'create-admin'" in result.output


def test_a_host_login_manager_without_an_access_callback_is_refused(database_url):
    app = Flask("careless")
    app.config.update(SQLALCHEMY_DATABASE_URI=database_url, SECRET_KEY="x")
    db = SQLAlchemy(app)
    Caching().init_app(app, db)
    LoginManager(app)
    with pytest.raises(TypeError, match="can_access"):
        init_dashboard(app, db)
