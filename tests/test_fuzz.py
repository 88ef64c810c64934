"""Every route, GET and POST, logged in and not, with TESTING off: bad input is a 4xx, never a 500.

The inputs are the ones that used to break pages: ids beyond the database's
integer range, NUL bytes, a 100k-character value and a non-ASCII digit.
They go into every path parameter, every query argument the pages read
(ids, pages, cursors, searches, filters, patterns) and every form field the
POSTs read (ids, bulk-action rows, login, keys, patterns).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import make_url

from dashboard import create_app
from dashboard.auth import create_admin
from dashboard.extensions import db
from dashboard.models import User
from tests.dashboard_helpers import ADMIN, csrf_token, log_in

pytestmark = pytest.mark.slow  # every route, query argument and form field with every bad input

BAD_INPUTS = {
    "beyond 64 bits": "99999999999999999999",
    "beyond 32 bits": "2147483648",
    "NUL byte": "a\x00b",
    "100k characters": "x" * 100_000,
    "non-ASCII digit": "²",
}
QUERY_ARGS = ["id", "page", "page_size", "cursor", "search", "sort", "pattern", "key", "pk", "model"]
FORM_FIELDS = ["id", "rowid", "username", "password", "key", "pattern", "region", "views", "email"]
FILTERS = 30  # Flask-Admin's filter arguments flt0_0 .. flt0_29: more than any view has


@pytest.fixture
def live_app(database_url: str) -> Any:
    """The demo app as deployed: TESTING off, so an error is a 500 response, not an exception."""
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "tests-secret",
            "CACHE_REGIONS": {"default": {"backend": "dogpile.cache.memory", "expiration_time": 300}},
            "TESTING": False,
            "DASHBOARD_LOGIN_LIMIT_PER_NAME": "10000 per minute",
            "DASHBOARD_LOGIN_LIMIT_PER_ADDRESS": "10000 per minute",
        }
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
        create_admin(db, *ADMIN)
        db.session.add_all(User(username=f"user{i}", email=f"u{i}@example.org", views=3) for i in range(1, 6))
        db.session.commit()
        db.session.remove()
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def urls(app: Any, value: str) -> list[tuple[str, str, set[str]]]:
    """``(rule, url, methods)`` for every route, its parameters set to ``value``
    (int parameters to the value's digits, when it has any)."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.endswith("static"):
            continue

        def fill(match: re.Match[str]) -> str:
            converter = match.group(1) or ""
            if converter.startswith("int"):
                return value if value.isascii() and value.isdigit() else "1"
            return "csv" if match.group(2) == "export_type" else value

        path = re.sub(r"<(?:([a-z]+(?:\([^)]*\))?):)?([a-z_]+)>", fill, rule.rule)
        found.append((rule.rule, path, set(rule.methods) & {"GET", "POST"}))
    return found


def test_no_input_gets_a_500(live_app: Any) -> None:
    anonymous, admin = live_app.test_client(), live_app.test_client()
    assert log_in(admin).status_code == 302
    statuses: Counter[int] = Counter()
    failures = []
    routes = set()
    for name, value in BAD_INPUTS.items():
        query = {arg: value for arg in QUERY_ARGS} | {f"flt0_{i}": value for i in range(FILTERS)}
        for who, client in (("anonymous", anonymous), ("admin", admin)):
            token = client.csrf_token if who == "admin" else csrf_token(client)
            form = {field: value for field in FORM_FIELDS} | {"action": "delete", "csrf_token": token}
            for rule, path, methods in urls(live_app, value):
                routes.add(rule)
                if who == "admin" and rule == "/admin/logout":
                    continue  # the admin stays logged in for the other routes
                for method in sorted(methods):
                    if method == "GET":
                        response = client.get(path, query_string=query)
                    else:
                        response = client.post(path, query_string={"id": value}, data=form)
                    statuses[response.status_code] += 1
                    if response.status_code >= 500:
                        failures.append(f"{method} {rule} ({who}, {name}): {response.status_code}")
    dialect = make_url(live_app.config["SQLALCHEMY_DATABASE_URI"]).get_backend_name()
    print(
        f"\nfuzz on {dialect}: {len(routes)} routes x {len(BAD_INPUTS)} inputs x GET/POST x 2 users = "
        f"{sum(statuses.values())} requests; statuses {dict(sorted(statuses.items()))}; "
        f"{len(failures)} responses >= 500"
    )
    assert not failures, "\n".join(failures[:40])
    assert statuses[200] > 30  # the pages were reached, not just the login
