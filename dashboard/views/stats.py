"""The dashboard's front page: per-region stats, the hit-ratio chart, region flushes."""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, url_for
from flask_admin import AdminIndexView, expose
from werkzeug.wrappers import Response

from caching.browse import count_matching
from caching.scan import actual_backend

from .base import AdminAccess, state

CHART_WIDTH, CHART_HEIGHT = 720, 120


class DashboardIndexView(AdminAccess, AdminIndexView):
    @expose("/")
    def index(self) -> str:
        return self.render("dashboard/index.html", rows=[region_row(label) for label in state().regions])

    @expose("/regions/<label>/flush", methods=("POST",))
    def flush_region(self, label: str) -> Response:
        """Flush every key of a region, through the same path as automatic invalidation."""
        if label not in state().regions:
            abort(404)
        state().flush(label, patterns=["*"])
        return redirect(url_for(".index"))


def region_row(label: str) -> dict[str, Any]:
    """What the stats table shows of one region."""
    figures = state().stats[label].snapshot()
    backend = actual_backend(state().regions[label])
    row = {
        "label": label,
        "backend": type(backend).__name__,
        "keys": count_matching(state(), label, "*"),
        "chart": chart(figures.pop("series")),
        **figures,
    }
    client = state().redis_client(label)
    if client is not None:
        memory, stats = client.info("memory"), client.info("stats")
        row["redis"] = {
            "used_memory": memory.get("used_memory_human"),
            "evicted_keys": stats.get("evicted_keys"),
        }
    return row


def chart(series: list[tuple[int, float | None, int]]) -> dict[str, list[Any]]:
    """SVG coordinates of the hit ratio: a dot per bucket with reads, lines between neighbours."""
    step = CHART_WIDTH / max(len(series) - 1, 1)
    points: list[tuple[float, float] | None] = [
        None if ratio is None else (round(i * step, 1), round((1 - ratio) * CHART_HEIGHT, 1))
        for i, (_, ratio, _) in enumerate(series)
    ]
    lines, run = [], []
    for point in [*points, None]:
        if point is None:
            if len(run) > 1:
                lines.append(" ".join(f"{x},{y}" for x, y in run))
            run = []
        else:
            run.append(point)
    return {"lines": lines, "dots": [p for p in points if p is not None]}
