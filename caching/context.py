"""The caching state of a Flask app, and how hooks find the current one.

``Caching.init_app`` builds one :class:`CachingState` per app and keeps it in
``app.extensions["caching"]``. Session and engine hooks run inside the app
that owns the session and look the state up here; this module imports none
of them, so every module of the library may import it (no import circle).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from dogpile.cache.backends.memory import MemoryBackend
from flask import Flask, current_app, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import inspect
from sqlalchemy.orm import Mapper

from . import flush
from .mapping import cacheable_models, registered
from .regions import Region, build_region
from .serialize import Codec

log = logging.getLogger("caching")

DEFAULT_REGIONS = {"default": {"backend": "dogpile.cache.memory", "expiration_time": 300}}


def current_state() -> CachingState:
    """The caching state of the current Flask app."""
    try:
        # the app itself, not the proxy: every cached read comes here, and each lookup through it costs
        return current_app._get_current_object().extensions["caching"]
    except KeyError:
        raise RuntimeError("caching is not set up on this app: call Caching().init_app(app, db)") from None


def state_or_none() -> CachingState | None:
    """The current app's caching state, or None outside an app or without caching."""
    try:
        return current_app.extensions.get("caching")
    except RuntimeError:
        return None


class CachingState:
    """One app's regions (one :class:`Region` record each), its settings and its models."""

    def __init__(self, app: Flask, db: SQLAlchemy) -> None:
        self.app = app
        self.db = db
        # CACHE_ENABLED = False: reads go to the database (to measure, or to rule the cache out)
        self.enabled = bool(app.config.get("CACHE_ENABLED", True))
        self.codec = Codec(app.config.get("SECRET_KEY"))
        self._model_index = ModelIndex.build(db)
        config = app.config.get("CACHE_REGIONS") or DEFAULT_REGIONS
        self.regions: dict[str, Region] = {
            label: build_region(label, region_config, self.codec, self.model_for_table)
            for label, region_config in config.items()
        }
        self.default_label = "default" if "default" in self.regions else next(iter(self.regions))
        self._process_model_checked = False
        self._models_by_path: dict[str, type] = {}

    def region(self, label: str) -> Region:
        """The region labelled ``label``; an unknown label is an error, never a silent skip."""
        try:
            return self.regions[label]
        except KeyError:
            raise ValueError(
                f"unknown cache region {label!r}; configured: {', '.join(self.regions)}"
            ) from None

    def label_for(self, model: type | None) -> str:
        """The label of the region holding ``model``'s keys."""
        return getattr(model, "cache_label", None) or self.default_label

    def model_for_table(self, table: str) -> type | None:
        """This app's cacheable model stored in ``table`` (schema-qualified: ``a.item``).

        Apps in one process may each have a model on a table of the same name
        (a host app's ``user`` and another's): each app's writes and keys are
        its own model's, the one on this app's metadata.
        """
        return self._index().by_table.get(table)

    def model_by_path(self, class_path: str) -> type | None:
        """The mapped class named ``module.QualName`` (a stored instance's class), found among
        the modules already imported: stored data names a class, it never imports one."""
        model = self._models_by_path.get(class_path)
        if model is None:
            model = mapped_class(class_path)
            if model is not None:
                self._models_by_path[class_path] = model
        return model

    def _index(self) -> ModelIndex:
        """This app's cacheable models, rebuilt when a class opts in (one integer compared per call)."""
        if self._model_index.cacheable != registered():
            self._model_index = ModelIndex.build(self.db)
        return self._model_index

    def flush(
        self,
        label: str,
        keys: Iterable[str] = (),
        *,
        patterns: Iterable[str] = (),
        model: type | None = None,
        pk: Any = None,
    ) -> list[str]:
        """Delete ``keys`` and every key matching the logical ``patterns`` (``*``, ``?``)
        from one region, by hand, through the path automatic invalidation takes
        (the same deletion, stats and ``cache_invalidated`` signal); the keys flushed."""
        return flush.flush(self, label, keys, patterns=patterns, model=model, pk=pk)

    # -- several processes ----------------------------------------------------

    def check_process_model(self) -> None:
        """On the first request: warn if several processes serve the app with a process-local cache."""
        if not self._process_model_checked:
            self._process_model_checked = True
            if request.environ.get("wsgi.multiprocess"):
                self.warn_if_process_local()

    def warn_if_process_local(self) -> None:
        local = [label for label, r in self.regions.items() if isinstance(r.backend, MemoryBackend)]
        if local:
            log.warning(
                "cache regions %s use the memory backend while several processes serve this app: "
                "each process has its own cache and a commit in one does not invalidate the others; "
                "use Redis (dogpile.cache.redis) for them",
                ", ".join(local),
            )


@dataclass(frozen=True)
class ModelIndex:
    """An app's cacheable models by table."""

    cacheable: int  # :func:`registered` when built
    by_table: dict[str, type]

    @classmethod
    def build(cls, db: SQLAlchemy) -> ModelIndex:
        """Tables resolve to models on ``db``'s metadata first, then to models of a declarative
        base of the app's own; never to a model of another Flask-SQLAlchemy ``db`` (another
        app's, whose table may not even exist in this database)."""
        cacheable = registered()
        mine = {id(m) for m in db.metadatas.values()}
        by_table: dict[str, type] = {}
        for model in sorted(cacheable_models(), key=lambda c: id(getattr(c, "metadata", None)) not in mine):
            name = getattr(getattr(model, "__table__", None), "fullname", None)
            if name is not None and getattr(model, "__fsa__", db) is db:
                by_table.setdefault(name, model)
        return cls(cacheable, by_table)


def mapped_class(class_path: str) -> type | None:
    """The mapped class at ``module.QualName`` in an imported module, or None.

    Only module and class ``__dict__`` entries are read (no import, no
    ``__getattr__``), so a path written into the backend by anyone runs no code.
    """
    parts = class_path.split(".")
    for split in range(len(parts) - 1, 0, -1):
        found: Any = sys.modules.get(".".join(parts[:split]))
        if found is None:
            continue
        for name in parts[split:]:
            found = vars(found).get(name) if hasattr(found, "__dict__") else None
        mapper = inspect(found, raiseerr=False) if isinstance(found, type) else None
        return found if isinstance(mapper, Mapper) else None
    return None
