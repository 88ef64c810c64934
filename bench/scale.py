"""Listings that scale: a page and its count cost the same whatever the table's size.

    python -m bench.scale -o scale.json [--sizes 1000,10000,100000,1000000] [pyperf options]

For each database and cache backend and each table size: the plain query a
page needs (``ORDER BY id LIMIT 20 OFFSET n/2`` and ``COUNT``), the same
through the cache warm (``window(n/2, 20)``, as the admin's list page
reads it, and ``filter(offset=n/2, limit=20)`` + ``count()``) and cold (the
listing's guard flushed first, as a commit does). The table grows
in the pyperf manager process before each size's benchmarks; the workers
only read it. With ``--sizes-out`` (the first of a run's passes), the
manager also records, per setup and size, the largest value the cold page
stores and its Redis round trips, exact, and two ratios timed in pairs
(:mod:`bench.paired`): the cold page over the plain one, and the warm page
over the same read of a second database's table kept at 1,000 rows (two
sizes of one table cannot be read alternately; pyperf's medians of the two,
minutes apart, differed by this machine's changes of speed).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pyperf
from sqlalchemy import func, select

from dashboard.extensions import caching, db
from dashboard.models import User

from . import paired
from .counts import per_operation, recorded
from .library import SEPARATOR
from .setups import Op, Setup, all_setups, empty_cache, grow_users, loop_seconds, make_app, reference

SIZES = (1_000, 10_000, 100_000, 1_000_000)
REFERENCE_ROWS = SIZES[0]  # the rows of the reference table, whose warm page each size's is paired with
PAGE = 20
OPERATIONS = (
    "plain page + count",
    "warm page + count",
    "cold page + count",
    "warm filter + count",
    "cold filter + count",
)


def operations(size: int) -> dict[str, tuple[Op, Op]]:
    """Each operation and its untimed reset, on the current app's table of ``size`` rows."""
    middle, session = size // 2, db.session

    def plain() -> None:
        session.scalars(select(User).order_by(User.id).offset(middle).limit(PAGE)).all()
        session.scalar(select(func.count()).select_from(User))

    def window() -> None:
        User.cache.window(middle, PAGE)

    def filtered() -> None:
        User.cache.filter(offset=middle, limit=PAGE)
        User.cache.count()

    def forget() -> None:
        session.expunge_all()
        User.cache.flush("gen:user.id[all]")

    warm_and_cold = [((read, session.expunge_all), (read, forget)) for read in (window, filtered)]
    return dict(zip(OPERATIONS, ((plain, session.expunge_all), *warm_and_cold[0], *warm_and_cold[1])))


def _timed(loops: int, setup: Setup, size: int, name: str) -> float:
    return loop_seconds(loops, make_app(setup), *operations(size)[name])


def values(setup: Setup, size: int) -> dict[str, Any]:
    """Bytes of the largest value a cold page and its count store and its Redis round trips, exact;
    timed in pairs (:mod:`bench.paired`): its time over the plain page + count's (``paired``), and the
    warm page + count's over the same read of the reference table of ``REFERENCE_ROWS`` rows
    (``warm_paired``), which is 1.0 at that size."""
    app, other = make_app(setup), make_app(reference(setup))
    with app.app_context():
        ops = operations(size)
        read, forget = cold = ops["cold page + count"]
        forget()
        stored = max(recorded(caching.regions["default"], read).written.values(), default=0)
        found = {
            "bytes": stored,
            "round_trips": per_operation(read, db.engine, reset=forget).round_trips,
            "paired": paired.ratio(cold, ops["plain page + count"]),
        }
    with other.app_context():
        smaller = operations(REFERENCE_ROWS)["warm page + count"]
    found["warm_paired"] = paired.ratio(
        ops["warm page + count"], smaller, within=(app.app_context, other.app_context)
    )
    return found


def main() -> None:
    runner = pyperf.Runner(
        processes=3,
        values=3,
        program_args=("-m", "bench.scale"),
        add_cmdline_args=lambda command, args: command.extend(("--sizes", args.sizes)),
    )
    runner.argparser.set_defaults(copy_env=True)
    runner.argparser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    runner.argparser.add_argument(
        "--sizes-out",
        type=Path,
        help="measure the cold page's value and round trips and the paired ratios into",
    )
    args = runner.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    measured: dict[str, dict[str, Any]] = {}
    measure = args.sizes_out and not args.worker  # once a run: exact, or paired (not pyperf's to spread)
    setups = all_setups()
    for database in dict.fromkeys(s.database for s in setups):
        on_database = [s for s in setups if s.database == database]
        if measure:
            with make_app(reference(on_database[0])).app_context():
                grow_users(REFERENCE_ROWS)
        for size in sizes:
            if not args.worker:  # the manager grows the table; the workers only read it
                with make_app(on_database[0]).app_context():
                    grow_users(size)
                print(f"{database}: {size:,} rows", file=sys.stderr, flush=True)
            for setup in on_database:
                if measure:
                    empty_cache(setup)
                    measured[f"{setup.label}{SEPARATOR}{size}"] = values(setup, size)
                for name in OPERATIONS:
                    runner.bench_time_func(
                        f"{setup.label}{SEPARATOR}{size}{SEPARATOR}{name}", _timed, setup, size, name
                    )
    if measure:
        args.sizes_out.write_text(json.dumps(measured, indent=1))


if __name__ == "__main__":
    main()
