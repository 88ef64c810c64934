"""Exact counts per page view, warm: SQL statements and cache round trips.

Counted in this process, on the servers' database and Redis with their
settings, through the app's test client logged in as their admin, after
two unmeasured views (an eager-loaded relationship is stored from the
second). Unlike requests/s they do not depend on the machine, and with the
measured CPU they model each page's latency where the database and Redis
are on other hosts: CPU + statements x database round trip + calls x Redis
round trip (loopback hides the network).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from caching.testing import CountingProxy
from dashboard import create_app
from dashboard.extensions import db

from .client import CSRF
from .results import Page
from .server import ADMIN, SECRET_KEY, Services


def per_view(services: Services, page: Page, cache: bool) -> tuple[int, int]:
    """(SQL statements, cache backend calls) of one warm view of ``page``."""
    counter = CountingProxy()
    region = {
        "backend": "dogpile.cache.redis",
        "expiration_time": 300,
        "arguments": {"url": services.redis_url, "socket_timeout": 1.0},
        "wrap": [counter],
    }
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": services.database_url,
            "SECRET_KEY": SECRET_KEY,
            "CACHE_ENABLED": cache,
            "DEMO_PUBLIC": True,
            "CACHE_REGIONS": {"default": region},
        }
    )
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        client = app.test_client()
        if page.login:
            token = CSRF.search(client.get("/admin/login").get_data(as_text=True))
            form = {"username": ADMIN[0], "password": ADMIN[1], "csrf_token": token.group(1) if token else ""}
            client.post("/admin/login", data=form)
        for _ in range(2):
            client.get(page.path)
        statements.clear()
        counter.reset()
        status = client.get(page.path).status_code
        if status != 200:
            raise RuntimeError(f"{page.path} answered HTTP {status} in process, not 200")
        return len(statements), counter.total()
    finally:
        event.remove(engine, "before_cursor_execute", record)
        engine.dispose()
