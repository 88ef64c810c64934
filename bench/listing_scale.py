"""Listings that scale: a page and a count cost the same whatever the table's size.

    python -m bench.listing_scale [--database URL ...] [--redis URL] [--sizes 1000,10000,...]

For each database and cache backend, and each table size, times (best of
several rounds taken in turn, so that a busy machine slows the operations
compared with one another alike; identity map emptied before each read;
reads of under a millisecond get more, shorter rounds):

- the plain query a page needs: ``SELECT ... ORDER BY id LIMIT 20 OFFSET n/2``
  and ``SELECT count(*)``;
- the same through the cache, warm (``filter(offset=n/2, limit=20)`` +
  ``count()``) and cold (the listing's guard deleted first, as a commit does);
- a warm listing of 50 objects against the plain query for them, with the
  backend calls it made (counted by a ``ProxyBackend``), and against its
  floor: one raw read of the same two keys (``MGET`` on Redis), one decode
  and attaching the same 50 rows;
- a warm ``get`` against its floor, attaching one decoded row;
- an update + commit: its backend calls and the keys it deletes.

Also the largest value the page stored. Writes ``docs/benchmarks/listing_scale.md``
and ``listing_scale.png``; ratios compare within one run only.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import func, insert, select

from caching import keys
from caching.attach import attach, attach_all
from caching.scan import actual_backend
from caching.testing import CountingProxy
from dashboard.extensions import caching, db
from dashboard.models import User

OUT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks"
PAGE = 20
LISTING = 50
ROUNDS = 5
QUICK_ROUNDS = 40  # reads of under a millisecond: more, shorter rounds outlast a busy neighbour


Timed = tuple[Callable[[], Any], Callable[[], Any], int]
"""An operation, its untimed reset, and how many calls a round times."""


def _best_each(operations: dict[str, Timed], rounds: int) -> dict[str, float]:
    """Seconds per call of each operation: the best of ``rounds`` rounds of its calls.

    Each round times every operation in turn, so that a busy neighbour slows
    the operations compared with one another alike.
    """
    best = dict.fromkeys(operations, float("inf"))
    for _ in range(rounds):
        for name, (operation, reset, repeat) in operations.items():
            elapsed = 0.0
            for _ in range(repeat):
                reset()
                started = time.perf_counter()
                operation()
                elapsed += time.perf_counter() - started
            best[name] = min(best[name], elapsed / repeat)
    return best


class _DeletesProxy(CountingProxy):
    """Counts backend calls and keeps the keys deleted."""

    def __init__(self) -> None:
        super().__init__()
        self.deleted: list[str] = []

    def delete_multi(self, keys: list[str]) -> None:
        self.deleted.extend(keys)
        super().delete_multi(keys)


def _counted(region: Any, operation: Callable[[], Any]) -> _DeletesProxy:
    """The backend calls (and deletes) ``operation`` makes, counted apart from the timings."""
    counter, unwrapped = _DeletesProxy(), region.backend
    region.wrap(counter)
    try:
        operation()
    finally:
        region.backend = unwrapped
    return counter


def _seed(size: int) -> None:
    db.drop_all()
    db.create_all()
    rows = [{"username": f"u{i}", "email": f"u{i}@example.org", "views": i % 7} for i in range(size)]
    for i in range(0, size, 20_000):
        db.session.execute(insert(User), rows[i : i + 20_000])
    db.session.commit()


def _measure(size: int) -> dict[str, float]:
    session = db.session
    middle = size // 2
    listing = User.cache.info.all_key()
    region = caching.regions["default"]

    def empty() -> None:
        session.expunge_all()

    def forget() -> None:
        empty()
        region.delete(keys.guard_key(listing))

    def plain_page() -> None:
        session.scalars(select(User).order_by(User.id).offset(middle).limit(PAGE)).all()
        session.scalar(select(func.count()).select_from(User))

    def cached_page() -> None:
        User.cache.filter(offset=middle, limit=PAGE)
        User.cache.count()

    def plain_listing() -> None:
        session.scalars(select(User).order_by(User.id).limit(LISTING)).all()

    def cached_listing() -> None:
        User.cache.filter(limit=LISTING)

    info = User.cache.info
    stored = [region.key_mangler(k) for k in (keys.window_key(listing, 0, LISTING), keys.guard_key(listing))]
    raw_backend, loads = actual_backend(region), region.deserializer

    def floor_listing() -> None:
        value, _guard = raw_backend.get_serialized_multi(stored)
        attach_all(db.session(), info, [dict(zip(info.names, row)) for row in loads(value)[2][1]])

    repeat = 20 if size <= 100_000 else 5
    pages = {
        "plain page + count": (plain_page, empty, repeat),
        "cold page + count": (cached_page, forget, repeat),
    }
    figures: dict[str, float] = _best_each(pages, ROUNDS)
    pk = middle + 1
    for warm_up in (cached_page, cached_listing, lambda: User.cache.get(pk)):
        warm_up()
    row = dict(zip(info.names, region.get(info.object_key(pk))[1]))
    quick = {
        "warm page + count": (cached_page, empty, 100),
        "plain listing of 50": (plain_listing, empty, 100),
        "warm listing of 50": (cached_listing, empty, 100),
        "floor listing of 50": (floor_listing, empty, 100),
        "warm get": (lambda: User.cache.get(pk), empty, 200),
        "floor get": (lambda: attach(db.session(), info, row), empty, 200),
    }
    figures.update(_best_each(quick, QUICK_ROUNDS))
    page_key = keys.window_key(listing, middle, middle + PAGE)
    figures["page value bytes"] = len(region.backend.get_serialized(region.key_mangler(page_key)) or b"")
    empty()
    figures["backend calls, warm listing of 50"] = _counted(region, cached_listing).total()
    empty()
    figures["backend calls, warm get"] = _counted(region, lambda: User.cache.get(pk)).total()

    def update() -> None:
        user = session.get(User, pk)
        user.views += 1
        session.commit()

    updated = _counted(region, update)
    figures["backend calls, update + commit"] = updated.total()
    figures["keys deleted, update + commit"] = len(updated.deleted)
    return figures


def _run(database: str, redis_url: str | None, sizes: list[int]) -> dict[int, dict[str, float]]:
    backend: dict[str, Any] = (
        {"backend": "dogpile.cache.redis", "arguments": {"url": redis_url}}
        if redis_url
        else {"backend": "dogpile.cache.memory"}
    )
    app = Flask("listing_scale")
    app.config.update(
        SQLALCHEMY_DATABASE_URI=database,
        SECRET_KEY="bench",
        CACHE_REGIONS={"default": {**backend, "expiration_time": 3600}},
    )
    db.init_app(app)
    caching.init_app(app, db)
    results = {}
    with app.app_context():
        for size in sizes:
            _seed(size)
            caching.state().flush("default", patterns=["*"])
            results[size] = _measure(size)
            print(database.split(":")[0], "redis" if redis_url else "memory", size, results[size], flush=True)
        db.session.remove()
        db.drop_all()
        db.engine.dispose()
    return results


def _report(runs: dict[str, dict[int, dict[str, float]]]) -> str:
    lines = [
        "# Listings that scale",
        "",
        "`python -m bench.listing_scale` (see its docstring). A page is `filter(offset=n/2, limit=20)` + "
        "`count()`; *plain* is the `LIMIT/OFFSET` query and `COUNT` it replaces. Times in ms, best of "
        f"{ROUNDS} rounds ({QUICK_ROUNDS} rounds in turn for the warm reads, their floors and the plain "
        "listing of 50); ratios compare within one run, on a machine shared with other work.",
        "",
        "| setup | rows | plain page | warm page | cold page | warm/plain | cold/plain | page value |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for setup, sizes in runs.items():
        for size, f in sizes.items():
            plain, warm, cold = f["plain page + count"], f["warm page + count"], f["cold page + count"]
            lines.append(
                f"| {setup} | {size:,} | {plain * 1e3:.3f} | {warm * 1e3:.3f} | {cold * 1e3:.3f} | "
                f"{warm / plain:.2f}x | {cold / plain:.2f}x | {f['page value bytes']:,.0f} B |"
            )
    lines += ["", "Targets (issue 14), per setup:", ""]
    for setup, sizes in runs.items():
        smallest, biggest = sizes[min(sizes)], sizes[max(sizes)]
        scale = biggest["warm page + count"] / smallest["warm page + count"]
        spread = max(scale, 1 / scale)
        cold = [f["cold page + count"] / f["plain page + count"] for f in sizes.values()]
        cold_biggest = biggest["cold page + count"] / biggest["plain page + count"]
        largest = max(f["page value bytes"] for f in sizes.values())
        gets = [f["warm get"] for f in sizes.values()]  # the same work at every size: this run's noise
        lines.append(
            f"- {setup}: warm page, {max(sizes):,} rows against {min(sizes):,}: {scale:.2f}x "
            f"({_mark(spread <= 1.5)} within 1.5x; the warm get, the same work at every size, spread "
            f"{max(gets) / min(gets):.2f}x over the sizes in this run); "
            f"cold page at most {max(cold):.2f}x the plain query, "
            f"{cold_biggest:.2f}x at {max(sizes):,} rows ({_mark(max(cold) <= 2)} ≤ 2x); largest page value "
            f"{largest:,.0f} B ({_mark(largest < 64 * 1024)} < 64 KB)."
        )
    lines += [
        "",
        "## Reads against their floors, and an update",
        "",
        "*Floor 50*: one raw read of the listing's value and its guard (`MGET` on Redis), one decode, "
        "attaching the same 50 rows. *Floor get*: attaching one decoded row. Times in µs; *calls* are "
        "backend calls (round trips on Redis).",
        "",
        "| setup | rows | plain 50 | warm 50 | floor 50 | warm/floor | plain/warm | calls | warm get | "
        "floor get | get/floor | calls | update calls | keys deleted |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for setup, sizes in runs.items():
        for size, f in sizes.items():
            plain, warm, floor = f["plain listing of 50"], f["warm listing of 50"], f["floor listing of 50"]
            lines.append(
                f"| {setup} | {size:,} | {plain * 1e6:.0f} | {warm * 1e6:.0f} | {floor * 1e6:.0f} | "
                f"{warm / floor:.2f}x | {plain / warm:.2f}x | "
                f"{f['backend calls, warm listing of 50']:.0f} | {f['warm get'] * 1e6:.1f} | "
                f"{f['floor get'] * 1e6:.1f} | {f['warm get'] / f['floor get']:.1f}x | "
                f"{f['backend calls, warm get']:.0f} | {f['backend calls, update + commit']:.0f} | "
                f"{f['keys deleted, update + commit']:.0f} |"
            )
    lines += ["", "Targets (issues 12 and 14), per setup, over the table sizes:", ""]
    for setup, sizes in runs.items():
        f = list(sizes.values())
        speedup = min(x["plain listing of 50"] / x["warm listing of 50"] for x in f)
        needed = 1.3 if setup.startswith("postgresql") and setup.endswith("Redis") else 1
        calls = {
            x[k] for x in f for k in ("backend calls, warm listing of 50", "backend calls, update + commit")
        }
        line = (
            f"- {setup}: warm listing of 50 at least {speedup:.2f}x faster than the plain query "
            f"({_mark(speedup > needed)} > {needed}x); warm listing and update + commit "
            f"{_mark(calls == {1})} 1 backend call each; "
        )
        if setup.endswith("Redis"):
            over_floor = max(x["warm listing of 50"] / x["floor listing of 50"] for x in f)
            line += (
                f"warm listing of 50 at most {over_floor:.2f}x its floor ({_mark(over_floor <= 1.5)} ≤ 1.5x)."
            )
        else:
            get = max(x["warm get"] / x["floor get"] for x in f)
            line += f"warm get at most {get:.1f}x attaching one row ({_mark(get <= 3)} ≤ 3x)."
        lines.append(line)
    return "\n".join(lines) + "\n"


def _mark(met: bool) -> str:
    return "met:" if met else "MISSED:"


def _plot(runs: dict[str, dict[int, dict[str, float]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(8, 4.5))
    for setup, sizes in runs.items():
        rows = list(sizes)
        for kind, style in (("warm", "-o"), ("cold", ":")):
            times = [f[f"{kind} page + count"] * 1e3 for f in sizes.values()]
            axes.plot(rows, times, style, label=f"{setup} {kind}")
    first = next(iter(runs.values()))
    plain = [f["plain page + count"] * 1e3 for f in first.values()]
    axes.plot(list(first), plain, "k--", label="plain LIMIT/OFFSET + COUNT (first db)")
    axes.set(xscale="log", yscale="log", xlabel="rows in the table", ylabel="ms per page + count")
    axes.set_title("A page of 20 at offset n/2 with its count")
    axes.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    summary = __doc__.split("\n\n")[0]
    parser = argparse.ArgumentParser(prog="python -m bench.listing_scale", description=summary)
    parser.add_argument("--database", action="append", help="database URL (repeat); default a SQLite file")
    parser.add_argument("--redis", help="also run with the cache on this Redis")
    parser.add_argument("--sizes", default="1000,10000,100000,1000000")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    runs = {}
    with tempfile.TemporaryDirectory() as scratch:
        for database in args.database or [f"sqlite:///{scratch}/scale.db"]:
            name = database.split(":")[0].split("+")[0]
            runs[f"{name} + memory"] = _run(database, None, sizes)
            if args.redis:
                runs[f"{name} + Redis"] = _run(database, args.redis, sizes)
    (args.out / "listing_scale.md").write_text(_report(runs))
    _plot(runs, args.out / "listing_scale.png")
    print((args.out / "listing_scale.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
