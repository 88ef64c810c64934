"""The Flask extension: ``Caching().init_app(app, db)`` builds the app's state and hooks.

Configuration (see :mod:`caching.regions` for ``CACHE_REGIONS``):
``CACHE_ENABLED`` (False sends every read to the database) and
``SECRET_KEY`` (signs stored values). The hooks are the write side
(:class:`caching.invalidation.Invalidator` on each of the app's engines), and
two ``do_orm_execute`` listeners on ``db.session`` (``FromCache`` statements,
relationship loads); each finds the app's state through :mod:`caching.context`.
"""

from __future__ import annotations

import os

from dogpile.cache.region import CacheRegion
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from . import invalidation, query, relationships
from .context import CachingState, current_state


class Caching:
    """Flask extension: ``caching.init_app(app, db)``."""

    def __init__(self, app: Flask | None = None, db: SQLAlchemy | None = None) -> None:
        if app is not None:
            self.init_app(app, db)

    def init_app(self, app: Flask, db: SQLAlchemy | None) -> None:
        if db is None:
            raise TypeError("Caching.init_app needs the Flask-SQLAlchemy instance: init_app(app, db)")
        state = app.extensions["caching"] = CachingState(app, db)
        invalidation.listen_on_sessions()
        with app.app_context():  # db.init_app(app) must have run: the engines are the app's
            engines = list(db.engines.values())
        for engine in engines:
            invalidation.Invalidator(state).listen(engine)
        query.install(db)
        relationships.install(db)
        if int(os.environ.get("WEB_CONCURRENCY", "1") or 1) > 1:
            state.warn_if_process_local()
        app.before_request(state.check_process_model)

    @property
    def regions(self) -> dict[str, CacheRegion]:
        """The current app's dogpile regions, by label."""
        return {label: region.dogpile for label, region in current_state().regions.items()}

    def state(self) -> CachingState:
        """The current app's caching state."""
        return current_state()
