"""The issue's targets, checked against what this run measured.

Speed targets are ratios between results of the same setup and run (the
only numbers that survive a noisy machine); count targets are exact. A
target whose inputs were not measured (a setup skipped, no stats proxy)
says so instead of passing or failing.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .cases import GET, LISTING, STATS_OFF, UPDATE
from .formatting import NOT_MEASURED, TIMES, divide
from .results import Result, Results

LIBRARY = "caching"
SQLA_EXAMPLE = "SQLAlchemy example"
GIST = "gist (pickle + merge)"


@dataclass
class Target:
    """One row of the targets table; ``met`` is None when it could not be measured."""

    target: str
    measured: str
    met: bool | None

    @property
    def mark(self) -> str:
        return {True: "✓", False: "✗", None: NOT_MEASURED}[self.met]


def _short(setup: str) -> str:
    """``SQLite + memory`` -> ``SQLite/memory``: keeps the measured column narrow."""
    return setup.replace(" + ", "/")


def _ratio_target(
    results: Results,
    text: str,
    setups: list[str],
    ratio: Callable[[str], float | None],
    ok: Callable[[float], bool],
) -> Target:
    """A target on a ratio computed per setup; met when every measured setup meets it."""
    measured = {s: r for s in setups if (r := ratio(s)) is not None}
    if not measured:
        return Target(text, "not measured (setup skipped)", None)
    shown = ", ".join(f"{_short(s)} {r:.2f}{TIMES}" for s, r in measured.items())
    return Target(text, shown, all(ok(r) for r in measured.values()))


def _time(result: Result | None) -> float | None:
    return result.timing.median_us if result else None


def _count_target(
    results: Results,
    text: str,
    pick: Callable[[str], Result | None],
    value: Callable[[Result], tuple[str, bool] | None],
    setups: list[str],
) -> Target:
    """A target on counts per setup: ``value`` renders one setup's counts and says if they meet it."""
    shown, met = [], []
    for setup in setups:
        result = pick(setup)
        checked = value(result) if result else None
        if checked is not None:
            shown.append(f"{_short(setup)} {checked[0]}")
            met.append(checked[1])
    if not met:
        return Target(text, "not measured (setup skipped)", None)
    return Target(text, ", ".join(shown), all(met))


def _stats_overhead(results: Results, setup: str) -> float | None:
    """The hit's extra time with the stats proxy: the median of paired repeats."""
    on = results.find(setup, GET, LIBRARY, "hit")
    off = results.find(setup, GET, LIBRARY, STATS_OFF)
    if on is None or off is None:
        return None
    pairs = zip(on.timing.samples_us, off.timing.samples_us)
    return statistics.median(a / b - 1 for a, b in pairs if b)


def evaluate(results: Results) -> list[Target]:
    """Every target of the issue, in its order."""
    return list(_evaluate(results))


def _evaluate(results: Results) -> Iterator[Target]:
    setups = results.setups()
    memory = [s for s in setups if s.endswith("memory")]
    redis = [s for s in setups if s.endswith("Redis")]

    def hit(setup: str) -> float | None:
        return _time(results.find(setup, GET, LIBRARY, "hit"))

    def floor(setup: str) -> float | None:
        return _time(results.find(setup, GET, "floor: attach"))

    def speedup(setup: str) -> float | None:
        return divide(_time(results.baseline(setup, GET)), hit(setup))

    yield _ratio_target(
        results,
        f"memory hit ≤ 1.5{TIMES} the attach floor",
        memory,
        lambda s: divide(hit(s), floor(s)),
        lambda r: r <= 1.5,
    )
    for database, needed in (("SQLite", 5), ("PostgreSQL", 20)):
        yield _ratio_target(
            results,
            f"memory hit ≥ {needed}{TIMES} faster than a {database} get (no cache)",
            [s for s in memory if s.startswith(database)],
            speedup,
            lambda r, needed=needed: r >= needed,
        )
    for rival in (SQLA_EXAMPLE, GIST):
        for group, variant in ((GET, "hit"), (LISTING, "warm")):
            yield _ratio_target(
                results,
                f"{group} {variant} faster than the {rival} (time ratio < 1)",
                setups,
                lambda s, g=group, v=variant, r=rival: divide(
                    _time(results.find(s, g, LIBRARY, v)), _time(results.find(s, g, r, v))
                ),
                lambda r: r < 1,
            )
    yield _count_target(
        results,
        "Redis hit = 1 round trip",
        lambda s: results.find(s, GET, LIBRARY, "hit"),
        lambda r: (f"{r.counts.round_trips:g}", r.counts.round_trips == 1),
        redis,
    )
    yield _count_target(
        results,
        "warm listing of 50 = 0 SQL and 1 round trip",
        lambda s: results.find(s, LISTING, LIBRARY, "warm"),
        lambda r: (
            f"{r.counts.sql:g} SQL/{_trips(r):g} trips",
            r.counts.sql == 0 and _trips(r) == 1,
        ),
        setups,
    )
    yield from _listing_targets(results, setups, redis)
    yield _count_target(
        results,
        "cold listing of 50 = 1 SQL (its rows are its value)",
        lambda s: results.find(s, LISTING, LIBRARY, "cold"),
        lambda r: (f"{r.counts.sql:g} SQL", r.counts.sql == 1),
        setups,
    )
    yield _count_target(
        results,
        "invalidation = 1 backend round trip per commit",
        lambda s: results.find(s, UPDATE, LIBRARY),
        lambda r: (f"{_trips(r):g}", _trips(r) == 1),
        setups,
    )
    overheads = {s: o for s in setups if (o := _stats_overhead(results, s)) is not None}
    if overheads:
        shown = ", ".join(f"{_short(s)} {o:+.1%}" for s, o in overheads.items())
        yield Target("stats overhead ≤ 5% of the hit path", shown, all(o <= 0.05 for o in overheads.values()))
    else:
        yield Target("stats overhead ≤ 5% of the hit path", "not yet measured — stats proxy not built", None)


def _listing_targets(results: Results, setups: list[str], redis: list[str]) -> Iterator[Target]:
    """Issue 14's warm listing against no cache, and issue 12's against its floor on Redis."""

    def warm(setup: str) -> float | None:
        return _time(results.find(setup, LISTING, LIBRARY, "warm"))

    def speedup(setup: str) -> float | None:
        return divide(_time(results.baseline(setup, LISTING)), warm(setup))

    yield _ratio_target(
        results, "warm listing of 50 faster than no cache (speed-up > 1)", setups, speedup, lambda r: r > 1
    )
    yield _ratio_target(
        results,
        f"warm listing of 50 ≥ 1.3{TIMES} faster than no cache on PostgreSQL + Redis",
        [s for s in redis if s.startswith("PostgreSQL")],
        speedup,
        lambda r: r >= 1.3,
    )

    def over_floor(setup: str) -> float | None:
        read = _time(results.find(setup, LISTING, "floor: Redis GET of the listing"))
        attached = _time(results.find(setup, LISTING, "floor: attach x50"))
        return divide(warm(setup), read + attached) if read and attached else None

    yield _ratio_target(
        results,
        f"warm listing of 50 on Redis ≤ 1.5{TIMES} its floor (GET of the listing + attaching 50)",
        redis,
        over_floor,
        lambda r: r <= 1.5,
    )


def _trips(result: Result) -> float:
    """Round trips on the wire where there is a wire (Redis), else backend calls."""
    counts = result.counts
    if counts.round_trips is not None:
        return counts.round_trips
    return counts.backend_calls or 0
