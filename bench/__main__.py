"""``python -m bench``: measure every setup, then write the report and the plot."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from .environment import available_setups
from .harness import Budget
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
    args = parser.parse_args(argv)
    budget = Budget.quick() if args.quick else Budget()
    started = time.perf_counter()
    example = load_example()
    measured: list[Result] = []
    profiles: list[Profile] = []
    with tempfile.TemporaryDirectory(prefix="caching-bench-") as workdir:
        setups, notes = available_setups(Path(workdir))
        for note in notes:
            print(f"skipped: {note}", file=sys.stderr)
        for index, setup in enumerate(setups):
            print(f"== {setup.label}", file=sys.stderr)
            # the hit paths are profiled once, on the first setup: SQLite + memory, no I/O in the way
            setup_results, setup_profiles = run_setup(setup, budget, example, profile=index == 0)
            measured += setup_results
            profiles += setup_profiles
    results = Results(measured)
    seconds = time.perf_counter() - started
    if args.quick:
        notes.append("this was a --quick smoke run: its numbers are not measurements")
    args.out.mkdir(parents=True, exist_ok=True)
    targets = evaluate(results)
    write_report(args.out / "report.md", results, targets, profiles, describe(), seconds, notes)
    write_plot(args.out / PLOT_NAME, results)
    for target in targets:
        print(f"{target.mark} {target.target}: {target.measured}", file=sys.stderr)
    print(f"done in {seconds:.0f} s: {args.out / 'report.md'}, {args.out / PLOT_NAME}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
