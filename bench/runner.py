"""Running every case of one setup in its own app, and keeping what was measured."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from types import ModuleType

from sqlalchemy.orm import Session

from dashboard.extensions import db

from . import cases
from .counting import count
from .environment import Setup, make_app, seed
from .harness import Budget, Case, measure_together
from .profiling import Profile, profile_case
from .readers import Reader
from .readers.gist import GistReader
from .readers.library import LibraryReader
from .readers.memoize import MemoizeReader
from .readers.plain import PlainReader
from .readers.sa_example import SQLAlchemyExampleReader
from .results import Result

PROFILED = ((cases.GET, "hit"), (cases.LISTING, "warm"))
"""The library's cases profiled, in the setup chosen for it: its hit paths."""


def run_setup(
    setup: Setup, budget: Budget, example: ModuleType, profile: bool = False
) -> tuple[list[Result], list[Profile]]:
    """Seed the setup's database and measure every case on it; profile the hit paths if asked."""
    app = make_app(setup)
    results: list[Result] = []
    profiles: list[Profile] = []
    with app.app_context():
        seed(setup)
        library = LibraryReader()
        readers: list[Reader] = [
            PlainReader(),
            library,
            SQLAlchemyExampleReader(setup, example),
            GistReader(setup),
            MemoizeReader(app, setup),
        ]
        try:
            with Session(db.engine) as plain_session:
                setup_cases = [
                    *cases.read_cases(readers),
                    *cases.floor_cases(setup),
                    *cases.update_cases(plain_session),
                ]
                results = _run_all(setup, cases.with_stats_off(setup_cases, library), budget)
                if profile:
                    profiles = [_profile(setup, setup_cases, group, variant) for group, variant in PROFILED]
        finally:
            for reader in readers:
                reader.close()
            db.session.remove()
            db.drop_all()
            db.engine.dispose()
    return results, profiles


def _profile(setup: Setup, setup_cases: Iterable[Case], group: str, variant: str) -> Profile:
    (case,) = [c for c in setup_cases if c.kind == "library" and c.group == group and c.variant == variant]
    db.session.remove()
    print(f"  {setup.label:<20} profiling {case.group} {case.label}", file=sys.stderr, flush=True)
    return profile_case(setup.label, case)


def _run_all(setup: Setup, setup_cases: list[Case], budget: Budget) -> list[Result]:
    """Time all the cases together (see ``measure_together``), then count each."""
    db.session.remove()
    print(f"  timing {len(setup_cases)} cases, {budget.repeats} rounds", file=sys.stderr, flush=True)
    timings = measure_together(setup_cases, budget)
    results = []
    for case, timing in zip(setup_cases, timings):
        db.session.remove()
        with case.scope():
            counts = count(case, db.engine, setup.on_redis)
        print(
            f"  {setup.label:<20} {case.group:<16} {case.label:<42} {timing.median_us:>9.1f} µs"
            f"  sql={counts.sql:g} calls={_fmt(counts.backend_calls)} redis={_fmt(counts.round_trips)}",
            file=sys.stderr,
            flush=True,
        )
        results.append(Result(setup.label, case.group, case.impl, case.variant, case.kind, timing, counts))
    return results


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"
