"""The setups a run covers: each database with each cache backend, and their data.

The URLs come from the variables ``.ci/services.sh`` exports
(``CACHE_TEST_DATABASE_URL`` for PostgreSQL, ``CACHE_TEST_REDIS_URL``), so
``bench/run`` and the CI scripts start servers the same way. A setup whose
server is not configured is skipped rather than failed: a laptop without
PostgreSQL still gets the SQLite half of the report.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from flask import Flask
from sqlalchemy import insert

from dashboard.extensions import caching, db
from dashboard.models import User

USERS = 1000
VIEW_VALUES = 20  # views = id % 20: every listing by views holds USERS / VIEW_VALUES = 50 users
GET_PK = 4
LIST_VIEWS = 3
UPDATE_PK = USERS + 1  # outside every benchmarked listing, so updates don't disturb the reads
UPDATE_VIEWS = (100, 101)  # toggled by the update benchmark
EXPIRATION = 3600


@dataclass(frozen=True)
class Setup:
    """One database with one cache backend."""

    database: str
    backend: str
    database_url: str
    redis_url: str | None

    @property
    def label(self) -> str:
        return f"{self.database} + {self.backend}"

    @property
    def on_redis(self) -> bool:
        return self.backend == "Redis"

    def region_config(self) -> dict[str, Any]:
        """The dogpile region every cache in this setup uses, rivals included."""
        if self.redis_url is None:
            return {"backend": "dogpile.cache.memory", "expiration_time": EXPIRATION}
        return {
            "backend": "dogpile.cache.redis",
            "expiration_time": EXPIRATION,
            "arguments": {"url": self.redis_url},
        }


def available_setups(workdir: Path) -> tuple[list[Setup], list[str]]:
    """The setups this machine can run, and a note for each one skipped."""
    databases = [("SQLite", f"sqlite:///{workdir / 'bench.db'}")]
    skipped = []
    postgres_url = os.environ.get("CACHE_TEST_DATABASE_URL")
    if postgres_url:
        databases.append(("PostgreSQL", postgres_url))
    else:
        skipped.append("PostgreSQL: CACHE_TEST_DATABASE_URL is not set")
    redis_url = os.environ.get("CACHE_TEST_REDIS_URL")
    if not redis_url:
        skipped.append("Redis: CACHE_TEST_REDIS_URL is not set")
    setups = []
    for database, url in databases:
        setups.append(Setup(database, "memory", url, None))
        if redis_url:
            setups.append(Setup(database, "Redis", url, redis_url))
    return setups, skipped


def make_app(setup: Setup) -> Flask:
    """A bare app with the demo models and the library on one region, as an app would set it up."""
    app = Flask(f"bench-{setup.database}-{setup.backend}".lower())
    app.config.update(
        SQLALCHEMY_DATABASE_URI=setup.database_url,
        SECRET_KEY="bench-secret",
        CACHE_REGIONS={"default": setup.region_config()},
    )
    db.init_app(app)
    caching.init_app(app, db)
    return app


def seed(setup: Setup) -> None:
    """Fresh tables with USERS users plus the one the update benchmark writes.

    Needs an app context. The Redis database is emptied too, so no entry of
    an earlier setup (or run) is read as a hit.
    """
    if setup.redis_url:
        redis.Redis.from_url(setup.redis_url).flushdb()
    db.drop_all()
    db.create_all()
    rows = [
        {"id": i, "username": f"user{i}", "email": f"user{i}@example.org", "views": i % VIEW_VALUES}
        for i in range(1, USERS + 1)
    ]
    rows.append(
        {"id": UPDATE_PK, "username": "writer", "email": "writer@example.org", "views": UPDATE_VIEWS[0]}
    )
    db.session.execute(insert(User), rows)
    db.session.commit()
    db.session.remove()
