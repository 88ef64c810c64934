"""Timing, timeit-style: many iterations per repeat, the median of several repeats.

Each iteration runs the case's ``reset`` untimed (emptying the identity map,
deleting cache keys to force a miss, loading the row to update...) and then
times ``op`` alone. Timing every iteration separately costs two
``perf_counter`` calls, which is measured once per run (an empty op) and
subtracted, so a 3 µs floor and a 300 µs commit are measured alike. The
garbage collector is off while a repeat runs, as in ``timeit``, and
collects between repeats.

The repeats of all the cases of a setup are taken round-robin: on a shared
machine, load comes and goes in bursts of seconds, and a case timed in one
block can land entirely in a burst. Interleaved, a burst slows one repeat
of many cases instead, and the median discards it.
"""

from __future__ import annotations

import contextlib
import gc
import statistics
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from dogpile.cache.region import CacheRegion


def _nothing() -> None:
    return None


@dataclass
class Case:
    """One operation of one implementation, in one benchmark group.

    ``variant`` tells a hit from a miss (or warm from cold), empty where
    there is no cache; ``kind`` is ``"library"``, ``"rival"`` or
    ``"floor"``; ``regions`` are the dogpile regions whose backend calls
    are counted for it; ``scope`` is entered around its whole measurement
    (e.g. to take a proxy out of the region).
    """

    group: str
    impl: str
    variant: str
    kind: str
    op: Callable[[], Any]
    reset: Callable[[], Any] = _nothing
    regions: Sequence[CacheRegion] = ()
    scope: Callable[[], AbstractContextManager[Any]] = contextlib.nullcontext

    @property
    def label(self) -> str:
        return f"{self.impl} ({self.variant})" if self.variant else self.impl


@dataclass
class Timing:
    """Microseconds per op: the median of the repeats, and their range."""

    median_us: float
    low_us: float
    high_us: float
    iterations: int
    repeats: int
    samples_us: list[float] = field(default_factory=list)


@dataclass
class Budget:
    """How long to spend on one case; ``quick`` trades precision for a fast smoke run."""

    repeats: int = 9
    repeat_seconds: float = 0.1
    warmup: int = 30
    rewarm: int = 3  # untimed iterations before each repeat: cases sharing a cache leave it as they need it
    max_iterations: int = 20_000

    @classmethod
    def quick(cls) -> Budget:
        return cls(repeats=3, repeat_seconds=0.02, warmup=5, rewarm=2, max_iterations=500)


def _timed_loop(op: Callable[[], Any], reset: Callable[[], Any], iterations: int) -> float:
    """Seconds spent in ``op`` over ``iterations``, ``reset`` excluded."""
    clock = time.perf_counter
    total = 0.0
    for _ in range(iterations):
        reset()
        start = clock()
        op()
        total += clock() - start
    return total


_overhead: float | None = None


def timer_overhead() -> float:
    """Seconds the harness itself adds per iteration (an empty op), measured once."""
    global _overhead
    if _overhead is None:
        runs = []
        for _ in range(7):
            runs.append(_timed_loop(_nothing, _nothing, 100_000) / 100_000)
        _overhead = statistics.median(runs)
    return _overhead


def _iterations_for(case: Case, budget: Budget) -> int:
    """Iterations filling ``budget.repeat_seconds`` of wall time, reset included."""
    start = time.perf_counter()
    done = 0
    while done < 5 or time.perf_counter() - start < budget.repeat_seconds / 4:
        case.reset()
        case.op()
        done += 1
    per_iteration = (time.perf_counter() - start) / done
    return max(10, min(budget.max_iterations, int(budget.repeat_seconds / per_iteration)))


def _one_repeat(case: Case, iterations: int, overhead: float, rewarm: int) -> float:
    for _ in range(rewarm):
        case.reset()
        case.op()
    gc.collect()
    gc.disable()
    try:
        seconds = _timed_loop(case.op, case.reset, iterations)
    finally:
        gc.enable()
    return max(0.0, seconds / iterations - overhead) * 1e6


def measure_together(cases: Sequence[Case], budget: Budget) -> list[Timing]:
    """Time several cases with their repeats taken in turn (round-robin).

    Drift (another process, CPU frequency) then lands on all of them alike,
    and the i-th samples of two cases neighbouring in ``cases`` form a
    pair: what a comparison within a few percent needs.
    """
    overhead = timer_overhead()
    iterations = []
    for case in cases:
        with case.scope():
            for _ in range(budget.warmup):
                case.reset()
                case.op()
            iterations.append(_iterations_for(case, budget))
    samples: list[list[float]] = [[] for _ in cases]
    for _ in range(budget.repeats):
        for case, n, case_samples in zip(cases, iterations, samples):
            with case.scope():
                case_samples.append(_one_repeat(case, n, overhead, budget.rewarm))
    return [
        Timing(
            median_us=statistics.median(case_samples),
            low_us=min(case_samples),
            high_us=max(case_samples),
            iterations=n,
            repeats=budget.repeats,
            samples_us=case_samples,
        )
        for n, case_samples in zip(iterations, samples)
    ]


def measure(case: Case, budget: Budget) -> Timing:
    """Median microseconds of ``case.op`` over ``budget.repeats`` repeats."""
    return measure_together([case], budget)[0]
