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
from collections.abc import Callable
from typing import Any

from flask import Flask, g, has_request_context

from .namespace import matcher
from .signals import cache_invalidated

MAX_KEYS_PER_ENTRY = 500
log = logging.getLogger("caching")


class InvalidationLog:
    """A bounded, searchable list of invalidations, newest first."""

    def __init__(self, key: str, redis_client: Any | None = None, size: int = 1000) -> None:
        self.size = size
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
        """Entries newest first, filtered by model name, pk, key pattern and operation."""
        if self._client is None:
            with self._lock:
                found = list(self._local)
        else:
            found = [json.loads(raw) for raw in self._client.lrange(self._key, 0, self.size - 1)]
        key_matches = matcher(key).match if key else None
        return [
            e
            for e in found
            if (not model or e["model"] == model)
            and (not pk or str(e["pk"]) == pk)
            and (not operation or e["operation"] == operation)
            and (key_matches is None or any(key_matches(k) for k in e["keys"]))
        ]

    def find(self, entry_id: str) -> dict[str, Any] | None:
        return next((e for e in self.entries() if e["id"] == entry_id), None)

    def clear(self) -> None:
        with self._lock:
            self._local.clear()
        if self._client is not None:
            self._client.delete(self._key)
