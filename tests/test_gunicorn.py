"""The dashboard under gunicorn with three workers on one database and one Redis:
an edit served by one worker is seen at once by reads served by the others."""

import http.cookiejar
import os
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from dashboard import create_app
from dashboard.auth import create_admin
from dashboard.extensions import db
from dashboard.models import User
from tests.conftest import _free_port
from tests.dashboard_helpers import ADMIN, token_in

pytestmark = pytest.mark.slow  # a gunicorn server with three workers

ROOT = Path(__file__).resolve().parent.parent
WORKERS = 3


class Browser:
    """A cookie-keeping HTTP client that never follows redirects."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    def __init__(self, base):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), self._NoRedirect
        )

    def request(self, path, data=None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.base + path, data=body, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()


@pytest.fixture
def gunicorn(redis_url, database_url, tmp_path):
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    config = {"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "gunicorn-test"}
    app = create_app(config)
    with app.app_context():
        db.drop_all()
        db.create_all()
        create_admin(db, *ADMIN)
        db.session.add(User(username="shared", email="shared@example.org", views=0))
        db.session.commit()
        db.session.remove()
    port = _free_port()
    access_log = tmp_path / "access.log"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CACHE_REDIS_URL": redis_url,
        "SECRET_KEY": "gunicorn-test",
        "DEMO_PUBLIC": "1",  # the reads below are a visitor's
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            str(WORKERS),
            "-b",
            f"127.0.0.1:{port}",
            "--access-logfile",
            str(access_log),
            "--access-logformat",
            "%(p)s %(m)s %(U)s %(s)s",
            "dashboard:create_app()",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    browser = Browser(f"http://127.0.0.1:{port}")
    for _ in range(100):
        try:
            if browser.request("/demo/")[0] == 200:
                break
        except OSError:
            time.sleep(0.1)
    else:
        server.terminate()
        pytest.fail("gunicorn did not start")
    yield browser, access_log
    server.terminate()
    server.wait(timeout=30)
    with app.app_context():
        db.drop_all()


def workers_that_served(access_log, path, since=0):
    time.sleep(0.2)  # gunicorn writes its access log after the response
    lines = access_log.read_text().splitlines()[since:]
    return {line.split()[0] for line in lines if line.split()[2] == path}


def test_an_edit_on_one_worker_is_seen_by_the_others_at_once(gunicorn):
    browser, access_log = gunicorn
    path = "/demo/users/1/"
    for _ in range(60):  # warm every worker's view of the user, through the shared cache
        assert "views: 0" in browser.request(path)[1]
        if len(workers_that_served(access_log, path)) == WORKERS:
            break
    assert len(workers_that_served(access_log, path)) >= 2

    page = browser.request("/admin/login")[1]
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    status, _ = browser.request(
        "/admin/login", {"username": ADMIN[0], "password": ADMIN[1], "csrf_token": token}
    )
    assert status == 302
    token = token_in(browser.request("/admin/")[1])  # a login gives the session a new CSRF token
    seen_before = len(access_log.read_text().splitlines())
    status, _ = browser.request("/demo/users/1/update", {"csrf_token": token})
    assert status == 302

    bodies = []
    while len(bodies) < 200:  # until the reads have been served by other workers too
        bodies.extend(browser.request(path)[1] for _ in range(10))
        if len(workers_that_served(access_log, path, since=seen_before)) >= 2:
            break
    assert all("views: 1" in body for body in bodies)
    assert len(workers_that_served(access_log, path, since=seen_before)) >= 2
