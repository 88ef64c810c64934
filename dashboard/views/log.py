"""The invalidation log, and the cache history of one object, from it: page by page.

A page holds at most ``PAGE_SIZE`` entries and ``KEYS_SHOWN`` keys of each, so it
stays small whatever the entries hold; an entry's page lists all its logged keys,
``KEYS_PAGE`` at a time. Guard keys (``gen:K``) flushed with their key ``K`` are
folded under it.
"""

from __future__ import annotations

from flask import abort, request
from flask_admin import BaseView, expose

from caching.keys import GUARD_PREFIX, guard_key

from ..browse import BadPattern, check_pattern
from ..log import InvalidationLog, current_log
from .base import AdminAccess

OPERATIONS = ("insert", "update", "delete", "bulk", "manual")
FILTERS = ("model", "pk", "key", "operation")
PAGE_SIZE = 50
KEYS_SHOWN = 8
KEYS_PAGE = 100
MAX_PAGE = 10_000  # no log or key list is longer than this many pages


class InvalidationLogView(AdminAccess, BaseView):
    """Newest first; filter by model, primary key, key pattern and operation."""

    @expose("/")
    def index(self) -> tuple[str, int]:
        filters = {name: request.args.get(name, "").strip() for name in FILTERS}
        active = {name: value for name, value in filters.items() if value}
        page, error, status, entries, more = page_number(), None, 200, [], False
        try:
            if filters["key"]:
                check_pattern(filters["key"])
            entry_id = request.args.get("id")
            if entry_id:
                active["entry"] = entry_id
                entries = [e for e in [log().find(entry_id)] if e is not None]
            else:
                entries, more = log().page(page * PAGE_SIZE, PAGE_SIZE, **active)
        except BadPattern as exc:
            error, status = str(exc), 400
        return self.render(
            "dashboard/log.html",
            entries=entries,
            filters=filters,
            active=active,
            page=page,
            more=more,
            operations=OPERATIONS,
            error=error,
            fold=fold_guards,
            keys_shown=KEYS_SHOWN,
        ), status

    @expose("/entry/<entry_id>/")
    def entry(self, entry_id: str) -> str:
        """Every logged key of one entry, a page at a time."""
        entry = log().find(entry_id) if len(entry_id) <= 100 else None
        if entry is None:
            abort(404)
        page = page_number()
        keys = fold_guards(entry["keys"])
        return self.render(
            "dashboard/log_entry.html",
            entry=entry,
            keys=keys[page * KEYS_PAGE : (page + 1) * KEYS_PAGE],
            page=page,
            more=len(keys) > (page + 1) * KEYS_PAGE,
            fold=fold_guards,
            keys_shown=KEYS_SHOWN,
        )

    @expose("/history/<model>/<pk>")
    def history(self, model: str, pk: str) -> str:
        """Who changed this object, what, when, and which keys that flushed."""
        if len(model) > 100 or len(pk) > 200:
            abort(404)
        page = page_number()
        entries, more = log().page(page * PAGE_SIZE, PAGE_SIZE, model=model, pk=pk)
        return self.render(
            "dashboard/history.html",
            entries=entries,
            model=model,
            pk=pk,
            page=page,
            more=more,
            fold=fold_guards,
            keys_shown=KEYS_SHOWN,
        )


def page_number() -> int:
    """The ``page`` of the request, from 0; anything but a number reads as the first."""
    return min(max(request.args.get("page", 0, type=int), 0), MAX_PAGE)


def fold_guards(keys: list[str]) -> list[tuple[str, bool]]:
    """Each key with whether its guard was flushed with it; a guard whose key is
    listed is folded under it, any other guard stays a key of its own."""
    present = set(keys)
    return [
        (key, guard_key(key) in present)
        for key in keys
        if not (key.startswith(GUARD_PREFIX) and key[len(GUARD_PREFIX) :] in present)
    ]


def log() -> InvalidationLog:
    current = current_log()
    if current is None:
        abort(404)
    return current
