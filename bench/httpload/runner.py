"""The HTTP runs: each page, with the cache on and off, measured, costed and profiled.

Two gunicorns serve the same seeded database at once, one with the cache
and one without (an idle sync worker sleeps: the server not under load
costs nothing). Each page is checked on both (a 200, not a redirect to the
login page), warmed on both with an unmeasured wrk run that reaches every
worker and fills the cache, then measured in rounds taken in turns, on,
off, on, off..., so that load from elsewhere on the machine lands on both
modes alike. Each mode is then profiled in a separate run, so the
profiler never weighs on the measured numbers.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from contextlib import ExitStack
from importlib.metadata import version
from pathlib import Path

from sqlalchemy.engine import make_url

from . import costs, counts, spy, wrk
from .client import fetch, log_in
from .results import PAGES, POSTGRES, REDIS, WORKER, HttpBudget, HttpRun, Page, PageRun
from .server import ADMIN, WORKERS, Gunicorn, Services, drop_tables, seed

PACKAGES = ("gunicorn", "Flask", "Flask-Admin", "Jinja2")


def _services() -> tuple[Services | None, list[str]]:
    """The servers bench/run started, and what is missing to run the HTTP part."""
    missing = []
    database_url = os.environ.get("CACHE_TEST_DATABASE_URL")
    redis_url = os.environ.get("CACHE_TEST_REDIS_URL")
    if not database_url:
        missing.append("CACHE_TEST_DATABASE_URL is not set")
    if not redis_url:
        missing.append("CACHE_TEST_REDIS_URL is not set")
    if not wrk.available():
        missing.append("wrk is not installed (`apt-get install wrk`)")
    if importlib.util.find_spec("gunicorn") is None:
        missing.append("gunicorn is not installed")
    if missing or database_url is None or redis_url is None:
        return None, [f"HTTP part: {reason}" for reason in missing]
    return Services(database_url, redis_url), []


def run_http(budget: HttpBudget, workdir: Path) -> tuple[HttpRun | None, list[str]]:
    """Measure every page in both modes; None and the reasons when it cannot run here."""
    services, notes = _services()
    if services is None:
        return None, notes
    if not spy.available():
        notes.append("HTTP profiles: py-spy is not installed")
    run = HttpRun(
        budget,
        cores=len(os.sched_getaffinity(0)),
        versions={**{name: version(name) for name in PACKAGES}, "wrk": wrk.version()},
    )
    try:
        seed(services, budget.users)
        with ExitStack() as stack:
            servers = {
                cache: stack.enter_context(Gunicorn(services, cache, workdir / f"gunicorn-{cache}.log"))
                for cache in (True, False)
            }
            cookies = {cache: log_in(server.base_url, *ADMIN) for cache, server in servers.items()}
            for page in PAGES:
                page_runs = {cache: PageRun(page, cache) for cache in servers}
                _measure(servers, cookies, page_runs, services, budget)
                for cache, page_run in page_runs.items():
                    page_run.sql_per_view, page_run.calls_per_view = counts.per_view(services, page, cache)
                    notes += _profile(servers[cache], cookies[cache], page_run, budget, workdir)
                    _check(servers[cache], page, cookies[cache])
                    run.runs.append(page_run)
    finally:
        drop_tables(services)
    return run, notes


def _check(server: Gunicorn, page: Page, cookie: str) -> None:
    """The page answers 200: not a redirect to the login page, not an error."""
    status, body = fetch(server.base_url + page.path, cookie if page.login else None)
    if status != 200:
        raise RuntimeError(f"{page.path} answered HTTP {status}, not 200:\n{body[:500]}")


def _load(server: Gunicorn, page: Page, cookie: str, seconds: int, budget: HttpBudget) -> wrk.WrkSummary:
    return wrk.run_wrk(
        server.base_url + page.path, seconds, budget.connections, cookie if page.login else None
    )


def _measure(
    servers: dict[bool, Gunicorn],
    cookies: dict[bool, str],
    page_runs: dict[bool, PageRun],
    services: Services,
    budget: HttpBudget,
) -> None:
    """Check and warm the page on both servers, then measure its rounds, the modes in turns."""
    for cache, server in servers.items():
        _check(server, page_runs[cache].page, cookies[cache])
        _load(server, page_runs[cache].page, cookies[cache], budget.warmup, budget)  # unmeasured
    finders = {cache: _finders(server, services) for cache, server in servers.items()}
    for _ in range(budget.rounds):
        for cache, server in servers.items():
            commands = costs.redis_commands(services.redis_url)
            with costs.cpu_meter(finders[cache]) as cpu:
                summary = _load(server, page_runs[cache].page, cookies[cache], budget.seconds, budget)
            page_runs[cache].add(summary, cpu, costs.redis_commands(services.redis_url) - commands)
    for page_run in page_runs.values():
        _log(page_run)


def _finders(server: Gunicorn, services: Services) -> dict[str, costs.Finder]:
    """The processes a request to ``server`` costs CPU in (wrk's own is counted apart)."""
    return {
        WORKER: lambda: costs.descendants(server.process.pid) if server.process else [],
        POSTGRES: costs.postgres_finder(make_url(services.database_url).port or 5432),
        REDIS: costs.redis_finder(make_url(services.redis_url).port or 6379),
    }


def _profile(
    server: Gunicorn, cookie: str, page_run: PageRun, budget: HttpBudget, workdir: Path
) -> list[str]:
    """A py-spy profile of one worker under the page's load; a note if it could not be taken."""
    if not spy.available():
        return []
    page = page_run.page
    try:
        page_run.profile = spy.profile_worker(
            server.workers()[0],
            budget.profile_seconds,
            lambda seconds: _load(server, page, cookie, seconds, budget),
            workdir / f"py-spy-{page.name.replace(' ', '-')}-{page_run.cache}.txt",
            f"gunicorn, {page_run.mode}",
            page.path,
        )
    except (RuntimeError, IndexError) as error:
        return [f"HTTP profile of {page.path}, {page_run.mode}: {error}"]
    return []


def _log(run: PageRun) -> None:
    low, high = run.requests_per_s_range
    print(
        f"  HTTP {run.page.path:<14} {run.mode:<12} {run.requests_per_s:6.0f} req/s ({low:.0f}-{high:.0f})"
        f"  p50 {run.p50_ms:6.1f} ms  p99 {run.p99_ms:6.1f} ms  errors {run.errors}"
        f"  CPU {run.total_cpu_ms:.2f} ms/request  ({WORKERS} workers, {run.redis_per_request:.1f} Redis"
        " commands/request)",
        file=sys.stderr,
        flush=True,
    )
