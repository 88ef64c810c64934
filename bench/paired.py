"""Ratios timed in pairs: the two operations of a ratio alternate in one process.

This machine's cores change speed for seconds at a time: a plain Python
loop takes about 11 ms in one spell and 20 ms in the next, on either core.
pyperf times one benchmark after another, so a ratio of two of its medians
can be off by that factor when a spell lands on one side only (the 1,000,000
row warm page read 1.78x the 1,000 row one in a run where, alone in one
process, the two take the same time). Here the two sides run in short
chunks, alternately (A B B A, so a trend cancels too), and the ratio is the
median of the chunks' ratios: a spell slows both sides of the chunks it
covers. The report holds each ratio target to these paired ratios.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

Op = Callable[[], Any]
Within = Callable[[], AbstractContextManager[Any]]  # entered around each chunk of one side
CHUNK_SECONDS = 0.005  # short against a spell, long against the clock's resolution
CHUNKS, FEWEST, BUDGET = 81, 21, 15.0  # chunks wanted; past BUDGET seconds, FEWEST will do (a cold 1M page)


def ratio(
    top: tuple[Op, Op],
    bottom: tuple[Op, Op],
    chunks: int = CHUNKS,
    within: tuple[Within, Within] = (contextlib.nullcontext, contextlib.nullcontext),
) -> dict[str, float]:
    """``top``'s time over ``bottom``'s, each an ``(operation, untimed reset)``: the median of
    ``chunks`` paired chunks' ratios (fewer past the budget), with the quartiles (``low``,
    ``high``) to show the spread. ``within`` gives each side a context entered around its
    chunks, untimed (two apps' contexts, when the two sides read two databases)."""
    loops = []
    for side, enter in zip((top, bottom), within):
        with enter():
            loops.append(_loops(*side))
    ratios: list[float] = []
    ends = time.monotonic() + BUDGET
    for chunk in range(chunks):
        if len(ratios) >= FEWEST and time.monotonic() > ends:
            break
        seconds = [0.0, 0.0]
        for side in (0, 1) if chunk % 2 == 0 else (1, 0):
            with within[side]():
                seconds[side] = timed(loops[side], *(top, bottom)[side]) / loops[side]
        ratios.append(seconds[0] / seconds[1])
    low, median, high = statistics.quantiles(ratios, n=4)
    return {"ratio": median, "low": low, "high": high, "chunks": len(ratios)}


def _loops(operation: Op, reset: Op) -> int:
    """How many runs of ``operation`` take about :data:`CHUNK_SECONDS` (after a warm-up run)."""
    reset()
    operation()
    loops = 1
    while timed(loops, operation, reset) < CHUNK_SECONDS / 2 and loops < 1 << 16:
        loops *= 2
    return loops


def timed(loops: int, operation: Op, reset: Op) -> float:
    """Seconds ``loops`` runs of ``operation`` take in all, each after an untimed ``reset``."""
    total = 0.0
    for _ in range(loops):
        reset()
        started = time.perf_counter()
        operation()
        total += time.perf_counter() - started
    return total
