"""What a run cost: CPU seconds of each process involved, and Redis commands.

On a machine whose cores are shared by the gunicorn workers, PostgreSQL,
Redis and wrk, requests/s is bounded by the CPU each request costs all of
them together; a profile of a worker alone cannot show what the database
server spends. The kernel's counters (``/proc/PID/stat``) give each
process's user + system time; wrk's comes from ``getrusage`` on this
process's finished children, as wrk is the only child that ends during a
measured run. Redis counts the commands it served (``INFO commandstats``),
whoever sent them: a cached page's round trips, as seen by the server.
"""

from __future__ import annotations

import itertools
import os
import resource
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

TICKS = os.sysconf("SC_CLK_TCK")
WRK = "wrk"
Finder = Callable[[], list[int]]


def _stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/PID/stat`` after the command name, or None once it has exited."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _cpu_seconds(pid: int) -> float:
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / TICKS if fields else 0.0  # utime, stime


def _processes() -> Iterator[tuple[int, list[str]]]:
    """(pid, argv) of every process."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            yield int(entry.name), [a.decode(errors="replace") for a in argv if a]


def _parents() -> dict[int, int]:
    """Every process's parent, from ``/proc`` (the kernel's own list)."""
    pids = (int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit())
    return {pid: int(fields[1]) for pid in pids if (fields := _stat(pid))}


def children(pid: int) -> list[int]:
    """The processes ``pid`` started (a gunicorn master's workers)."""
    return sorted(child for child, parent in _parents().items() if parent == pid)


def descendants(root: int) -> list[int]:
    """``root`` and every process below it."""
    parents = _parents()
    found, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        found += frontier
    return found


def postgres_finder(port: int) -> Finder:
    """The postmaster started with ``-p PORT`` and its backends (one per pooled connection)."""

    def find() -> list[int]:
        for pid, argv in _processes():
            if (
                argv
                and argv[0].endswith("postgres")
                and any(a == "-p" and b == str(port) for a, b in itertools.pairwise(argv))
            ):
                return descendants(pid)
        return []

    return find


def redis_finder(port: int) -> Finder:
    """The ``redis-server`` listening on ``PORT`` (it names its address in its process title)."""

    def find() -> list[int]:
        return [
            pid
            for pid, argv in _processes()
            if argv and argv[0].startswith("redis-server") and argv[0].strip().endswith(f":{port}")
        ]

    return find


def _children_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@contextmanager
def cpu_meter(finders: dict[str, Finder]) -> Iterator[dict[str, float]]:
    """CPU seconds spent by each group of processes during the block, and by wrk.

    The dict is filled when the block ends. A group's processes are looked
    up at both ends, so a process started during the block counts from zero.
    """
    spent: dict[str, float] = {}
    before = {name: {pid: _cpu_seconds(pid) for pid in find()} for name, find in finders.items()}
    children = _children_seconds()
    yield spent
    spent[WRK] = _children_seconds() - children
    for name, find in finders.items():
        now = {pid: _cpu_seconds(pid) for pid in find()}  # a process gone by now is lost: none should go
        spent[name] = sum(seconds - before[name].get(pid, 0.0) for pid, seconds in now.items())


def redis_commands(url: str) -> int:
    """Commands Redis has served since it started, ``INFO`` itself left out."""
    client = redis.Redis.from_url(url)
    try:
        stats = client.info("commandstats")
    finally:
        client.close()
    return sum(v["calls"] for name, v in stats.items() if name != "cmdstat_info")
