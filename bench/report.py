"""``docs/benchmarks/report.md`` and its plots, from the JSON files a run wrote.

Times come from pyperf's files (the median of every value of a benchmark),
counts from ``counts.json`` (the helper the tests assert with), the HTTP
figures from ``http.json``. Each target is a ratio within one run, or an
exact count; a target missed says so, and by how much.
"""

from __future__ import annotations

import datetime
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pyperf

from .http import PAGES, ROUND_TRIPS_MS, modelled_ms
from .library import ATTACH, GET, LISTING, MGET, SEPARATOR, UPDATE
from .plot import plot_library, plot_scale

PACKAGES = ("SQLAlchemy", "Flask-SQLAlchemy", "dogpile.cache", "redis", "psycopg", "Flask-Caching", "pyperf")
TIMES = "×"
ADDRESSES = "/demo/addresses/"


@dataclass
class Target:
    issue: str
    text: str
    measured: str
    met: bool | None

    def row(self) -> str:
        mark = {True: "✓", False: "✗ missed", None: "— not measured"}[self.met]
        return f"| {self.issue} | {self.text} | {self.measured} | {mark} |"


def medians(path: Path) -> dict[tuple[str, ...], float]:
    """Median µs of every benchmark in a pyperf file, by its name's parts."""
    if not path.exists():
        return {}
    suite = pyperf.BenchmarkSuite.load(str(path))
    return {tuple(b.get_name().split(SEPARATOR)): b.median() * 1e6 for b in suite.get_benchmarks()}


def _load(path: Path) -> Any:
    return json.loads(path.read_text()) if path.exists() else None


def _short(setup: str) -> str:
    return setup.replace(" + ", "/")


def _ratios(values: dict[str, float | None]) -> str:
    return ", ".join(f"{_short(s)} {v:.2f}{TIMES}" for s, v in values.items() if v is not None) or "—"


def _target(issue: str, text: str, values: dict[str, float | None], ok: Any) -> Target:
    measured = {s: v for s, v in values.items() if v is not None}
    return Target(issue, text, _ratios(measured), all(ok(v) for v in measured.values()) if measured else None)


def _div(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def library_targets(times: dict[tuple[str, ...], float], counts: dict[str, Any]) -> Iterator[Target]:
    setups = list(dict.fromkeys(key[0] for key in times))

    def t(setup: str, group: str, label: str) -> float | None:
        return times.get((setup, group, label))

    memory = [s for s in setups if s.endswith("memory")]
    redis = [s for s in setups if s.endswith("Redis")]
    yield _target(
        "12",
        f"memory hit ≤ 3{TIMES} the attach floor",
        {s: _div(t(s, GET, "caching (hit)"), t(s, GET, ATTACH)) for s in memory},
        lambda r: r <= 3,
    )
    yield _target(
        "12",
        f"warm listing of 50 on Redis ≤ 1.5{TIMES} its floor (MGET of its keys + attach)",
        {s: _div(t(s, LISTING, "caching (warm)"), t(s, LISTING, MGET)) for s in redis},
        lambda r: r <= 1.5,
    )
    speedup = {s: _div(t(s, LISTING, "no cache"), t(s, LISTING, "caching (warm)")) for s in setups}
    yield _target(
        "14", f"warm listing of 50 faster than no cache ({TIMES} faster > 1)", speedup, lambda r: r > 1
    )
    pg_redis = {s: v for s, v in speedup.items() if s == "PostgreSQL + Redis"}
    yield _target(
        "14",
        f"warm listing of 50 ≥ 1.3{TIMES} faster than no cache on PostgreSQL + Redis",
        pg_redis,
        lambda r: r >= 1.3,
    )
    for rival in ("SQLAlchemy example", "gist (pickle + merge)"):
        for group, variant in ((GET, "hit"), (LISTING, "warm")):
            yield _target(
                "—",
                f"{group} {variant}: time ÷ the {rival}'s < 1",
                {
                    s: _div(t(s, group, f"caching ({variant})"), t(s, group, f"{rival} ({variant})"))
                    for s in setups
                },
                lambda r: r < 1,
            )
    yield from _count_targets(counts)


def _count_targets(counts: dict[str, Any]) -> Iterator[Target]:
    """The exact counts: asserted by tests/test_bench_counts.py, printed here from the same helper."""

    def each(group: str, label: str, field: str) -> dict[str, int]:
        return {s: c[field] for s, cases in counts.items() if (c := cases.get(f"{group}{SEPARATOR}{label}"))}

    def show(values: dict[str, int]) -> str:
        return ", ".join(f"{_short(s)} {v}" for s, v in values.items()) or "—"

    warm_sql, warm_calls = each(LISTING, "caching (warm)", "sql"), each(LISTING, "caching (warm)", "calls")
    yield Target(
        "14",
        "warm listing of 50: 0 SQL, 1 backend call",
        f"SQL {show(warm_sql)}; calls {show(warm_calls)}",
        set(warm_sql.values()) <= {0} and set(warm_calls.values()) <= {1} if warm_sql else None,
    )
    trips = {s: v for s, v in each(GET, "caching (hit)", "round_trips").items() if s.endswith("Redis")}
    yield Target("12", "Redis hit: 1 round trip", show(trips), set(trips.values()) == {1} if trips else None)
    saves = {s: v for s, v in each(UPDATE, "caching", "round_trips").items() if s.endswith("Redis")}
    yield Target(
        "14",
        "save + commit: 1 round trip on Redis",
        show(saves),
        set(saves.values()) == {1} if saves else None,
    )
    flushed = {s: c["keys flushed"] for s, c in counts.items() if "keys flushed" in c}
    yield Target(
        "14",
        "logical keys an update of one User flushes, each with its guard (reported)",
        show(flushed),
        None if not flushed else True,
    )


def scale_targets(times: dict[tuple[str, ...], float], values: dict[str, int]) -> Iterator[Target]:
    setups = list(dict.fromkeys(key[0] for key in times))
    sizes = sorted({int(key[1]) for key in times})
    if not sizes:
        return
    low, high = sizes[0], sizes[-1]
    spread = {}
    for s in setups:
        ratio = _div(
            times.get((s, str(high), "warm page + count")), times.get((s, str(low), "warm page + count"))
        )
        spread[s] = max(ratio, 1 / ratio) if ratio else None
    yield _target(
        "14", f"warm page + count: {high:,} rows within 1.5{TIMES} of {low:,}", spread, lambda r: r <= 1.5
    )
    cold = {
        s: max(
            _div(times.get((s, str(n), "cold page + count")), times.get((s, str(n), "plain page + count")))
            or 0
            for n in sizes
        )
        for s in setups
    }
    yield _target(
        "14",
        f"cold page + count ≤ 2{TIMES} the plain LIMIT/OFFSET + COUNT (worst size)",
        cold,
        lambda r: r <= 2,
    )
    largest = max(values.values(), default=None)
    yield Target(
        "14",
        "largest value a page stores < 64 KB",
        f"{largest:,} B" if largest else "—",
        largest < 64 * 1024 if largest else None,
    )


def http_targets(http: dict[str, Any] | None) -> Iterator[Target]:
    if not http:
        yield Target("12", "HTTP targets", "not measured (no PostgreSQL, Redis or wrk)", None)
        return
    for path, runs in http["pages"].items():
        on, off = runs["on"], runs["off"]
        yield Target(
            "12",
            f"CPU per request with the cache ≤ without (`{path}`)",
            f"{on['cpu_ms']:.2f} vs {off['cpu_ms']:.2f} ms",
            on["cpu_ms"] <= off["cpu_ms"],
        )
        yield Target(
            "12",
            f"warm view: 0 SQL (`{path}`)",
            f"{on['sql']} SQL, {on['calls']} cache calls",
            on["sql"] == 0 and (path != ADDRESSES or on["calls"] <= 3),
        )
    runs = http["pages"].get(ADDRESSES)
    if runs:
        ratio = runs["on"]["requests_per_s"] / runs["off"]["requests_per_s"]
        yield Target(
            "12",
            f"`{ADDRESSES}` ≥ 2{TIMES} the requests/s of `selectinload`",
            f"{runs['on']['requests_per_s']:.0f} vs {runs['off']['requests_per_s']:.0f} = {ratio:.2f}{TIMES}",
            ratio >= 2,
        )
    errors = sum(r["errors"] for runs in http["pages"].values() for r in runs.values())
    yield Target("—", "HTTP: 0 errors", str(errors), errors == 0)


def _header(out: Path, quick: bool, notes: list[str]) -> list[str]:
    meta = (
        pyperf.BenchmarkSuite.load(str(out / "library.json")).get_metadata()
        if (out / "library.json").exists()
        else {}
    )
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    packages = ", ".join(f"{p} {version(p)}" for p in PACKAGES)
    lines = [
        "# Benchmarks of the model cache",
        "",
        "`bash bench/run` (`--quick`: a smoke run of a few minutes, its numbers not measurements; `--no-http`, "
        "`--http-only`). It starts throwaway PostgreSQL and Redis servers, times the library with pyperf "
        "(`bench/library.py`, `bench/scale.py`: calibration, warm-ups, worker processes, metadata), loads the "
        "dashboard with wrk under gunicorn (`bench/http.py`), and writes this file, `benchmarks.png`, "
        "`listing_scale.png` and the JSON they come from. `python -m pyperf compare_to old/library.json "
        "docs/benchmarks/library.json` compares two runs. Exact counts are asserted by "
        "`tests/test_bench_counts.py` and `tests/test_warm_pages.py`; the report prints them from the same "
        "helper (`bench/counts.py`).",
        "",
        f"**This run:** {datetime.date.today()}, commit `{commit}`; {meta.get('cpu_count', '?')} cores "
        f"({meta.get('cpu_model_name', '?')}), Python {meta.get('python_version', '?')}, "
        f"{meta.get('platform', '?')}; {packages}. The machine is shared: absolute times move with its load; "
        "ratios within one run hold up better.",
    ]
    if quick:
        lines += [
            "",
            "**A --quick smoke run (pyperf in process, few values): its numbers are not measurements.**",
        ]
    return lines + [f"Skipped: {note}." for note in notes]


def _results(times: dict[tuple[str, ...], float], counts: dict[str, Any]) -> Iterator[str]:
    setups = list(dict.fromkeys(key[0] for key in times))
    yield "## Results"
    yield ""
    yield "![Median time per operation, by setup](benchmarks.png)"
    yield ""
    yield (
        "Median µs per operation (all of pyperf's values), in brackets the ratio to the same setup's no-cache "
        "row; then SQL statements / backend calls / Redis requests per operation."
    )
    for group in (GET, LISTING, UPDATE):
        labels = list(dict.fromkeys(key[2] for key in times if key[1] == group))
        yield ""
        yield f"### {group}"
        yield ""
        yield "| | " + " | ".join(setups) + " |"
        yield "| --- |" + " ---: |" * len(setups)
        for label in labels:
            cells = []
            for s in setups:
                value, base = times.get((s, group, label)), times.get((s, group, "no cache"))
                cell = "—" if value is None else f"{value:,.1f}"
                if value is not None and base and label != "no cache":
                    cell += f" ({value / base:.2f}{TIMES})"
                c = counts.get(s, {}).get(f"{group}{SEPARATOR}{label}")
                cells.append(cell + (f"<br>{c['sql']} / {c['calls']} / {c['round_trips']}" if c else ""))
            yield f"| {label} | " + " | ".join(cells) + " |"


def _scale(times: dict[tuple[str, ...], float], values: dict[str, int]) -> Iterator[str]:
    yield "## Listings that scale"
    yield ""
    yield "![A page of 20 at offset n/2 and its count, by table size](listing_scale.png)"
    yield ""
    yield (
        "`filter(offset=n/2, limit=20)` + `count()` against the plain `LIMIT/OFFSET` + `COUNT`; median ms; "
        "cold = the listing's guard flushed first, as a commit does; value = the largest value the page stored."
    )
    yield ""
    yield "| setup | rows | plain | warm | cold | warm ÷ plain | cold ÷ plain | value |"
    yield "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    for setup, size in dict.fromkeys(key[:2] for key in times):
        plain, warm, cold = (
            times.get((setup, size, f"{k} page + count"), 0) / 1e3 for k in ("plain", "warm", "cold")
        )
        size_bytes = values.get(f"{setup}{SEPARATOR}{size}", 0)
        yield (
            f"| {setup} | {int(size):,} | {plain:.3f} | {warm:.3f} | {cold:.3f} | {warm / plain:.2f}{TIMES} | "
            f"{cold / plain:.2f}{TIMES} | {size_bytes:,} B |"
        )


def _http(http: dict[str, Any]) -> Iterator[str]:
    yield "## HTTP: the dashboard under gunicorn"
    yield ""
    yield (
        f"`gunicorn -w {http['workers']} dashboard:create_app()` on PostgreSQL, cache on Redis or "
        f"`CACHE_ENABLED=0`, {http['users']} users; wrk, 1 thread, {http['connections']} connections, "
        f"{http['rounds']} round(s) of {http['seconds']} s per mode in turns (median round). CPU per request is "
        f"what the workers, PostgreSQL, Redis and wrk spent together on the {http['cores']} shared cores, so "
        "requests/s ≈ cores ÷ CPU per request. See `bench/http.py` for the wrk command line."
    )
    yield ""
    yield "| page | reads | cache | requests/s | p50 ms | p99 ms | CPU ms/request | Redis commands/request |"
    yield "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |"
    for path, runs in http["pages"].items():
        for mode, r in runs.items():
            yield (
                f"| `{path}` | {PAGES.get(path, '')} | {mode} | {r['requests_per_s']:,.0f} | {r['p50_ms']:.1f} | "
                f"{r['p99_ms']:.1f} | {r['cpu_ms']:.2f} | {r['redis_per_request']:.1f} |"
            )
    yield ""
    yield "### Modelled latency on a network"
    yield ""
    yield (
        "Loopback hides the network. Each page's warm view, counted exactly in process (SQL statements, cache "
        f"calls), modelled as CPU + (statements + calls) {TIMES} one round trip to PostgreSQL and Redis."
    )
    yield ""
    yield (
        "| page | cache | CPU ms | SQL | cache calls | "
        + " | ".join(f"ms at {r:g} ms" for r in ROUND_TRIPS_MS)
        + " |"
    )
    yield "| --- | --- | ---: | ---: | ---: |" + " ---: |" * len(ROUND_TRIPS_MS)
    for path, runs in http["pages"].items():
        for mode, r in runs.items():
            modelled = " | ".join(f"{modelled_ms(r, rtt):.2f}" for rtt in ROUND_TRIPS_MS)
            yield f"| `{path}` | {mode} | {r['cpu_ms']:.2f} | {r['sql']} | {r['calls']} | {modelled} |"


def _missed(targets: list[Target], http: dict[str, Any] | None) -> Iterator[str]:
    """What the numbers say about each missed target: the facts of this run, no guesses."""
    yield "## Targets missed"
    yield ""
    missed = [t for t in targets if t.met is False]
    if not missed:
        yield "None in this run."
    for t in missed:
        yield f"- **{t.text}**: {t.measured}."
    if http:
        yield ""
        for path, runs in http["pages"].items():
            on, off = runs["on"], runs["off"]
            saved = off["cpu_ms"] - on["cpu_ms"]
            yield (
                f"- `{path}`: the cache saves {saved:.2f} of {off['cpu_ms']:.2f} ms of CPU per request "
                f"({saved / off['cpu_ms']:.0%}); the other {on['cpu_ms']:.2f} ms are the request's own work "
                f"(Flask, templates, the cached read), which bounds requests/s at ≈ {off['cpu_ms'] / on['cpu_ms']:.2f}{TIMES} "
                "on these cores."
            )


def write_report(out: Path, quick: bool = False, notes: list[str] | None = None) -> None:
    """Read the run's JSON files in ``out`` and write report.md and the plots there."""
    times, scale = medians(out / "library.json"), medians(out / "scale.json")
    counts, http = _load(out / "counts.json") or {}, _load(out / "http.json")
    values = _load(out / "scale_values.json") or {}
    targets = [*library_targets(times, counts), *scale_targets(scale, values), *http_targets(http)]
    lines = [
        *_header(out, quick, notes or []),
        "",
        "## Targets (issues 12 and 14)",
        "",
        "| issue | target | measured | met |",
        "| --- | --- | --- | --- |",
        *(t.row() for t in targets),
        "",
        *_missed(targets, http),
        "",
        *_results(times, counts),
        "",
        *_scale(scale, values),
    ]
    if http:
        lines += ["", *_http(http)]
    (out / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    plot_library(out / "benchmarks.png", times, http)
    plot_scale(out / "listing_scale.png", scale)
