"""The invalidation log: which keys did each commit or manual flush delete?

One entry per changed object per commit, and one per manual flush, built from
the ``cache_invalidated`` signal: time, who (``who()`` of the log, e.g. the
logged-in admin, else ``"app"``), model, primary key, operation, changed
columns and the keys. Bounded to the newest ``size`` entries; kept in Redis
(``LPUSH`` + ``LTRIM`` in one pipeline) when the log's region is on Redis, so
every worker process writes to and reads the same log, else in the process.
"""

from __future__ import annotations

import datetime
import json
import logging
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from itertools import islice
from typing import Any

from flask import Flask, current_app, g, has_request_context

from caching import cache_invalidated, matcher

MAX_KEYS_PER_ENTRY = 500
MAX_KEYS_SEARCHED = 20_000  # logged keys a key pattern looks at per request, newest first
CHUNK = 100  # entries read from Redis at a time while filtering
ENTRY_FIELDS = {
    "id": str,
    "time": str,
    "who": str,
    "operation": str,
    "columns": list,
    "keys": list,
    "key_count": int,
    "region": str,
}
EXTENSION = "dashboard_log"  # in app.extensions: the app's InvalidationLog
log = logging.getLogger("caching")


def enable_log(app: Flask, size: int = 1000) -> InvalidationLog:
    """The app's invalidation log, made on the first call: kept in Redis when the
    log's region (``CACHE_LOG_REGION``, else the default one) is on Redis."""
    app = getattr(app, "_get_current_object", lambda: app)()  # the signal's sender, not a proxy
    existing = app.extensions.get(EXTENSION)
    if existing is None:
        state = app.extensions["caching"]
        region = state.region(app.config.get("CACHE_LOG_REGION") or state.default_label)
        existing = app.extensions[EXTENSION] = InvalidationLog(
            f"{region.namespace.meta_prefix}log",
            region.client,
            size,
            on_bad_entry=lambda: region.stats.add(errors=1),
        )
        existing.connect(app)
    return existing


def current_log() -> InvalidationLog | None:
    """The current app's invalidation log, if the dashboard enabled one."""
    return current_app.extensions.get(EXTENSION)


class InvalidationLog:
    """A bounded, searchable list of invalidations, newest first."""

    def __init__(
        self,
        key: str,
        redis_client: Any | None = None,
        size: int = 1000,
        on_bad_entry: Callable[[], None] = lambda: None,
    ) -> None:
        self.size = size
        self._on_bad_entry = on_bad_entry
        self._key = key
        self._client = redis_client
        self._local: deque[dict[str, Any]] = deque(maxlen=size)
        self._lock = threading.Lock()
        self._failing = False
        self.who: Callable[[], str] = lambda: "app"

    def connect(self, app: Flask) -> None:
        """Record every invalidation ``app`` announces."""
        cache_invalidated.connect(self._receive, sender=app, weak=False)

    def _receive(self, app: Flask, **payload: Any) -> None:
        try:
            entry = self.record(**payload)
        except Exception as exc:  # the log's Redis is down: the write itself went through
            if not self._failing:
                log.warning("invalidation log unavailable: %s", exc)
            self._failing = True
            return
        self._failing = False
        if has_request_context():
            g.setdefault("cache_invalidations", []).append(entry)

    def record(
        self,
        *,
        model: type | None,
        pk: Any,
        operation: str,
        columns: tuple[str, ...],
        keys: tuple[str, ...],
        region: str,
        patterns: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        entry = {
            "id": uuid.uuid4().hex[:12],
            "time": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "who": self.who(),
            "model": model.__name__ if model is not None else None,
            "pk": pk if isinstance(pk, (int, float, str, bool)) or pk is None else str(pk),
            "operation": operation,
            "columns": list(columns),
            "keys": list(keys[:MAX_KEYS_PER_ENTRY]),
            "key_count": len(keys),
            "region": region,
            "patterns": list(patterns),
        }
        if self._client is None:
            with self._lock:
                self._local.appendleft(entry)
        else:
            pipe = self._client.pipeline(transaction=False)
            pipe.lpush(self._key, json.dumps(entry))
            pipe.ltrim(self._key, 0, self.size - 1)
            pipe.execute()
        return entry

    def entries(
        self,
        *,
        model: str | None = None,
        pk: str | None = None,
        key: str | None = None,
        operation: str | None = None,
    ) -> list[dict[str, Any]]:
        """Entries newest first, filtered by model name, pk, key pattern and operation.

        A key pattern looks at the newest ``MAX_KEYS_SEARCHED`` logged keys only,
        so that one request's work stays bounded whatever the log holds.
        """
        return list(self._matching(model, pk, key, operation))

    def page(
        self,
        offset: int,
        limit: int,
        *,
        model: str | None = None,
        pk: str | None = None,
        key: str | None = None,
        operation: str | None = None,
    ) -> tuple[list[dict[str, Any]], bool]:
        """The matching entries ``offset`` to ``offset + limit``, newest first, and whether
        more follow. Unfiltered, only those entries are read; filtered, the log is read
        in chunks up to the page's last entry."""
        if not (model or pk or key or operation):
            found = self._read(offset, offset + limit + 1)
        else:
            found = list(islice(self._matching(model, pk, key, operation), offset, offset + limit + 1))
        return found[:limit], len(found) > limit

    def _matching(
        self, model: str | None, pk: str | None, key: str | None, operation: str | None
    ) -> Iterator[dict[str, Any]]:
        found = (
            e
            for e in self._all()
            if (not model or e["model"] == model)
            and (not pk or str(e["pk"]) == pk)
            and (not operation or e["operation"] == operation)
        )
        return _with_key(found, matcher(key).match) if key else found

    def _all(self) -> Iterator[dict[str, Any]]:
        """Every entry, newest first, read lazily: a caller that stops early reads little."""
        for start in range(0, self.size, CHUNK):
            chunk = self._read(start, min(start + CHUNK, self.size))
            yield from chunk
            if len(chunk) < CHUNK:
                return

    def _read(self, start: int, stop: int) -> list[dict[str, Any]]:
        """Entries ``start`` to ``stop`` (exclusive) of the whole log, newest first."""
        if self._client is None:
            with self._lock:
                return list(islice(self._local, start, stop))
        return self._parse(self._client.lrange(self._key, start, stop - 1))

    def _parse(self, raw_entries: list[bytes]) -> list[dict[str, Any]]:
        """Entries as this log wrote them; anything else in the list is skipped and
        counted as an error (the page shows the rest)."""
        entries = []
        for raw in raw_entries:
            try:
                entry = json.loads(raw)
            except ValueError:
                entry = None
            if _well_formed(entry):
                entries.append(entry)
            else:
                self._on_bad_entry()
        return entries

    def find(self, entry_id: str) -> dict[str, Any] | None:
        return next((e for e in self._all() if e["id"] == entry_id), None)

    def clear(self) -> None:
        with self._lock:
            self._local.clear()
        if self._client is not None:
            self._client.delete(self._key)


def _well_formed(entry: Any) -> bool:
    return (
        isinstance(entry, dict)
        and all(isinstance(entry.get(name), kind) for name, kind in ENTRY_FIELDS.items())
        and all(isinstance(k, str) for k in entry["keys"])
        and isinstance(entry.get("model"), (str, type(None)))
        and "pk" in entry
    )


def _with_key(entries: Iterator[dict[str, Any]], wanted: Callable[[str], bool]) -> Iterator[dict[str, Any]]:
    """The entries with a key ``wanted`` accepts, among the newest ``MAX_KEYS_SEARCHED`` keys."""
    budget = MAX_KEYS_SEARCHED
    for entry in entries:
        keys = entry["keys"][:budget]
        if any(map(wanted, keys)):
            yield entry
        budget -= len(keys)
        if budget <= 0:
            return
