"""What the HTTP part measures, and how the report, the targets and the plot read it.

A page is measured in rounds, the cache on and off taking turns (see
``runner``): the median round is reported, as the library's harness
reports the median repeat, so a burst of other work on the machine moves
one round rather than one mode. Counts (requests, errors, CPU, Redis
commands) are totals over the rounds.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field

from .costs import WRK
from .spy import WorkerProfile
from .wrk import WrkSummary

WORKER = "gunicorn"
POSTGRES = "PostgreSQL"
REDIS = "Redis"
PROCESSES = (WORKER, POSTGRES, REDIS, WRK)
"""The processes whose CPU a request costs, all on the same cores."""


@dataclass(frozen=True)
class Page:
    """A page under load: its path, what it reads, and whether it needs the admin's cookie."""

    name: str
    path: str
    reads: str
    login: bool


PAGES = (
    Page("demo listing", "/demo/", "every user, `User.cache.filter()`", login=False),
    Page("demo user", "/demo/users/7/", "one user, `User.cache.get(7)`", login=True),
    Page(
        "users with addresses",
        "/demo/addresses/",
        "every user (`FromCache`, `selectinload` without the cache) and `user.addresses` through the cache",
        login=True,
    ),
    Page(
        "admin list",
        "/admin/user/",
        "a page of 20, `User.cache.filter(offset, limit)` and `User.cache.count()`",
        login=True,
    ),
    Page(
        "admin search",
        "/admin/user/?search=a&sort=1",
        "a search sorted by email, and its count, `FromCache`",
        login=True,
    ),
    Page("admin edit", "/admin/user/edit/?id=7", "a user's form, its addresses and choices", login=True),
)


@dataclass(frozen=True)
class HttpBudget:
    """How long each wrk run lasts (whole seconds, as wrk takes them) and how hard it pushes."""

    seconds: int = 5
    rounds: int = 3  # per page and mode: 15 s of load each, in turns with the other mode
    warmup: int = 3
    profile_seconds: int = 6
    connections: int = 8  # two per worker: one request served, one waiting, on each
    users: int = 100

    @classmethod
    def quick(cls) -> HttpBudget:
        return cls(seconds=2, rounds=1, warmup=1, profile_seconds=2)


@dataclass
class PageRun:
    """One page in one mode: wrk's rounds, what they cost, where a worker's time went."""

    page: Page
    cache: bool
    rounds: list[WrkSummary] = field(default_factory=list)
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    redis_commands: int = 0
    profile: WorkerProfile | None = None
    sql_per_view: int | None = None  # warm, exact (see counts.py)
    calls_per_view: int | None = None

    def modelled_ms(self, round_trip_ms: float) -> float | None:
        """Latency with the database and Redis ``round_trip_ms`` away: CPU + round trips."""
        if self.sql_per_view is None or self.calls_per_view is None:
            return None
        return self.total_cpu_ms + (self.sql_per_view + self.calls_per_view) * round_trip_ms

    @property
    def mode(self) -> str:
        return "caching on" if self.cache else "caching off"

    def add(self, summary: WrkSummary, cpu_seconds: dict[str, float], redis_commands: int) -> None:
        """One more measured round."""
        self.rounds.append(summary)
        for process, seconds in cpu_seconds.items():
            self.cpu_seconds[process] = self.cpu_seconds.get(process, 0.0) + seconds
        self.redis_commands += redis_commands

    def _median(self, value: Callable[[WrkSummary], float]) -> float:
        return statistics.median(value(r) for r in self.rounds) if self.rounds else 0.0

    @property
    def requests_per_s(self) -> float:
        return self._median(lambda r: r.requests_per_s)

    @property
    def requests_per_s_range(self) -> tuple[float, float]:
        rates = [r.requests_per_s for r in self.rounds] or [0.0]
        return min(rates), max(rates)

    @property
    def p50_ms(self) -> float:
        return self._median(lambda r: r.p50_us) / 1e3

    @property
    def p99_ms(self) -> float:
        return self._median(lambda r: r.p99_us) / 1e3

    @property
    def requests(self) -> int:
        return sum(r.requests for r in self.rounds)

    @property
    def status_errors(self) -> int:
        return sum(r.status for r in self.rounds)

    @property
    def socket_errors(self) -> int:
        return sum(r.socket_errors for r in self.rounds)

    @property
    def errors(self) -> int:
        return self.status_errors + self.socket_errors

    @property
    def bytes_per_response(self) -> float:
        return sum(r.bytes for r in self.rounds) / self.requests if self.requests else 0.0

    def cpu_ms(self, process: str) -> float | None:
        """CPU milliseconds per request spent by ``process``; None if it was not found."""
        if process not in self.cpu_seconds or not self.requests:
            return None
        return self.cpu_seconds[process] / self.requests * 1e3

    @property
    def total_cpu_ms(self) -> float:
        return sum(self.cpu_ms(p) or 0.0 for p in PROCESSES)

    @property
    def redis_per_request(self) -> float:
        return self.redis_commands / self.requests if self.requests else 0.0


@dataclass
class HttpRun:
    """Everything the HTTP part measured, for the report, the targets and the plot."""

    budget: HttpBudget
    cores: int
    runs: list[PageRun] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)

    def find(self, page: Page, cache: bool) -> PageRun | None:
        return next((r for r in self.runs if r.page == page and r.cache == cache), None)

    def ratio(self, page: Page) -> float | None:
        """Requests/s with the cache ÷ without: how much faster the cache makes the page."""
        on, off = self.find(page, True), self.find(page, False)
        if on is None or off is None or not off.requests_per_s:
            return None
        return on.requests_per_s / off.requests_per_s
