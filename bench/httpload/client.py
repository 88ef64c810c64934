"""A browser's worth of HTTP in Python: logging in, and checking what a page returns.

``wrk`` cannot fill in a form, so the admin page's session cookie is
obtained here, through the real login form (its CSRF token included), and
handed to ``wrk`` as a header. Pages are fetched without following
redirects: a load test of ``/admin/user/`` that was silently redirected to
the login page would measure the wrong page.
"""

from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

TIMEOUT = 10.0
SESSION_COOKIE = "session"
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def fetch(url: str, cookie: str | None = None) -> tuple[int, str]:
    """(status, body) of one GET, redirects not followed."""
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=TIMEOUT) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def log_in(base_url: str, username: str, password: str) -> str:
    """Log in through the form; the ``Cookie`` header value of the signed-in session."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect)
    with opener.open(f"{base_url}/admin/login", timeout=TIMEOUT) as response:
        match = CSRF.search(response.read().decode())
    if match is None:
        raise RuntimeError("no csrf_token field on /admin/login")
    form = {"username": username, "password": password, "csrf_token": match.group(1)}
    try:
        opener.open(f"{base_url}/admin/login", data=urllib.parse.urlencode(form).encode(), timeout=TIMEOUT)
        status = 200  # a 200 is the form again: the login failed
    except urllib.error.HTTPError as error:
        status = error.code  # the 302 that a successful login answers, not followed
    session = [c.value for c in jar if c.name == SESSION_COOKIE]
    if status != 302 or not session:
        raise RuntimeError(f"logging in as {username!r} failed (HTTP {status})")
    return f"{SESSION_COOKIE}={session[0]}"
