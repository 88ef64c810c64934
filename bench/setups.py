"""The setups a run covers (each database with each cache backend) and their data.

The servers come from the variables ``.ci/services.sh`` exports
(``CACHE_TEST_DATABASE_URL`` for PostgreSQL, ``CACHE_TEST_REDIS_URL``), so
``bench/run`` and the CI start them the same way.
"""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import redis
from flask import Flask
from sqlalchemy import create_engine, delete, func, insert, make_url, select, text

from dashboard.extensions import caching, db
from dashboard.models import Address, User

from . import paired

EXPIRATION = 3600
SQLITE_FILE = Path(tempfile.gettempdir()) / "caching-bench.db"  # shared by pyperf's worker processes
Op = Callable[[], Any]  # an operation, or its reset


@dataclass(frozen=True)
class Setup:
    """One database with one cache backend."""

    database: str
    backend: str
    database_url: str
    redis_url: str | None
    namespace: str | None = None  # the region's, when two apps of one setup share a Redis

    @property
    def label(self) -> str:
        return f"{self.database} + {self.backend}"

    def region(self) -> dict[str, Any]:
        """The dogpile region every cache of this setup uses, rivals included."""
        if self.redis_url is None:
            region: dict[str, Any] = {"backend": "dogpile.cache.memory"}
        else:
            region = {"backend": "dogpile.cache.redis", "arguments": {"url": self.redis_url}}
        return (
            region
            | {"expiration_time": EXPIRATION}
            | ({"namespace": self.namespace} if self.namespace else {})
        )


def all_setups() -> list[Setup]:
    """SQLite and PostgreSQL, each with memory and Redis: on the servers bench/run starts."""
    redis_url = os.environ["CACHE_TEST_REDIS_URL"]
    databases = {"SQLite": f"sqlite:///{SQLITE_FILE}", "PostgreSQL": os.environ["CACHE_TEST_DATABASE_URL"]}
    return [
        Setup(database, backend, url, cache)
        for database, url in databases.items()
        for backend, cache in (("memory", None), ("Redis", redis_url))
    ]


@functools.cache
def reference(setup: Setup) -> Setup:
    """``setup`` on a second database (created if missing, once a process) under a cache namespace of
    its own: a table kept at one size beside the one that grows, so that reads of the two can be timed
    in pairs."""
    url = make_url(setup.database_url)
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or "")
        return replace(
            setup, database_url=f"sqlite:///{path.with_stem(path.stem + '-reference')}", namespace="reference"
        )
    name = f"{url.database}_reference"
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        if not connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}):
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return replace(
        setup,
        database_url=url.set(database=name).render_as_string(hide_password=False),
        namespace="reference",
    )


@functools.cache
def make_app(setup: Setup) -> Flask:
    """A bare app with the demo models and the library on one region, as an app sets it up; one per
    setup and process (pyperf's workers each build only the ones they time)."""
    app = Flask(f"bench-{setup.database}-{setup.backend}".lower())
    app.config.update(
        SQLALCHEMY_DATABASE_URI=setup.database_url,
        SECRET_KEY="bench-secret",
        CACHE_REGIONS={"default": setup.region()},
    )
    db.init_app(app)
    caching.init_app(app, db)
    return app


def empty_cache(setup: Setup) -> None:
    """No entry of an earlier setup or run is read as a hit."""
    if setup.redis_url:
        redis.Redis.from_url(setup.redis_url).flushdb()


def grow_users(rows: int, batch: int = 20_000) -> None:
    """Make the user table hold ``rows`` users (``views = id % 20``), adding only what is missing.

    Needs an app context. A table holding more is emptied first, so the
    ids are always 1..rows.
    """
    db.create_all()
    have = db.session.scalar(select(func.count()).select_from(User)) or 0
    grown, emptied = have != rows, False
    if have > rows or (have and db.session.get(User, have) is None):
        db.session.execute(delete(Address))  # the library bench's one address refers to a user
        db.session.execute(delete(User))
        have, grown, emptied = 0, True, True
    for start in range(have + 1, rows + 1, batch):
        ids = range(start, min(start + batch, rows + 1))
        users = [
            {"id": i, "username": f"user{i}", "email": f"user{i}@example.org", "views": i % 20} for i in ids
        ]
        db.session.execute(insert(User), users)
    db.session.commit()
    db.session.remove()
    if grown and db.engine.dialect.name == "postgresql":
        # now, not in autovacuum's time (it would compete with the timed reads); and a table emptied
        # of 1,000,000 rows keeps their pages until rewritten: its 1,000-row page + count took 8 ms, not 2
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM FULL ANALYZE" if emptied else "VACUUM ANALYZE"))


def loop_seconds(loops: int, app: Flask, operation: Op, reset: Op) -> float:
    """What pyperf's ``bench_time_func`` wants: seconds in ``operation`` over ``loops``, resets left out;
    in ``app``'s context, rolled back after so that no transaction stays open into the next benchmark."""
    with app.app_context():
        total = paired.timed(loops, operation, reset)
        db.session.rollback()
    return total
