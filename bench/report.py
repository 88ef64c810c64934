"""``docs/benchmarks/report.md``: how to run, on what, the targets, the tables, and the limits.

Everything in the report is generated from one run, prose included: the
explanations quote this run's numbers and profile shares (the mechanisms
they name are those of the commit in the header), so rerunning the suite
after a change to ``caching/`` rewrites the explanation with it.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path

from .cases import GET, GROUPS, LISTING, STATS_OFF, UPDATE
from .formatting import NOT_MEASURED, TIMES, divide, pct, profile_table, ratio, us
from .httpload import HttpRun
from .httpload.report import http_section
from .machine import Machine
from .plot import PLOT_NAME
from .profiling import Profile
from .results import Result, Results
from .targets import LIBRARY, SQLA_EXAMPLE, Target

NOT_APPLICABLE = "\u2013"  # an en dash: nothing to count


def _time(result: Result | None) -> float | None:
    return result.timing.median_us if result else None


def write_report(
    path: Path,
    results: Results,
    targets: list[Target],
    profiles: list[Profile],
    machine: Machine,
    seconds: float,
    notes: list[str],
    http: HttpRun | None = None,
) -> None:
    """Write the whole report: the library's sections if it was measured, the HTTP one if it ran."""
    library = bool(results.all)
    sections = [
        _header(machine, seconds, notes),
        _targets(targets, http),
        *([_results(results)] if library else []),
        *([http_section(http)] if http else []),
        *([_limits(results, profiles), _method()] if library else []),
    ]
    path.write_text("\n\n".join(sections) + "\n", encoding="utf-8")


def _header(machine: Machine, seconds: float, notes: list[str]) -> str:
    packages = ", ".join(f"{name} {v}" for name, v in machine.packages.items())
    servers = ", ".join(f"{name} {v}" for name, v in machine.servers.items()) or "none found"
    state = "with uncommitted changes in `caching/`" if machine.library_dirty else "`caching/` as committed"
    lines = [
        "# Benchmarks of the model cache",
        "",
        "## How to run",
        "",
        "```bash",
        "bash bench/run            # add --quick for a smoke run of a few seconds",
        "bash bench/run --no-http  # the library only; --http-only: the HTTP part only",
        "```",
        "",
        "It installs `requirements-bench.txt` (and `wrk` from Debian's packages if it is missing), starts "
        "throwaway Redis and PostgreSQL servers on loopback ports 6395 and 55435 (`.ci/services.sh`), "
        "runs `python -m bench` and stops them. The HTTP part needs both servers and `wrk`; it starts "
        "and stops its own gunicorn. "
        "`python -m bench` alone runs the setups whose servers `CACHE_TEST_REDIS_URL` and "
        "`CACHE_TEST_DATABASE_URL` name (SQLite and the memory backend always). The SQLAlchemy "
        "example is taken from the sdist of the installed SQLAlchemy, downloaded once into "
        "`~/.cache/caching-bench/`. This file and `benchmarks.png` are rewritten by each run.",
        "",
        f"**This run:** {datetime.date.today().isoformat()}, {seconds:.0f} s; "
        f"`nproc` = {machine.cores} ({machine.cpu}), Python {machine.python}, {machine.system}; "
        f"{packages}; servers: {servers}; commit `{machine.commit}`, {state}. "
        f"Load average at the end: {machine.load[0]:.2f} (1 min), {machine.load[1]:.2f} (5 min): other "
        "work on the machine inflates absolute times; ratios within a setup hold up better, as every "
        "case's repeats are interleaved.",
    ]
    lines += [f"Skipped: {note}." for note in notes]
    return "\n".join(lines)


def _targets(targets: list[Target], http: HttpRun | None) -> str:
    shared = (
        f" HTTP rows: requests/s with the cache ÷ without, on the {http.cores} cores that the gunicorn "
        "workers, PostgreSQL, Redis and wrk share (see *HTTP* below)."
        if http
        else ""
    )
    rows = [
        "## Targets",
        "",
        f"Times are ratios within a setup (time ÷ time, lower is faster); {TIMES} faster = no-cache "
        f"time ÷ cache time. Counts are per operation.{shared}",
        "",
        "| Target | Measured | Met |",
        "| --- | --- | :-: |",
    ]
    rows += [f"| {t.target} | {t.measured} | {t.mark} |" for t in targets]
    return "\n".join(rows)


def _counts(result: Result | None) -> str:
    if result is None:
        return NOT_MEASURED
    c = result.counts

    def fmt(value: float | None) -> str:
        return NOT_APPLICABLE if value is None else f"{value:g}"

    return f"{fmt(c.sql)} / {fmt(c.backend_calls)} / {fmt(c.round_trips)}"


def _results(results: Results) -> str:
    setups = results.setups()
    header = "| | " + " | ".join(setups) + " |"
    rule = "| --- |" + " ---: |" * len(setups)
    out = [
        "## Results",
        "",
        f"![Median time per operation, by setup]({PLOT_NAME})",
        "",
        "Median microseconds per operation, and in brackets the ratio to the no-cache row of the same "
        "setup. Counts are SQL statements / cache backend calls / Redis round trips per operation "
        f"({NOT_APPLICABLE} where there is nothing to count: no dogpile region, or no Redis). "
        "Backend calls are get/set/delete calls; the herd lock that a miss takes shows only in Redis "
        "round trips.",
    ]
    for group in GROUPS:
        labels = results.labels(group)
        out += ["", f"### {group}", "", header, rule]
        for label in labels:
            cells = []
            for setup in setups:
                result = results.by_label(setup, group, label)
                base = _time(results.baseline(setup, group))
                cell = us(_time(result))
                if result is not None and result.impl != "no cache" and base:
                    cell += f" ({ratio(divide(_time(result), base))})"
                cells.append(cell)
            out.append(f"| {label} | " + " | ".join(cells) + " |")
        out += ["", "SQL / backend calls / Redis round trips:", "", header, rule]
        for label in labels:
            cells = [_counts(results.by_label(setup, group, label)) for setup in setups]
            out.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def _share(profile: Profile | None, needle: str) -> float | None:
    """The largest inclusive share among the profiled functions whose name contains ``needle``."""
    if profile is None:
        return None
    found = [share for name, share in profile.shares if needle in name]
    return max(found) if found else None


def _limits(results: Results, profiles: list[Profile]) -> str:
    out = ["## What limits the hit paths", ""]
    get_profile = next((p for p in profiles if p.group == GET), None)
    listing_profile = next((p for p in profiles if p.group == LISTING), None)
    setup = get_profile.setup if get_profile else next(iter(results.setups()), "")
    out += list(_get_limits(results, setup, get_profile))
    out += ["", *_speedup_limits(results, setup)]
    out += ["", *_stats_limits(results, setup, get_profile)]
    out += ["", *_listing_limits(results, setup, listing_profile)]
    out += ["", *_other_limits(results)]
    for profile in profiles:
        out += ["", *profile_table(profile)]
    return "\n".join(out)


def _get_limits(results: Results, setup: str, profile: Profile | None) -> Iterator[str]:
    hit = _time(results.find(setup, GET, LIBRARY, "hit"))
    attach = _time(results.find(setup, GET, "floor: attach"))
    read = _time(results.find(setup, GET, "floor: dogpile region.get"))
    gist = _time(results.find(setup, GET, "gist (pickle + merge)", "hit"))
    yield (
        f"**Get by pk, hit ({setup}).** A hit costs {us(hit)} µs: {ratio(divide(hit, attach))} the attach "
        f"floor ({us(attach)} µs). Attaching is only part of it: the hit also reads two values (the entry "
        f"and its guard) through dogpile, and one raw `region.get` of one value already costs {us(read)} µs "
        f"= {ratio(divide(read, attach))} attach, so with this region a hit cannot come under "
        f"{ratio(divide((attach or 0) + (read or 0), attach))} attach whatever the library does around "
        f"them. By the profile, the cache read `Store.fetch` is {pct(_share(profile, 'Store.fetch'))} of "
        f"the hit: dogpile's `get_multi` of the entry and its guard "
        f"{pct(_share(profile, 'get_multi'))}, with the key mangler "
        f"{pct(_share(profile, 'Namespace.mangle'))}, the decoding of each stored msgpack document "
        f"{pct(_share(profile, '_parse_serialized_from_backend'))} and the stats proxy "
        f"{pct(_share(profile, 'StatsProxy.get_serialized_multi'))} (a lock and two counters per backend "
        f"call). Finding the app's cache state and session and checking for pending writes "
        f"(`Cache._begin`) is {pct(_share(profile, 'Cache._begin'))}; `attach` "
        f"{pct(_share(profile, 'attach (attach)'))} (building the instance as the ORM's loader does, "
        f"identity map and load events included); rendering the key {pct(_share(profile, 'object_key'))}."
    )
    yield ""
    yield (
        f"The gist's approach ({us(gist)} µs here) reads one pickled value, with no guard, no key "
        "rendering and no stats, and merges it (`merge(load=False)`): what it saves is the guard (no stale "
        "read after a commit, in any process) and the stats that this library pays per hit, and it never "
        "invalidates anything."
    )


def _speedup_limits(results: Results, setup: str) -> Iterator[str]:
    """Why the hit is not 5x (SQLite) or 20x (PostgreSQL) faster than a database get."""
    for each in results.setups():
        if not each.endswith("memory"):
            continue
        hit = _time(results.find(each, GET, LIBRARY, "hit"))
        plain = _time(results.find(each, GET, "no cache"))
        yield (
            f"**Speed-up over a database get ({each}).** The database answers a get by pk in {us(plain)} µs "
            f"here (loopback, a warm page cache, an ORM load of one row), the cache in {us(hit)} µs: "
            f"{ratio(divide(plain, hit))} faster. The hit's cost is the fixed Python work above, not the "
            f"database's, so the speed-up grows with the database's latency: a speed-up of 20 times "
            f"needs a get of {us((hit or 0) * 20)} µs, which a database across a network, not on "
            "loopback, takes."
        )
        yield ""


def _stats_limits(results: Results, setup: str, profile: Profile | None) -> Iterator[str]:
    """Why counting stats costs more than 5% of an in-memory hit."""
    on = _time(results.find(setup, GET, LIBRARY, "hit"))
    off = _time(results.find(setup, GET, LIBRARY, STATS_OFF))
    yield (
        f"**Stats overhead ({setup}).** The stats proxy costs {us((on or 0) - (off or 0))} µs of a "
        f"{us(on)} µs hit ({pct(divide((on or 0) - (off or 0), off))}); in the profile "
        f"`StatsProxy.get_serialized_multi` is {pct(_share(profile, 'StatsProxy.get_serialized_multi'))}: "
        "one more `ProxyBackend` frame, a look at each key (guards are not reads) and a lock around two "
        "counter updates. 5% of an in-memory hit is under 2 µs, about what one Python call with a lock "
        "costs; on Redis, where a hit waits for the network, the same proxy is a smaller share (the "
        "per-setup lines below)."
    )


def _listing_limits(results: Results, setup: str, profile: Profile | None) -> Iterator[str]:
    warm = _time(results.find(setup, LISTING, LIBRARY, "warm"))
    attach = _time(results.find(setup, LISTING, "floor: attach x50"))
    read = _time(results.find(setup, LISTING, "floor: dogpile region.get of the listing"))
    example = _time(results.find(setup, LISTING, SQLA_EXAMPLE, "warm"))
    yield (
        f"**Listing of 50, warm ({setup}).** {us(warm)} µs, of which attaching 50 objects is a floor of "
        f"{us(attach)} µs ({pct(divide(attach, warm))}) and reading the listing's one value through "
        f"dogpile another {us(read)} µs ({pct(divide(read, warm))}); the library reads 2 values (the "
        "listing, holding its 50 rows, and its guard) in 1 call. The SQLAlchemy example "
        f"({us(example)} µs) reads one value, the whole `FrozenResult`, and merges it with "
        "`merge(load=False)` per object. Profile: `attach` "
        f"{pct(_share(profile, 'attach (attach)'))}, `Store.fetch` {pct(_share(profile, 'Store.fetch'))} "
        f"(envelopes {pct(_share(profile, '_parse_serialized_from_backend'))})."
    )


def _other_limits(results: Results) -> Iterator[str]:
    for setup in results.setups():
        hit = _time(results.find(setup, GET, LIBRARY, "hit"))
        redis_get = _time(results.find(setup, GET, "floor: Redis GET"))
        on = results.find(setup, GET, LIBRARY, "hit")
        off = results.find(setup, GET, LIBRARY, STATS_OFF)
        cached = _time(results.find(setup, UPDATE, LIBRARY))
        plain = _time(results.find(setup, UPDATE, "no cache"))
        parts = []
        miss = results.find(setup, GET, LIBRARY, "miss")
        calls = miss.counts.backend_calls if miss else None
        trips = miss.counts.round_trips if miss else None
        if calls is not None and trips is not None and trips > calls:
            parts.append(
                f"a miss is {calls:g} backend calls but {trips:g} Redis round trips (the other "
                f"{trips - calls:g}: the herd lock, taken and released)"
            )
        if redis_get is not None:
            parts.append(
                f"hit {us(hit)} µs = {ratio(divide(hit, redis_get))} one raw Redis GET ({us(redis_get)} µs)"
            )
        if on and off:
            parts.append(f"hit with stats {us(_time(on))} µs, without {us(_time(off))} µs")
        if cached is not None and plain is not None:
            parts.append(
                f"invalidation adds {us(cached - plain)} µs to a commit of {us(plain)} µs "
                f"({pct(divide(cached - plain, plain))})"
            )
        if parts:
            yield f"- {setup}: " + "; ".join(parts) + "."


def _method() -> str:
    return "\n".join(
        [
            "## Method",
            "",
            "- Every setup (SQLite or PostgreSQL, with the memory backend or Redis) runs in one process, "
            "one after the other, on 1,000 users (views = id % 20, so each listing holds 50) and one more "
            "row that the update writes.",
            "- Each operation runs many times per repeat (≈0.15 s of wall time) and 7 repeats are taken; "
            "the median is reported. Each iteration first runs an untimed reset: the identity map is "
            "emptied (`expunge_all`, keeping the session and its transaction, as within one request: the "
            "hardest baseline for a cache), a miss deletes the cached entries (values and guards, as a "
            "commit does), an update loads its row. The cost of two `perf_counter` calls is measured and "
            "subtracted; the garbage collector is off during a repeat and runs between repeats.",
            "- The stats overhead is measured by timing the same hit with and without the library's "
            "`StatsProxy`, their repeats interleaved, and taking the median of the paired ratios.",
            "- Counts come from a separate pass with the counters installed only then: a counting "
            "`ProxyBackend` wrapped around the region, `before_cursor_execute`, and redis-py's "
            "`send_packed_command` (a pipeline is one round trip); the median of 5 operations.",
            "- Rivals: *no cache* (`db.session.get`, a plain select); SQLAlchemy's "
            "`examples/dogpile_caching` (`ORMCache` on `db.session`, its `FromCache` on the statement, "
            "keys hashed by its md5 mangler as in its `environment.py`); the gist's approach (pickle the "
            "instance, unpickle and `Session.merge(obj, load=False)`); Flask-Caching `memoize` "
            "(`SimpleCache`, `RedisCache`), which returns detached copies outside the session. All use "
            "the same backend as the library in each setup; none of them invalidates on commit.",
            "- Floors: one raw `region.get` of the cached value (the library's region: namespace, "
            "envelope, msgpack), `caching.attach.attach` of values already in memory, one Redis `GET` "
            "of the object, one of the listing (the same stored keys).",
        ]
    )
