"""The report's HTTP section: each page's numbers, what a request costs, and what limits it.

As in the rest of the report, the prose is computed from this run: the
parts of a request come from the py-spy profile of a worker, their
milliseconds from the CPU the workers spent per request, and each page's
ceiling from both: the speed-up the cache would give if its read cost
nothing. That ceiling is what decides whether a page can meet its target,
whatever the library does.
"""

from __future__ import annotations

from collections.abc import Iterator

from redis.utils import HIREDIS_AVAILABLE

from ..formatting import TIMES, divide, pct, profile_table, ratio
from . import spy
from .results import PAGES, POSTGRES, PROCESSES, REDIS, WORKER, HttpRun, Page, PageRun
from .server import WORKERS
from .targets import wanted_speedup
from .wrk import THREADS

NAMED = (
    ("Store.fetch (caching/store)", "the cache's `Store.fetch`"),
    ("CacheRegion.get_multi (dogpile/cache/region)", "in it dogpile's `get_multi`"),
    ("BasicKeyCommands.mget (redis/commands/core)", "in that the Redis `MGET` call"),
    ("Redis.parse_response (redis/client)", "redis-py parsing the replies"),
    ("attach (caching/attach)", "`attach`"),
    ("Cursor.execute (psycopg/cursor)", "psycopg's `execute`"),
    ("Flask.url_for (flask/app)", "`url_for`"),
    ("block_list_row_actions (list.html)", "Flask-Admin's row actions"),
    ("Field.__call__ (wtforms/fields/core)", "WTForms fields (each row's delete form)"),
)
"""Functions worth naming in a page's explanation, when its profile gives them 2% or more."""
NAMED_MIN = 0.02
RANGE = "\u2013"  # an en dash, from low to high


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def http_section(run: HttpRun) -> str:
    """The whole section: setup, results table, then what limits each page."""
    return "\n".join([*_intro(run), "", *_table(run), "", *_modelled(run), "", *_limits(run)])


ROUND_TRIPS_MS = (0.2, 0.5, 1.0)


def _modelled(run: HttpRun) -> Iterator[str]:
    """Each page's latency with the database and Redis on other hosts, from exact counts."""
    yield "### Modelled latency on a network"
    yield ""
    yield (
        "Loopback hides the network, which is where a cache saves most. Each page's warm view was counted "
        "exactly in process (SQL statements, cache backend calls: `bench/httpload/counts.py`), and its "
        f"latency modelled as the CPU per request above + (statements + calls) {TIMES} one round trip, for "
        "round trips of " + ", ".join(f"{rtt:g}" for rtt in ROUND_TRIPS_MS) + " ms to PostgreSQL and Redis."
    )
    yield ""
    header = " | ".join(f"ms at {rtt:g} ms" for rtt in ROUND_TRIPS_MS)
    yield f"| page | caching | CPU ms | SQL statements | cache calls | {header} |"
    yield "| --- | --- | ---: | ---: | ---: | " + " | ".join("---:" for _ in ROUND_TRIPS_MS) + " |"
    for r in _ordered(run):
        modelled = " | ".join(_ms(r.modelled_ms(rtt)) for rtt in ROUND_TRIPS_MS)
        cells = [f"`{r.page.path}`", "on" if r.cache else "off", _ms(r.total_cpu_ms)]
        cells += [str(r.sql_per_view), str(r.calls_per_view), modelled]
        yield "| " + " | ".join(cells) + " |"


def _ordered(run: HttpRun) -> list[PageRun]:
    """Each page with the cache, then without: the two rows to compare side by side."""
    return [r for page in PAGES for cache in (True, False) if (r := run.find(page, cache))]


def _intro(run: HttpRun) -> Iterator[str]:
    budget, versions = run.budget, run.versions
    yield "## HTTP: the dashboard under gunicorn"
    yield ""
    yield (
        f"`dashboard:create_app()` served by gunicorn {versions.get('gunicorn', '?')} with {WORKERS} sync "
        "workers on the PostgreSQL and Redis servers above, by two servers at once: caching on, and caching "
        "off (`CACHE_ENABLED=0`: every read goes to PostgreSQL). The load comes from wrk "
        f"{versions.get('wrk', '?')} in another process, on 127.0.0.1: {THREADS} thread, "
        f"{budget.connections} connections. Each page is warmed on both servers ({budget.warmup} s, "
        f"unmeasured: it fills the cache, emptied before), then measured in {budget.rounds} "
        f"round{'s' if budget.rounds > 1 else ''} of {budget.seconds} s per mode, the modes taking "
        "turns, so that other work on the machine lands on both alike; requests/s and latencies are the "
        "median round (range in brackets), counts are "
        f"totals. The database holds {budget.users} users made by the app's `seed_users` (one address "
        "each) and one admin; the admin page is requested with the session cookie of a login through its "
        "form (CSRF token included), and every page is checked to answer 200, not a redirect, before and "
        "after its runs. "
        + ", ".join(f"{name} {versions.get(name, '?')}" for name in ("Flask", "Flask-Admin", "Jinja2"))
        + f"; redis-py {'with' if HIREDIS_AVAILABLE else 'without'} hiredis."
    )
    yield ""
    yield (
        f"**The machine has {run.cores} cores for everything: the {WORKERS} workers, PostgreSQL, Redis and "
        "wrk share them.** The pages are CPU-bound, so requests/s is about "
        f"{run.cores} cores ÷ the CPU one request costs all these processes together (the CPU column: user + "
        "system time from `/proc`, over the requests served)"
        + "".join(f"; {_bound(r, run.cores)}" for r in run.runs[:1])
        + f". Latency is mostly queueing: {budget.connections} connections wait for {WORKERS} workers, "
        f"so p50 ≈ {budget.connections} ÷ requests/s."
    )


def _bound(run: PageRun, cores: int) -> str:
    predicted = cores / run.total_cpu_ms * 1e3 if run.total_cpu_ms else 0.0
    return (
        f"e.g. `{run.page.path}` {run.mode}: {cores} ÷ {_ms(run.total_cpu_ms)} ms = {predicted:,.0f} "
        f"requests/s, {run.requests_per_s:,.0f} measured"
    )


def _table(run: HttpRun) -> Iterator[str]:
    processes = " + ".join({WORKER: "workers"}.get(p, p) for p in PROCESSES)
    yield (
        "| page | caching | requests/s | p50 ms | p99 ms | errors / requests | KB per response | "
        f"CPU ms per request: {processes} = total | Redis commands per request |"
    )
    yield "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    for r in _ordered(run):
        low, high = r.requests_per_s_range
        cpu = " + ".join(_ms(r.cpu_ms(p)) for p in PROCESSES)
        cells = [
            f"`{r.page.path}`",
            "on" if r.cache else "off",
            f"{r.requests_per_s:,.0f} ({low:,.0f}{RANGE}{high:,.0f})",
            f"{r.p50_ms:.1f}",
            f"{r.p99_ms:.1f}",
            f"{r.errors} / {r.requests:,}",
            f"{r.bytes_per_response / 1e3:.1f}",
            f"{cpu} = {_ms(r.total_cpu_ms)}",
            f"{r.redis_per_request:.1f}",
        ]
        yield "| " + " | ".join(cells) + " |"
    yield ""
    yield (
        "With the cache, requests/s are "
        + "; ".join(
            f"{ratio(run.ratio(page))} those without it on `{page.path}` ({page.reads})" for page in PAGES
        )
        + "."
    )


def _limits(run: HttpRun) -> Iterator[str]:
    profiled = [r for r in _ordered(run) if r.profile]
    yield "### What limits the pages"
    yield ""
    if not profiled:
        yield "No profile was taken (py-spy is not installed)."
        return
    yield (
        f"Where one worker's time goes: py-spy sampling it {spy.RATE} times a second for "
        f"{run.budget.profile_seconds} s, in a separate run under the same load (the profiler never weighs "
        "on the measured runs), only while the worker holds the GIL: running Python, not waiting on "
        "PostgreSQL or Redis. A sample counts for the first of these parts found on its stack, so they "
        f"add up to 100%; milliseconds below are a share {TIMES} the worker's CPU per request: estimates."
    )
    yield ""
    yield "| part of a request | " + " | ".join(f"`{r.page.path}` {r.mode}" for r in profiled) + " |"
    yield "| --- |" + " ---: |" * len(profiled)
    for part in (*(name for name, _ in spy.PARTS), spy.LOOP):
        yield f"| {part} | " + " | ".join(pct(r.profile.parts[part]) for r in profiled if r.profile) + " |"
    for page in PAGES:
        yield ""
        yield _page_limits(run, page)
    for r in profiled:
        if r.profile:
            yield ""
            yield from profile_table(r.profile.profile)


def _part_ms(run: PageRun, *parts: str) -> float:
    worker = run.cpu_ms(WORKER)
    if run.profile is None or worker is None:
        return 0.0
    return worker * sum(run.profile.parts[p] for p in parts)


def _named(run: PageRun) -> str:
    if run.profile is None:
        return ""
    shares = dict(run.profile.profile.shares)
    found = [f"{label} {pct(shares[name])}" for name, label in NAMED if shares.get(name, 0.0) >= NAMED_MIN]
    return ", ".join(found) or "none"


def _page_limits(run: HttpRun, page: Page) -> str:
    """Why the page meets its target or not: the cached read against the database read, and the ceiling."""
    on, off, speedup = run.find(page, True), run.find(page, False), run.ratio(page)
    if on is None or off is None or on.profile is None or off.profile is None or speedup is None:
        return f"**`{page.path}`**: not profiled in both modes."
    read_on = _part_ms(on, spy.READ)
    postgres_read = max(0.0, (off.cpu_ms(POSTGRES) or 0.0) - (on.cpu_ms(POSTGRES) or 0.0))
    read_off = _part_ms(off, spy.READ, spy.TEARDOWN) + postgres_read
    rest = on.total_cpu_ms - read_on - (on.cpu_ms(REDIS) or 0.0)
    ceiling = off.total_cpu_ms / rest if rest > 0 else None
    others = sorted(
        ((part, share) for part, share in on.profile.parts.items() if part != spy.READ),
        key=lambda item: -item[1],
    )[:2]
    return (
        f"**`{page.path}`: {ratio(speedup)} the requests/s with the cache "
        f"(target ≥ {wanted_speedup(page.path):g}{TIMES}): "
        f"{'met' if speedup >= wanted_speedup(page.path) else 'missed'}.** "
        f"With the cache a request costs {_ms(on.total_cpu_ms)} ms of CPU, {_ms(on.cpu_ms(WORKER))} ms of it "
        f"in the worker, where reading the data is {pct(on.profile.parts[spy.READ])} of the samples "
        f"(≈ {_ms(read_on)} ms, {on.redis_per_request:.1f} Redis commands). Without the cache the read and "
        f"the request's `ROLLBACK` are {pct(off.profile.parts[spy.READ])} + "
        f"{pct(off.profile.parts[spy.TEARDOWN])} of the worker's samples, and PostgreSQL spends "
        f"{_ms(postgres_read)} ms more per request: ≈ {_ms(read_off)} ms in all, so the cached read costs "
        f"{ratio(divide(read_on, read_off))} the database read it replaces. Even a cached read costing "
        f"nothing would leave {_ms(rest)} ms per request against {_ms(off.total_cpu_ms)} ms without the "
        f"cache: at most {ratio(ceiling)} the requests/s. The rest is mostly "
        + " and ".join(f"{part} at {pct(share)} (≈ {_ms(_part_ms(on, part))} ms)" for part, share in others)
        + f". Named in the profile, with the cache: {_named(on)}; without: {_named(off)}."
    )
