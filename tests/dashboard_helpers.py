"""Test-client helpers for the dashboard: CSRF tokens and logging in."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient

ADMIN = ("admin", "correct horse battery")
_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/admin/login") -> str:
    return token_in(client.get(path).get_data(as_text=True), path)


def token_in(html: str, path: str = "the page") -> str:
    """The CSRF token of the first form in ``html``."""
    match = _TOKEN.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)


def log_in(
    client: FlaskClient, username: str = ADMIN[0], password: str = ADMIN[1], prefix: str = "/admin"
) -> Any:
    """Log in to the dashboard mounted at ``prefix``; the session's new CSRF token (a
    login changes it) is kept on the client for later POSTs."""
    token = csrf_token(client, f"{prefix}/login")
    client.csrf_token = token  # type: ignore[attr-defined]
    data = {"username": username, "password": password, "csrf_token": token}
    response = client.post(f"{prefix}/login", data=data)
    if response.status_code == 302:
        client.csrf_token = csrf_token(client, f"{prefix}/")  # type: ignore[attr-defined]
    return response


def post(client: FlaskClient, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    """POST with the session's CSRF token, as the dashboard's own forms do."""
    token = getattr(client, "csrf_token", None) or csrf_token(client)
    return client.post(path, data={**(data or {}), "csrf_token": token}, **kwargs)
