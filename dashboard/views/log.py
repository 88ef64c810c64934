"""The invalidation log, and the cache history of one object, from it."""

from __future__ import annotations

from flask import abort, request
from flask_admin import BaseView, expose

from caching.browse import BadPattern, check_pattern

from .base import AdminAccess, state

OPERATIONS = ("insert", "update", "delete", "bulk", "manual")


class InvalidationLogView(AdminAccess, BaseView):
    """Newest first; filter by model, primary key, key pattern and operation."""

    @expose("/")
    def index(self) -> tuple[str, int]:
        filters = {name: request.args.get(name, "").strip() for name in ("model", "pk", "key", "operation")}
        error, status = None, 200
        try:
            if filters["key"]:
                check_pattern(filters["key"])
            entries = log().entries(**{k: v or None for k, v in filters.items()})
        except BadPattern as exc:
            error, status, entries = str(exc), 400, []
        entry_id = request.args.get("id")
        if entry_id:
            entries = [e for e in entries if e["id"] == entry_id]
        return self.render(
            "dashboard/log.html", entries=entries, filters=filters, operations=OPERATIONS, error=error
        ), status

    @expose("/history/<model>/<pk>")
    def history(self, model: str, pk: str) -> str:
        """Who changed this object, what, when, and which keys that flushed."""
        if len(model) > 100 or len(pk) > 200:
            abort(404)
        return self.render(
            "dashboard/history.html", entries=log().entries(model=model, pk=pk), model=model, pk=pk
        )


def log():
    current = state().log
    if current is None:
        abort(404)
    return current
