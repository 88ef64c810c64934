"""``docs/benchmarks/report.md`` and its plots, from the JSON files a run wrote.

Times come from pyperf's files (the median of all of a benchmark's values),
counts from ``counts.json`` (the helper the tests assert with), the HTTP
figures from ``http.json``. Each target is a ratio within one run or an
exact count, and a missed one says so, with the numbers that explain it.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pyperf

from .http import PAGES, ROUND_TRIPS_MS, modelled_ms
from .library import ATTACH, GET, LISTING, MGET, MOVED, SEPARATOR, UPDATE, pair_name
from .plot import plot_library, plot_scale

PACKAGES = ("SQLAlchemy", "Flask-SQLAlchemy", "dogpile.cache", "redis", "psycopg", "Flask-Caching", "pyperf")
X = "\u00d7"
RATIO = "{:.2f}" + X
HIT, WARM, ADDRESSES = "caching (hit)", "caching (warm)", "/demo/addresses/"
Times = dict[tuple[str, ...], float]
RATIOS: list[tuple[str, str, str, tuple[str, str], tuple[str, str], Callable[[float], bool]]] = [
    # issue, target, setups (name ends with), numerator, denominator, met
    ("12", f"memory hit ≤ 3{X} the attach floor", "memory", (GET, HIT), (GET, ATTACH), lambda r: r <= 3),
    ("12", f"warm listing of 50 on Redis ≤ 1.5{X} its floor (`MGET` of its keys + attach)", "Redis",
     (LISTING, WARM), (LISTING, MGET), lambda r: r <= 1.5),
    ("14", f"warm listing of 50 faster than no cache ({X} faster > 1)", "",
     (LISTING, "no cache"), (LISTING, WARM), lambda r: r > 1),
    ("14", f"warm listing of 50 ≥ 1.3{X} faster than no cache on PostgreSQL + Redis", "PostgreSQL + Redis",
     (LISTING, "no cache"), (LISTING, WARM), lambda r: r >= 1.3),
    *[("—", f"{group} {variant}: time ÷ the {rival}'s < 1", "", (group, f"caching ({variant})"),
       (group, f"{rival} ({variant})"), lambda r: r < 1)
      for rival in ("SQLAlchemy example", "gist (pickle + merge)")
      for group, variant in ((GET, "hit"), (LISTING, "warm"))],
]  # fmt: skip


def ratio_pairs() -> list[tuple[str, tuple[str, str], tuple[str, str]]]:
    """What each ratio target divides: ``(setups' names end with, numerator, denominator)``."""
    return [(suffix, top, bottom) for _, _, suffix, top, bottom, _ in RATIOS]


@dataclass
class Target:
    issue: str
    text: str
    measured: str
    met: bool | None

    def cells(self) -> tuple[str, ...]:
        unmeasured = "— not measured" if self.measured == "—" else "reported"
        mark = {True: "✓", False: "✗ missed", None: unmeasured}[self.met]
        return self.issue, self.text, self.measured, mark


def table(head: str, rows: Iterable[Iterable[Any]], left: int = 1) -> Iterator[str]:
    """A Markdown table (``head``: the titles, between " | "), its first ``left`` columns aligned left
    (names) and the others right (numbers)."""
    columns = head.count(" | ") + 1
    yield f"| {head} |"
    yield "|" + " --- |" * left + " ---: |" * (columns - left)
    yield from (f"| {' | '.join(map(str, row))} |" for row in rows)


def medians(path: Path) -> Times:
    """Median µs of every benchmark in a pyperf file, by its name's parts."""
    if not path.exists():
        return {}
    suite = pyperf.BenchmarkSuite.load(str(path))
    return {tuple(b.get_name().split(SEPARATOR)): b.median() * 1e6 for b in suite.get_benchmarks()}


def _load(path: Path) -> Any:
    return json.loads(path.read_text()) if path.exists() else None


def _target(
    issue: str, text: str, values: dict[str, Any], met: Callable[[Any], bool] | None, form: str = "{}"
) -> Target:
    """A target over the setups measured (None: not): met if each meets it; ``met`` None: reported."""
    measured = {s: v for s, v in values.items() if v is not None}
    shown = ", ".join(f"{s.replace(' + ', '/')} {form.format(v)}" for s, v in measured.items())
    return Target(issue, text, shown or "—", all(map(met, measured.values())) if met and measured else None)


def _div(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def library_targets(times: Times, counts: dict[str, Any], pairs: dict[str, Any]) -> Iterator[Target]:
    """The library's targets: a ratio timed in pairs where the run has it, else the medians' ratio."""
    setups = list(dict.fromkeys(key[0] for key in times))
    for issue, text, suffix, top, bottom, met in RATIOS:
        values = {
            s: pairs.get(s, {}).get(pair_name(top, bottom), {}).get("ratio")
            or _div(times.get((s, *top)), times.get((s, *bottom)))
            for s in setups
            if s.endswith(suffix)
        }
        yield _target(issue, text, values, met, RATIO)

    def each(case: str, field: str, suffix: str = "") -> dict[str, int]:
        return {s: c[case][field] for s, c in counts.items() if case in c and s.endswith(suffix)}

    warm, hit, save = (SEPARATOR.join(case) for case in ((LISTING, WARM), (GET, HIT), (UPDATE, "caching")))
    yield _target("14", "warm listing of 50: 0 SQL", each(warm, "sql"), lambda n: n == 0)
    yield _target("14", "warm listing of 50: 1 backend call", each(warm, "calls"), lambda n: n == 1)
    yield _target("12", "Redis hit: 1 round trip", each(hit, "round_trips", "Redis"), lambda n: n == 1)
    yield _target(
        "14", "save + commit: 1 round trip on Redis", each(save, "round_trips", "Redis"), lambda n: n == 1
    )
    text = "logical keys an update of one User flushes (each with its guard)"
    yield _target("14", text, each(save, "flushed"), None)
    text = "logical keys moving one Address to another user flushes (each with its guard)"
    yield _target("14", text, each(SEPARATOR.join((UPDATE, MOVED)), "flushed"), None)


def scale_targets(times: Times, values: dict[str, dict[str, Any]]) -> Iterator[Target]:
    setups = list(dict.fromkeys(key[0] for key in times))
    sizes = sorted({int(key[1]) for key in times})
    if not sizes:
        return

    def read(setup: str, size: int, kind: str) -> float | None:
        return times.get((setup, str(size), f"{kind} + count"))

    def ratio(setup: str, size: int, pair: str, top: tuple[int, str], bottom: tuple[int, str]) -> float:
        """The ratio timed in pairs named ``pair`` if the run has it, else the medians' of the
        ``(size, kind)`` reads ``top`` and ``bottom``."""
        if paired := values.get(f"{setup}{SEPARATOR}{size}", {}).get(pair):
            return paired["ratio"]
        return _div(read(setup, *top), read(setup, *bottom)) or 0

    def cold(kind: str, pair: str = "") -> dict[str, float]:
        """The worst size's ratio of ``kind`` to the plain page + count."""
        return {s: max(ratio(s, n, pair, (n, kind), (n, "plain page")) for n in sizes) for s in setups}

    largest, smallest = (sizes[-1], "warm page"), (sizes[0], "warm page")
    warm = {s: ratio(s, sizes[-1], "warm_paired", largest, smallest) for s in setups}
    text = f"warm page + count: {sizes[-1]:,} rows within 1.5{X} of {sizes[0]:,}"
    yield _target("14", text, {s: r and max(r, 1 / r) for s, r in warm.items()}, lambda r: r <= 1.5, RATIO)
    text = f"cold page + count (`window`) ≤ 2{X} the plain `LIMIT/OFFSET` + `COUNT` (worst size)"
    yield _target("14", text, cold("cold page", "paired"), lambda r: r <= 2, RATIO)
    text = "cold `filter` + `count` (two reads) ÷ the plain `LIMIT/OFFSET` + `COUNT` (worst size)"
    yield _target("14", text, cold("cold filter"), None, RATIO)
    largest = max((cold["bytes"] for cold in values.values()), default=0)
    yield Target(
        "14", "largest value a page stores < 64 KB", f"{largest:,} B", largest < 65_536 if largest else None
    )


def http_targets(http: dict[str, Any] | None) -> Iterator[Target]:
    if not http:
        yield Target("12", "HTTP targets", "not measured (--no-http, or no wrk)", None)
        return
    for path, runs in http["pages"].items():
        on, off = runs["on"], runs["off"]
        cpu = f"{on['cpu_ms']:.2f} vs {off['cpu_ms']:.2f} ms"
        yield Target(
            "12", f"CPU per request with the cache ≤ without (`{path}`)", cpu, on["cpu_ms"] <= off["cpu_ms"]
        )
        calls = ", ≤ 3 cache calls" if path == ADDRESSES else ""
        warm = on["sql"] == 0 and (path != ADDRESSES or on["calls"] <= 3)
        yield Target(
            "12", f"warm view: 0 SQL{calls} (`{path}`)", f"{on['sql']} SQL, {on['calls']} calls", warm
        )
    if runs := http["pages"].get(ADDRESSES):
        on, off = runs["on"]["requests_per_s"], runs["off"]["requests_per_s"]
        text = f"`{ADDRESSES}` ≥ 2{X} the requests/s of `selectinload`"
        yield Target("12", text, f"{on:.0f} vs {off:.0f} = {on / off:.2f}{X}", on / off >= 2)
    errors = sum(r["errors"] for runs in http["pages"].values() for r in runs.values())
    yield Target("—", "HTTP: 0 errors", str(errors), errors == 0)


def _header(out: Path, quick: bool, notes: list[str]) -> Iterator[str]:
    suite = out / "library.json"
    meta = pyperf.BenchmarkSuite.load(str(suite)).get_metadata() if suite.exists() else {}
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout
    yield "# Benchmarks of the model cache"
    yield ""
    yield (
        "`bash bench/run` (`--quick`: a smoke run of a few minutes; `--no-http`, `--http-only`) starts "
        "throwaway PostgreSQL and Redis servers, times the library with pyperf (`bench/library.py`, "
        "`bench/scale.py`), loads the dashboard with wrk under gunicorn (`bench/http.py`), and writes this "
        "file, `benchmarks.png`, `listing_scale.png` and the JSON they come from: `python -m pyperf "
        "compare_to old/library.json docs/benchmarks/library.json` compares two runs. The exact counts are "
        "asserted by `tests/test_bench_counts.py` and `tests/test_warm_pages.py`; this report prints them "
        "through the same helper (`bench/counts.py`)."
    )
    yield ""
    packages = ", ".join(f"{p} {version(p)}" for p in PACKAGES)
    yield (
        f"**This run:** {datetime.date.today()}, commit `{commit.strip()}`; "
        f"{meta.get('cpu_count', '?')} cores ({meta.get('cpu_model_name', '?')}), Python "
        f"{meta.get('python_version', '?')}; {packages}. The "
        f"machine is shared (load average {os.getloadavg()[0]:.1f} at the end) and its cores change speed "
        "for seconds at a time: absolute times move with both. So the ratio targets are held to ratios "
        "timed in pairs, the two operations alternating in short chunks in one process "
        "(`bench/paired.py`; the warm page at two table sizes reads two databases, one kept at 1,000 "
        "rows); the tables below are pyperf's medians."
    )
    if quick:
        yield ""
        yield "**A `--quick` smoke run (pyperf in process, few values): its times are not measurements.**"
    for note in notes:
        yield f"Skipped: {note}."


def _results(times: Times, counts: dict[str, Any]) -> Iterator[str]:
    setups = list(dict.fromkeys(key[0] for key in times))
    yield "## Results\n\n![Median time per operation, by setup](benchmarks.png)\n"
    yield (
        "Median µs per operation, in brackets the ratio to the same setup's no-cache row; below it, SQL "
        "statements / backend calls / Redis requests per operation (backend calls are counted by a "
        "proxy, which takes a miss through dogpile's API; without it a Redis miss is two scripts)."
    )
    for group in (GET, LISTING, UPDATE):
        labels = list(dict.fromkeys(key[2] for key in times if key[1] == group))
        yield f"\n### {group}\n"
        rows = ([label, *(_cell(times, counts, (s, group, label)) for s in setups)] for label in labels)
        yield from table(" | ".join(["", *setups]), rows)


def _cell(times: Times, counts: dict[str, Any], key: tuple[str, str, str]) -> str:
    """Median µs, its ratio to the same setup's no-cache row, and below it the exact counts."""
    (setup, group, label), value = key, times.get(key)
    base = times.get((setup, group, "no cache"))
    cell = "—" if value is None else f"{value:,.1f}"
    if value is not None and base and label != "no cache":
        cell += f" ({value / base:.2f}{X})"
    if c := counts.get(setup, {}).get(f"{group}{SEPARATOR}{label}"):
        cell += f"<br>{c['sql']} / {c['calls']} / {c['round_trips']}"
    return cell


def _scale(times: Times, values: dict[str, dict[str, Any]]) -> Iterator[str]:
    yield "## Listings that scale\n\n![A page of 20 at offset n/2 and its count](listing_scale.png)\n"
    yield (
        "`window(n/2, 20)` (the page and its count in one read, as the admin's list page reads them) and "
        "`filter(offset=n/2, limit=20)` + `count()` (two reads) against the plain `LIMIT/OFFSET` + `COUNT`, "
        "median ms; cold: the listing's guard flushed first, as a commit does; paired: timed in pairs "
        "(`bench/paired.py`); value: the largest value the page stored.\n"
    )
    kinds = ("plain page", "warm page", "cold page", "warm filter", "cold filter")
    rows = []
    for setup, size in dict.fromkeys(key[:2] for key in times):
        plain, *cached = (times.get((setup, size, f"{k} + count"), 0) / 1e3 for k in kinds)
        measured = values.get(f"{setup}{SEPARATOR}{size}", {})
        ratios = (f"{value / plain:.2f}{X}" for value in cached)
        paired = (
            f"{measured[p]['ratio']:.2f}{X}" if p in measured else "" for p in ("paired", "warm_paired")
        )
        rows.append(
            [setup, f"{int(size):,}", *(f"{ms:.3f}" for ms in (plain, *cached)), *ratios, *paired,
             f"{measured.get('bytes', 0):,} B"]
        )  # fmt: skip
    header = "setup | rows | plain | warm | cold | warm filter + count | cold filter + count | warm ÷ plain"
    header += " | cold ÷ plain | warm f + c ÷ plain | cold f + c ÷ plain | cold ÷ plain, paired"
    yield from table(f"{header} | warm ÷ warm at 1,000 rows, paired | value", rows)


def _http(http: dict[str, Any]) -> Iterator[str]:
    yield "## HTTP: the dashboard under gunicorn\n"
    yield (
        f"`gunicorn -w {http['workers']} dashboard:create_app()` on PostgreSQL, the cache on Redis or "
        f"`CACHE_ENABLED=0`, {http['users']} users; wrk with 1 thread and {http['connections']} connections, "
        f"{http['rounds']} round(s) of {http['seconds']} s per mode, the modes in turns (median round). CPU "
        f"per request: what the workers, PostgreSQL, Redis and wrk spent together on the {http['cores']} "
        "shared cores, so requests/s ≈ cores ÷ CPU per request. The wrk command line is in `bench/http.py`.\n"
    )
    runs = [(path, mode, r) for path, modes in http["pages"].items() for mode, r in modes.items()]
    head = "page | reads | cache | requests/s | p50 ms | p99 ms | CPU ms/request | Redis commands/request"
    rows = (
        [f"`{path}`", PAGES.get(path, ""), mode, f"{r['requests_per_s']:,.0f}", f"{r['p50_ms']:.1f}",
         f"{r['p99_ms']:.1f}", f"{r['cpu_ms']:.2f}", f"{r['redis_per_request']:.1f}"]
        for path, mode, r in runs
    )  # fmt: skip
    yield from table(head, rows, left=3)
    yield "\n### Modelled latency on a network\n"
    yield (
        "Loopback hides the network. Each page's warm view, counted exactly in process, modelled as CPU + "
        f"(SQL statements + cache calls) {X} one round trip to PostgreSQL and Redis.\n"
    )
    head = "page | cache | CPU ms | SQL | cache calls | " + " | ".join(f"at {t:g} ms" for t in ROUND_TRIPS_MS)
    rows = (
        [f"`{path}`", mode, f"{r['cpu_ms']:.2f}", r["sql"], r["calls"],
         *(f"{modelled_ms(r, rtt):.2f}" for rtt in ROUND_TRIPS_MS)]
        for path, mode, r in runs
    )  # fmt: skip
    yield from table(head, rows, left=2)


def _missed(targets: list[Target], reasons: list[str]) -> Iterator[str]:
    """The missed targets, then what this run measured that explains them: no guesses."""
    yield "## Targets missed\n"
    missed = [t for t in targets if t.met is False]
    yield from (f"- **{t.text}**: {t.measured}." for t in missed) if missed else ["None in this run."]
    if reasons:
        yield "\nWhat this run measured that explains them:\n"
        yield from reasons


def cold_reasons(scale: Times, times: Times, values: dict[str, dict[str, Any]]) -> Iterator[str]:
    """For each Redis setup, how much of a cold page + count its round trips take."""
    for setup in dict.fromkeys(key[0] for key in scale if key[0].endswith("Redis")):
        if reason := _cold_reason(setup, scale, times, values):
            yield reason


def _cold_reason(setup: str, scale: Times, times: Times, values: dict[str, dict[str, Any]]) -> str | None:
    """At the size where a cold page + count is slowest against the plain one. A round trip's cost
    is the listing's `MGET` floor less its attach floor, timed in the same run."""
    mget, attach = times.get((setup, LISTING, MGET)), times.get((setup, LISTING, ATTACH))

    def ms(size: str, kind: str) -> float:
        return scale.get((setup, size, f"{kind} + count"), 0) / 1e3

    sizes = [key[1] for key in scale if key[0] == setup and ms(key[1], "plain page")]
    size = max(sizes, key=lambda n: ms(n, "cold page") / ms(n, "plain page"), default=None)
    trips = values.get(f"{setup}{SEPARATOR}{size}", {}).get("round_trips")
    if mget is None or attach is None or size is None or trips is None:
        return None
    trip = (mget - attach) / 1e3
    cold, plain, waits = ms(size, "cold page"), ms(size, "plain page"), trips * trip
    return (
        f"- {setup}, cold page + count at {int(size):,} rows: {trips} Redis round trips (the read that "
        f"missed, the claim, the save), about {waits:.2f} ms of its {cold:.2f} ms at this run's "
        f"{trip:.3f} ms a round trip (the listing's `MGET` floor less its attach floor); the plain "
        f"page + count takes {plain:.2f} ms, and the cold read less its round trips "
        f"{(cold - waits) / plain:.2f}{X} that."
    )


def profile_reasons(profiles: dict[str, Any] | None) -> Iterator[str]:
    """Where each setup's read held to a floor spends its profiled time, part by part."""
    for setup, profile in (profiles or {}).items():
        parts = profile["shares"]
        floor = ("attaching",) if setup.endswith("memory") else ("attaching", "the backend call")
        shown = ", ".join(f"{name} {share:.0%}" for name, share in parts.items())
        yield (
            f"- {setup}, {profile['read']}, profiled: {shown}; its floor does {' and '.join(floor)} only "
            f"({sum(parts[name] for name in floor):.0%} here); the other {1 - sum(parts.values()):.0%} are "
            "the calls that tie the parts together (the session, the key, the layers between)."
        )


def page_reasons(http: dict[str, Any] | None) -> Iterator[str]:
    """Where each page's CPU goes, and for the profiled page how fast a free read could make it."""
    for path, runs in (http or {}).get("pages", {}).items():
        on, off = runs["on"], runs["off"]
        saved = off["cpu_ms"] - on["cpu_ms"]
        yield (
            f"- `{path}`: the cache saves {saved:.2f} of {off['cpu_ms']:.2f} ms of CPU per request "
            f"({1 - on['cpu_ms'] / off['cpu_ms']:.0%}); the other {on['cpu_ms']:.2f} ms are the "
            "request's own work (Flask, templates, the cached read), so requests/s can rise by about "
            f"{off['cpu_ms'] / on['cpu_ms']:.2f}{X} on these CPU-bound cores (requests/s ≈ cores ÷ CPU per "
            "request)."
        )
        if "read_share" in on:
            yield _free_read(path, on, off)


def _free_read(path: str, on: dict[str, Any], off: dict[str, Any]) -> str:
    reading = on["cpu_ms"] * on["read_share"]
    rest = on["cpu_ms"] - reading
    budget = off["cpu_ms"] / 2 - rest
    needs = f"at {budget / reading:.0%} of its cost" if budget > 0 else "below nothing: out of reach"
    return (
        f"- `{path}`, profiled in process: reading the data is {on['read_share']:.0%} of a cached request's "
        f"time and {off['read_share']:.0%} of an uncached one's. The rest (Flask, the template) is about "
        f"{rest:.2f} ms of the cached request's CPU and stays whatever the cache does, so even a free read "
        f"gives at most {off['cpu_ms'] / rest:.2f}{X} the requests/s of `selectinload`; 2{X} needs the "
        f"cached read {needs}.{_floor(on, budget / reading)}"
    )


def _floor(on: dict[str, Any], needed: float) -> str:
    """What the page's objects cost to attach, against the share of its cached read 2x needs."""
    share = on.get("attach_share")
    if share is None:
        return ""
    verdict = (
        "below that floor: out of reach while the page reads ORM objects" if needed < share else "above it"
    )
    return (
        " Attaching its objects alone (its users and addresses put in the identity map as the ORM's "
        f"loader does, each user's collection set; timed in pairs with the cached read) costs {share:.0%} "
        f"of the cached read, and {max(needed, 0):.0%} is {verdict}."
    )


def write_report(out: Path, quick: bool = False, notes: list[str] | None = None) -> None:
    """Read the run's JSON files in ``out`` and write report.md and the plots there."""
    times, scale = medians(out / "library.json"), medians(out / "scale.json")
    counts, http = _load(out / "counts.json") or {}, _load(out / "http.json")
    values, profiles = _load(out / "scale_values.json") or {}, _load(out / "profile.json")
    pairs = _load(out / "paired.json") or {}
    targets = [*library_targets(times, counts, pairs), *scale_targets(scale, values), *http_targets(http)]
    parts = [
        *_header(out, quick, notes or []),
        "\n## Targets (issues 12 and 14)\n",
        *table("issue | target | measured | met", (t.cells() for t in targets), left=4),
        "",
        *_missed(
            targets, [*profile_reasons(profiles), *cold_reasons(scale, times, values), *page_reasons(http)]
        ),
        "",
        *_results(times, counts),
        "",
        *_scale(scale, values),
        *(["", *_http(http)] if http else []),
    ]
    (out / "report.md").write_text("\n".join(parts) + "\n", encoding="utf-8")
    plot_library(out / "benchmarks.png", times, http)
    plot_scale(out / "listing_scale.png", scale)
