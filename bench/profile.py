"""Where an operation's time goes: each part's share of its profiled time.

A part is named by the functions that make it, their cumulative times added
(or taken off: a view less its template). cProfile slows Python more than
C, so a share says where the time goes, not how long it takes: the timings
are pyperf's and wrk's. The report uses the shares to say why a target is
missed.
"""

from __future__ import annotations

import cProfile
import pstats
from collections.abc import Callable, Mapping, Sequence
from typing import Any

Part = Sequence[tuple[str, str, int]]  # (the file's path ends with, function, +1 added or -1 taken off)


def shares(
    operation: Callable[[], Any],
    parts: Mapping[str, Part],
    repeats: int,
    reset: Callable[[], Any] = lambda: None,
) -> dict[str, float]:
    """Each part's share of ``operation``'s profiled time over ``repeats`` runs (``reset``,
    unprofiled, before each)."""
    profile = cProfile.Profile()
    for _ in range(repeats):
        reset()
        profile.runcall(operation)
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    total = sum(timing[2] for timing in stats.values())  # every function's own time

    def cumulative(part: Part) -> float:
        return sum(
            sign * timing[3]
            for (filename, _, function), timing in stats.items()
            for suffix, name, sign in part
            if function == name and filename.endswith(suffix)
        )

    return {name: cumulative(part) / total for name, part in parts.items()}
