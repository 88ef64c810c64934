"""The Flask extension: ``Caching().init_app(app, db)`` builds the app's state and hooks.

Configuration (see :mod:`caching.regions` for ``CACHE_REGIONS``):
``CACHE_ENABLED`` (False sends every read to the database) and
``SECRET_KEY`` (signs stored values). The hooks are the write side
(:class:`caching.invalidation.Invalidator` on each of the app's engines), and
two ``do_orm_execute`` listeners on ``db.session`` (``FromCache`` statements,
relationship loads), methods of one :class:`ReadHooks` per ``db``.
"""

from __future__ import annotations

import os
import weakref
from typing import Any

from dogpile.cache.region import CacheRegion
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event
from sqlalchemy.engine.result import Result
from sqlalchemy.orm import ORMExecuteState

from . import invalidation, query, relationships
from .context import CachingState, current_state, state_or_none


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
        ReadHooks.listen_on(db)
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


class ReadHooks:
    """The read side on one ``db``'s sessions: ``FromCache`` statements and lazy loads.

    As SQLAlchemy's ``ORMCache.listen_on_session``, but ``db.session`` is shared
    by every app ``db`` is initialised on, while caching state is per app: each
    SELECT finds its app's state, as Flask-SQLAlchemy finds the app's engine.
    """

    _listening: weakref.WeakSet[SQLAlchemy] = weakref.WeakSet()

    @classmethod
    def listen_on(cls, db: SQLAlchemy) -> None:
        """Listen on ``db``'s sessions, once however many apps use it."""
        if db not in cls._listening:
            cls._listening.add(db)
            event.listen(db.session, "do_orm_execute", cls()._do_orm_execute)

    def _do_orm_execute(self, orm_context: ORMExecuteState) -> Result[Any] | None:
        if not orm_context.is_select:
            return None
        state = state_or_none()
        if state is None or not state.enabled:
            return None
        result = query.load_from_cache(state, orm_context)
        if result is None and orm_context.lazy_loaded_from is not None:
            result = relationships.load_from_cache(state, orm_context)
        return result
