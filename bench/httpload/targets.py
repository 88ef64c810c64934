"""The HTTP rows of the targets table: the cache's speed-up per page, and no errors."""

from __future__ import annotations

from collections.abc import Iterator

from ..formatting import TIMES
from ..targets import Target
from .results import PAGES, HttpRun

SPEEDUP = 3.0
CPU_TEXT = "HTTP: CPU per request with caching ≤ without (`{path}`)"
ADDRESSES = "/demo/addresses/"
ADDRESSES_SPEEDUP = 2.0


def wanted_speedup(path: str) -> float:
    """The requests/s ratio a page must reach: the users-with-addresses page races selectinload."""
    return ADDRESSES_SPEEDUP if path == ADDRESSES else SPEEDUP


def speedup_text(path: str, wanted: float = SPEEDUP) -> str:
    return f"HTTP: ≥ {wanted:g}{TIMES} requests/s with caching (`{path}`)"


ERRORS_TEXT = "HTTP: 0 errors"


def http_targets(run: HttpRun | None) -> list[Target]:
    """One speed-up row per page, then the errors row; "not measured" rows when the part did not run."""
    return list(_http_targets(run))


def _http_targets(run: HttpRun | None) -> Iterator[Target]:
    for page in PAGES:
        ratio = run.ratio(page) if run else None
        on, off = (run.find(page, cache) if run else None for cache in (True, False))
        if ratio is None or on is None or off is None:
            yield Target(speedup_text(page.path), "not measured (HTTP part skipped)", None)
            yield Target(CPU_TEXT.format(path=page.path), "not measured (HTTP part skipped)", None)
            continue
        shown = f"{on.requests_per_s:,.0f} vs {off.requests_per_s:,.0f} req/s = {ratio:.2f}{TIMES}"
        wanted = wanted_speedup(page.path)
        yield Target(speedup_text(page.path, wanted), shown, ratio >= wanted)
        cpu = f"{on.total_cpu_ms:.2f} vs {off.total_cpu_ms:.2f} ms"
        yield Target(CPU_TEXT.format(path=page.path), cpu, on.total_cpu_ms <= off.total_cpu_ms)
    if run is None or not run.runs:
        yield Target(ERRORS_TEXT, "not measured (HTTP part skipped)", None)
        return
    requests = sum(r.requests for r in run.runs)
    status = sum(r.status_errors for r in run.runs)
    sockets = sum(r.socket_errors for r in run.runs)
    shown = f"{status + sockets} in {requests:,} requests ({status} non-2xx/3xx, {sockets} socket errors)"
    yield Target(ERRORS_TEXT, shown, status + sockets == 0)
