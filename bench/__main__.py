"""``python -m bench``: time the library (pyperf), count and profile it, load the dashboard, write the report.

Each part writes its JSON into ``--out`` (docs/benchmarks by default), and
the report and plots are made from those files, so a part can be rerun
alone and ``python -m pyperf compare_to`` can compare two runs.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

from . import http, slow_patterns
from .library import World
from .report import ratio_pairs, write_report
from .setups import all_setups

OUT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks"
QUICK = ["--in-process", "--fast", "-n", "2", "--min-time", "0.02"]  # pyperf: one process, few values
ROUNDS = 3  # passes over every benchmark, one worker process each: see _pyperf


def _pyperf(module: str, out: Path, quick: bool, *extra: str, first: tuple[str, ...] = ()) -> None:
    """Run a pyperf module into ``out/module.json``, in ROUNDS passes appended to one file
    (``first``: arguments for the first pass only).

    pyperf runs all of one benchmark's worker processes back to back, so a
    spell of load on this shared machine lands on one benchmark and not on
    the one it is compared with (a 2x swing between the two was seen). One
    worker per benchmark per pass, the passes one after another, spreads each
    benchmark's values over the whole run, as its rivals' are.
    """
    (out / f"{module}.json").unlink(missing_ok=True)  # --append adds to a file from an earlier run
    command = [sys.executable, "-m", f"bench.{module}", "-q", "--append", str(out / f"{module}.json"), *extra]
    for index in range(1 if quick else ROUNDS):
        once = first if index == 0 else ()
        subprocess.run([*command, *once, *(QUICK if quick else ["--processes", "1"])], check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run of a few minutes, not a measurement"
    )
    parser.add_argument("--out", type=Path, default=OUT, help="where the JSON, report.md and the plots go")
    parts = parser.add_mutually_exclusive_group()
    parts.add_argument("--no-http", action="store_true", help="the library only")
    parts.add_argument("--http-only", action="store_true", help="the HTTP load test only")
    parts.add_argument(
        "--slow-patterns", action="store_true", help="the hostile-pattern load test alone (slow_patterns.md)"
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.slow_patterns:
        return slow_patterns.main(args.out)
    notes = []
    if not args.http_only:
        print("== library (pyperf)", file=sys.stderr)
        _pyperf("library", args.out, args.quick)
        print("== listing scale (pyperf)", file=sys.stderr)
        sizes = ["--sizes", "1000,10000"] if args.quick else []
        values = ("--sizes-out", str(args.out / "scale_values.json"))
        _pyperf("scale", args.out, args.quick, *sizes, first=values)
        print("== exact counts, profiles", file=sys.stderr)
        worlds = {setup.label: World(setup) for setup in all_setups()}
        counts = {label: world.counts() for label, world in worlds.items()}
        (args.out / "counts.json").write_text(json.dumps(counts, indent=1))
        profiles = {label: world.profile() for label, world in worlds.items()}
        (args.out / "profile.json").write_text(json.dumps(profiles, indent=1))
        print("== ratios timed in pairs", file=sys.stderr)
        pairs = {label: world.pairs(ratio_pairs()) for label, world in worlds.items()}
        (args.out / "paired.json").write_text(json.dumps(pairs, indent=1))
    if args.no_http:
        notes.append("the HTTP part: --no-http")
    elif shutil.which("wrk") is None:
        notes.append("the HTTP part: wrk is not installed")
    else:
        print("== HTTP (gunicorn + wrk)", file=sys.stderr)
        http.run(args.out / "http.json", args.quick)
    write_report(args.out, args.quick, notes)
    print(f"done: {args.out / 'report.md'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
