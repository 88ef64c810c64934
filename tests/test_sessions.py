"""Sessions and logins: one key for every worker, rate limits, equal work for unknown
names, sessions that end server-side, a new CSRF token at login, the cookie's flags."""

import pytest
from flask import Flask

from dashboard import auth, create_app
from dashboard.extensions import db
from tests.dashboard_helpers import ADMIN, csrf_token, log_in, post


def test_the_secret_key_is_made_once_and_shared_by_every_worker(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setattr(Flask, "auto_find_instance_path", lambda app: str(tmp_path))
    first = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}).secret_key
    assert len(first) == 64
    # another worker, or a restart
    assert create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}).secret_key == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret_key"]
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    assert create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}).secret_key == "from-the-environment"


def test_the_session_cookie_is_samesite_lax_and_secure_when_configured(dashboard, client):
    cookie = log_in(client).headers["Set-Cookie"]
    assert "SameSite=Lax" in cookie and "HttpOnly" in cookie and "Secure" not in cookie
    dashboard.config["SESSION_COOKIE_SECURE"] = True
    assert "Secure" in log_in(dashboard.test_client()).headers["Set-Cookie"]


def test_a_login_gets_a_new_csrf_token(client):
    before = csrf_token(client)
    assert log_in(client).status_code == 302
    assert client.csrf_token != before
    response = client.post("/admin/regions/default/flush", data={"csrf_token": before})
    assert response.status_code == 400 and "CSRF" in response.get_data(as_text=True)


@pytest.mark.backends  # the session's cached entry, deleted in every worker
def test_a_cookie_copied_before_logout_no_longer_opens_the_dashboard(dashboard, admin):
    copy = dashboard.test_client()
    copy.set_cookie("session", admin.get_cookie("session").value)
    assert copy.get("/admin/").status_code == 200
    assert post(admin, "/admin/logout").status_code == 302
    response = copy.get("/admin/")
    assert response.status_code == 302 and response.location.startswith("/admin/login")


@pytest.mark.backends  # the sessions' cached entries, deleted in every worker
def test_a_new_password_ends_every_session_of_that_admin(dashboard, admin):
    other = dashboard.test_client()
    assert log_in(other).status_code == 302
    with dashboard.app_context():
        auth.create_admin(db, ADMIN[0], "a brand new password")
    for client in (admin, other):
        assert client.get("/admin/").status_code == 302
    assert log_in(dashboard.test_client(), ADMIN[0], "a brand new password").status_code == 302


@pytest.mark.backends  # attempts are counted in the cache's Redis
def test_login_attempts_are_limited_per_name(dashboard, client):
    dashboard.config["DASHBOARD_LOGIN_LIMIT_PER_NAME"] = "5 per minute"
    statuses = [log_in(client, ADMIN[0], f"guess {i}").status_code for i in range(5)]
    assert statuses == [401] * 5
    response = log_in(client)  # the right password, too late
    assert response.status_code == 429
    assert "Too Many Requests" in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302
    assert log_in(dashboard.test_client(), "someone else", "x").status_code == 401


@pytest.mark.backends  # attempts are counted in the cache's Redis
def test_login_attempts_are_limited_per_address(dashboard, client):
    dashboard.config["DASHBOARD_LOGIN_LIMIT_PER_ADDRESS"] = "3 per minute"
    assert [log_in(client, f"name{i}", "x").status_code for i in range(3)] == [401] * 3
    assert log_in(client).status_code == 429
    other = dashboard.test_client()
    response = log_in_from(other, "10.0.0.2")
    assert response.status_code == 302


def log_in_from(client, address):
    token = csrf_token(client)
    form = {"username": ADMIN[0], "password": ADMIN[1], "csrf_token": token}
    return client.post("/admin/login", data=form, environ_base={"REMOTE_ADDR": address})


@pytest.mark.parametrize("username", [ADMIN[0], "nobody"])
def test_a_failed_login_hashes_once_whether_or_not_the_name_exists(client, monkeypatch, username):
    checked = []
    real = auth.check_password_hash
    monkeypatch.setattr(auth, "check_password_hash", lambda h, p: checked.append(h) or real(h, p))
    assert log_in(client, username, "wrong").status_code == 401
    assert len(checked) == 1 and checked[0].startswith(("scrypt:", "pbkdf2:"))
    assert checked[0].split("$")[0] == auth._dummy_hash().split("$")[0]  # same method, same cost
