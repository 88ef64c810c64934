"""What the run ran on and what it measured: the facts that make a report comparable.

Only read-only git commands are used (the work tree is shared with other
work in progress): the commit, and whether ``caching/`` differed from it,
which says whether the numbers belong to that commit.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from dataclasses import dataclass
from importlib.metadata import version

PACKAGES = ("SQLAlchemy", "Flask-SQLAlchemy", "dogpile.cache", "redis", "psycopg", "Flask-Caching", "msgpack")


@dataclass
class Machine:
    cores: int
    cpu: str
    python: str
    system: str
    packages: dict[str, str]
    servers: dict[str, str]
    commit: str
    library_dirty: bool
    load: tuple[float, float, float]


def _run(*command: str) -> str:
    if shutil.which(command[0]) is None:
        return ""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip()


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _servers() -> dict[str, str]:
    servers = {}
    redis = _run("redis-server", "--version").split()
    if len(redis) > 2:
        servers["Redis"] = redis[2].removeprefix("v=")
    postgres = _run("psql", "--version").split()  # psql (PostgreSQL) 15.18 (Debian ...)
    if len(postgres) > 2:
        servers["PostgreSQL"] = postgres[2]
    return servers


def _library_dirty() -> bool:
    """Whether ``caching/`` differs from HEAD (changed or new files): read-only git only."""
    if shutil.which("git") is None:
        return False
    changed = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", "caching"], check=False).returncode == 1
    return changed or bool(_run("git", "ls-files", "--others", "--exclude-standard", "caching"))


def describe() -> Machine:
    """The machine, the versions and the commit of this run."""
    return Machine(
        cores=len(os.sched_getaffinity(0)),  # what nproc prints
        cpu=_cpu(),
        python=platform.python_version(),
        system=f"{platform.system()} {platform.release()}",
        packages={name: version(name) for name in PACKAGES},
        servers=_servers(),
        commit=_run("git", "rev-parse", "--short", "HEAD") or "unknown",
        library_dirty=_library_dirty(),
        load=os.getloadavg(),
    )
