"""The key browser: a region's keys by pattern, page by page, and flushes by hand."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_admin import BaseView, expose
from werkzeug.wrappers import Response

from ..browse import BadPattern, browse, check_cursor, check_pattern, count_matching
from .base import AdminAccess, region_label, state

PAGE_SIZE = 50
MAX_BACK = 200  # pages one can go back through: the cursors before are dropped from the URL


class KeyBrowserView(AdminAccess, BaseView):
    """Keys with kind, size, age, TTL and a decoded preview; refreshes itself every few seconds."""

    @expose("/")
    def index(self) -> tuple[str, int]:
        label = region_label(request.args.get("region"))
        pattern = request.args.get("pattern") or "*"
        guards = request.args.get("guards") == "1"
        cursor = request.args.get("cursor", "0")
        error, status, entries, next_cursor, back = None, 200, [], None, []
        try:
            back = previous_cursors(request.args.get("prev", ""))
            entries, next_cursor = browse(state(), label, pattern, cursor, PAGE_SIZE, guards)
        except BadPattern as exc:
            error, status = str(exc), 400
        template = "dashboard/keys_table.html" if request.args.get("partial") else "dashboard/keys.html"
        return self.render(
            template,
            regions=list(state().regions),
            label=label,
            pattern=pattern,
            guards=guards,
            entries=entries,
            cursor=cursor,
            back=back,
            next_cursor=next_cursor,
            error=error,
        ), status

    @expose("/delete", methods=("POST",))
    def delete(self) -> Response:
        """Flush one key, through the same path as automatic invalidation."""
        label = region_label(request.form.get("region"))
        key = request.form.get("key", "")
        if key:
            state().flush(label, [key])
        else:
            flash("No key given.", "error")
        return redirect(self._back(label, request.form.get("pattern")))

    @expose("/flush", methods=("GET", "POST"))
    def flush(self) -> Response | tuple[str, int]:
        """Flush every key matching a pattern, after a confirmation that states the count."""
        source = request.form if request.method == "POST" else request.args
        label = region_label(source.get("region"))
        pattern = source.get("pattern") or ""
        try:
            check_pattern(pattern)
        except BadPattern as exc:
            flash(str(exc), "error")
            return redirect(self._back(label, None))
        if request.method == "POST":
            flushed = state().flush(label, patterns=[pattern])
            if not flushed:
                flash(f"No key matched {pattern}.", "info")
            return redirect(self._back(label, pattern))
        count = count_matching(state(), label, pattern)
        return self.render("dashboard/keys_flush.html", label=label, pattern=pattern, count=count), 200

    def _back(self, label: str, pattern: str | None) -> str:
        return url_for(".index", region=label, pattern=pattern or None)


def previous_cursors(prev: str) -> list[str]:
    """The cursors of the pages before this one, oldest first, from the URL's ``prev``
    (comma-separated): going back needs no state on the server, and no page reads more
    than its own keys."""
    cursors = [c for c in prev.split(",") if c]
    for cursor in cursors:
        check_cursor(cursor)
    return cursors[-MAX_BACK:]
