"""``python -m bench``: measure every setup and the HTTP pages, then write the report and the plot."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from .environment import available_setups
from .harness import Budget
from .httpload import HttpBudget, HttpRun, run_http
from .httpload.targets import http_targets
from .machine import describe
from .plot import PLOT_NAME, write_plot
from .profiling import Profile
from .readers.sa_example import load_example
from .report import write_report
from .results import Result, Results
from .runner import run_setup
from .targets import evaluate

OUT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="a few iterations: a smoke run, not a measurement"
    )
    parser.add_argument("--out", type=Path, default=OUT, help="where report.md and the plot go")
    parts = parser.add_mutually_exclusive_group()
    parts.add_argument("--no-http", action="store_true", help="the library benchmarks only")
    parts.add_argument("--http-only", action="store_true", help="the HTTP load test only")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    notes: list[str] = []
    measured: list[Result] = []
    profiles: list[Profile] = []
    http: HttpRun | None = None
    with tempfile.TemporaryDirectory(prefix="caching-bench-") as workdir:
        if args.http_only:
            notes.append("the library benchmarks: --http-only")
        else:
            measured, profiles = _library(Budget.quick() if args.quick else Budget(), Path(workdir), notes)
        if args.no_http:
            notes.append("the HTTP part: --no-http")
        else:
            print("== HTTP", file=sys.stderr)
            http, http_notes = run_http(HttpBudget.quick() if args.quick else HttpBudget(), Path(workdir))
            notes += http_notes
    for note in notes:
        print(f"skipped: {note}", file=sys.stderr)
    results = Results(measured)
    seconds = time.perf_counter() - started
    if args.quick:
        notes.append("this was a --quick smoke run: its numbers are not measurements")
    args.out.mkdir(parents=True, exist_ok=True)
    targets = (evaluate(results) if measured else []) + ([] if args.no_http else http_targets(http))
    write_report(args.out / "report.md", results, targets, profiles, describe(), seconds, notes, http)
    write_plot(args.out / PLOT_NAME, results, http)
    for target in targets:
        print(f"{target.mark} {target.target}: {target.measured}", file=sys.stderr)
    print(f"done in {seconds:.0f} s: {args.out / 'report.md'}, {args.out / PLOT_NAME}", file=sys.stderr)
    return 0


def _library(budget: Budget, workdir: Path, notes: list[str]) -> tuple[list[Result], list[Profile]]:
    """Every setup this machine has, one after the other; a note for each one skipped."""
    example = load_example()
    measured: list[Result] = []
    profiles: list[Profile] = []
    setups, skipped = available_setups(workdir)
    notes += skipped
    for index, setup in enumerate(setups):
        print(f"== {setup.label}", file=sys.stderr)
        # the hit paths are profiled once, on the first setup: SQLite + memory, no I/O in the way
        setup_results, setup_profiles = run_setup(setup, budget, example, profile=index == 0)
        measured += setup_results
        profiles += setup_profiles
    return measured, profiles


if __name__ == "__main__":
    sys.exit(main())
