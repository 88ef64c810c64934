"""Flask-Caching's ``memoize`` around functions returning the instances.

What a Flask app reaches for first. A hit returns an unpickled, detached
copy that is *not* in ``db.session`` (less work than attaching it, and a
different result: changes to it are not tracked), and each call first
reads the function's version key, so a hit is two cache reads.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_caching import Cache

from dashboard.extensions import db
from dashboard.models import User

from ..environment import EXPIRATION, Setup
from . import listing_statement


def load_user(pk: int) -> Any:
    return db.session.get(User, pk)


def load_listing(views: int) -> list[Any]:
    return list(db.session.scalars(listing_statement(views)))


class MemoizeReader:
    """``SimpleCache`` with the memory backend, ``RedisCache`` with Redis."""

    name = "Flask-Caching memoize"
    kind = "rival"
    caches = True
    regions = ()

    def __init__(self, app: Flask, setup: Setup) -> None:
        config: dict[str, Any] = {"CACHE_DEFAULT_TIMEOUT": EXPIRATION, "CACHE_KEY_PREFIX": "memoize:"}
        if setup.redis_url:
            config.update(CACHE_TYPE="RedisCache", CACHE_REDIS_URL=setup.redis_url)
        else:
            config.update(CACHE_TYPE="SimpleCache", CACHE_THRESHOLD=10_000)
        self.cache = Cache()
        self.cache.init_app(app, config=config)
        self._get = self.cache.memoize(timeout=EXPIRATION)(load_user)
        self._listing = self.cache.memoize(timeout=EXPIRATION)(load_listing)

    def get(self, pk: int) -> Any:
        return self._get(pk)

    def forget(self, pk: int) -> None:
        self.cache.delete_memoized(self._get, pk)

    def listing(self, views: int) -> list[Any]:
        return self._listing(views)

    def forget_listing(self, views: int) -> None:
        self.cache.delete_memoized(self._listing, views)

    def close(self) -> None:
        return None
