"""The dashboard's front page: per-region and per-model stats, charts, region flushes; ``/metrics``.

Nothing here walks the namespace: figures come from each region's stats
(one ``HGETALL`` of the totals and one of the series on Redis) and the key
count from :func:`dashboard.keycount.key_count` (a ``DBSIZE`` and one sampling
pipeline at most, beyond a small database).
"""

from __future__ import annotations

import hmac
import os
from typing import Any

from flask import abort, current_app, redirect, request, url_for
from flask_admin import AdminIndexView, expose
from werkzeug.wrappers import Response

from .. import keycount, metrics
from ..charts import Chart, line_chart
from .base import AdminAccess, state

HIT, MISS, INVALIDATION = "#28a745", "#dc3545", "#6f42c1"


class DashboardIndexView(AdminAccess, AdminIndexView):
    def is_accessible(self) -> bool:
        """The dashboard's rule, or for ``/metrics`` alone the scraper's token."""
        return super().is_accessible() or (request.endpoint == f"{self.endpoint}.metrics" and token_ok())

    @expose("/")
    def index(self) -> str:
        figures = {label: region.stats.snapshot() for label, region in state().regions.items()}
        return self.render(
            "dashboard/index.html",
            rows=[region_row(label, figures[label]) for label in figures],
            shapes=[row for label in figures for row in shape_rows(label, figures[label])],
            exact_limit=keycount.EXACT_LIMIT,
            samples=keycount.SAMPLES,
        )

    @expose("/regions/<label>/flush", methods=("POST",))
    def flush_region(self, label: str) -> Response:
        """Flush every key of a region, through the same path as automatic invalidation."""
        if label not in state().regions:
            abort(404)
        state().flush(label, patterns=["*"])
        return redirect(url_for(".index"))

    @expose("/metrics")
    def metrics(self) -> Response:
        """The same figures for Prometheus, totals over every process sharing the region."""
        return Response(metrics.exposition(state()), content_type=metrics.CONTENT_TYPE)


def token_ok() -> bool:
    """``Authorization: Bearer <CACHE_METRICS_TOKEN>``, compared in constant time; no token set, no entry."""
    expected = current_app.config.get("CACHE_METRICS_TOKEN") or os.environ.get("CACHE_METRICS_TOKEN")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return bool(expected) and scheme == "Bearer" and hmac.compare_digest(given.encode(), expected.encode())


def region_row(label: str, figures: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the region table and charts show of one region (from its stats ``figures``)."""
    figures = dict(figures or state().region(label).stats.snapshot())
    count = keycount.key_count(state(), label)
    row = {
        "label": label,
        "backend": type(state().region(label).backend).__name__,
        "keys": "—" if count is None else f"{'' if count.exact else '≈'}{count.keys}",
        "keys_how": None if count is None else count.how,
        "charts": charts(per_minute(figures.pop("buckets"))),
        **figures,
    }
    client = state().region(label).client
    if client is not None:
        memory, stats = client.info("memory"), client.info("stats")
        row["redis"] = {
            "used_memory": memory.get("used_memory_human"),
            "evicted_keys": stats.get("evicted_keys"),
        }
    return row


def shape_rows(label: str, figures: dict[str, Any]) -> list[dict[str, Any]]:
    """The per-model table's rows of one region: the model's name beside its table."""
    rows = []
    for shape in figures["shapes"]:
        model = state().model_for_table(shape["table"]) if shape["table"] else None
        rows.append({"region": label, "model": model.__name__ if model else "", **shape})
    return rows


def per_minute(buckets: list[dict[str, int]]) -> list[dict[str, int]]:
    """The stats' ten-second buckets summed per minute: the last 60 minutes, oldest first."""
    minutes: dict[int, dict[str, int]] = {}
    for bucket in buckets:
        start = bucket["start"] // 60 * 60
        minute = minutes.setdefault(start, {"start": start, "hits": 0, "misses": 0, "invalidations": 0})
        for name in ("hits", "misses", "invalidations"):
            minute[name] += bucket[name]
    return list(minutes.values())[-60:]


def charts(minutes: list[dict[str, int]]) -> list[Chart]:
    """The hit ratio per minute and the hits, misses and invalidations per minute, last hour."""
    times = [m["start"] for m in minutes]
    ratios = []
    for m in minutes:
        reads = m["hits"] + m["misses"]
        ratios.append(100 * m["hits"] / reads if reads else None)
    return [
        line_chart("Hit ratio", "% of reads, per minute", times, [("hit ratio", HIT, ratios)], 100, "{:g}%"),
        line_chart(
            "Cache traffic",
            "keys per minute",
            times,
            [
                ("hits", HIT, [m["hits"] for m in minutes]),
                ("misses", MISS, [m["misses"] for m in minutes]),
                ("invalidations", INVALIDATION, [m["invalidations"] for m in minutes]),
            ],
        ),
    ]
