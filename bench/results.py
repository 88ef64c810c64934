"""What a run measured, and how the report, the targets and the plot look it up."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from .counting import Counts
from .harness import Timing


@dataclass
class Result:
    """One case measured in one setup."""

    setup: str
    group: str
    impl: str
    variant: str
    kind: str
    timing: Timing
    counts: Counts

    @property
    def label(self) -> str:
        return f"{self.impl} ({self.variant})" if self.variant else self.impl


class Results:
    """All results of a run, in the order they were measured."""

    def __init__(self, results: Iterable[Result]) -> None:
        self.all = list(results)

    def __iter__(self) -> Iterator[Result]:
        return iter(self.all)

    def setups(self) -> list[str]:
        return list(dict.fromkeys(r.setup for r in self.all))

    def labels(self, group: str) -> list[str]:
        """Row labels of a group: the no-cache baseline, the library, rivals, then floors."""
        rank = {"rival": 2, "library": 1, "floor": 3}
        rows = [r for r in self.all if r.group == group]
        ordered = sorted(rows, key=lambda r: (r.impl != "no cache", rank.get(r.kind, 9)))
        return list(dict.fromkeys(r.label for r in ordered))

    def find(self, setup: str, group: str, impl: str, variant: str = "") -> Result | None:
        for r in self.all:
            if (r.setup, r.group, r.impl, r.variant) == (setup, group, impl, variant):
                return r
        return None

    def by_label(self, setup: str, group: str, label: str) -> Result | None:
        for r in self.all:
            if (r.setup, r.group, r.label) == (setup, group, label):
                return r
        return None

    def baseline(self, setup: str, group: str) -> Result | None:
        """The no-cache result of a group: what the ratios of its rows are taken against."""
        return self.find(setup, group, "no cache")
