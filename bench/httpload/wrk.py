"""Driving a page with ``wrk`` and reading back what it measured.

``wrk`` runs in its own process (an event loop in C: it costs the two
shared cores far less than a Python client would), for a fixed time on a
fixed number of connections. Its totals come back through a ``done()``
hook (``summary.lua``) as one JSON line, so nothing is parsed from text
that wrk rounds for display.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).with_name("summary.lua")
MARKER = "WRK-SUMMARY "
THREADS = 1  # one event loop drives 8 connections to 4 sync workers; a second would take a core from them
TIMEOUT_SECONDS = 5  # a response slower than this counts as a timeout error
GRACE_SECONDS = 30  # beyond the run's duration, before wrk itself is considered stuck


@dataclass(frozen=True)
class WrkSummary:
    """One wrk run: completed requests, latencies (µs) and errors by kind."""

    requests: int
    duration_us: int
    bytes: int
    connect: int
    read: int
    write: int
    status: int  # responses with a status of 400 or more (wrk's "Non-2xx or 3xx responses")
    timeout: int
    p50_us: int
    p90_us: int
    p99_us: int
    max_us: int
    mean_us: float

    @property
    def requests_per_s(self) -> float:
        return self.requests / (self.duration_us / 1e6) if self.duration_us else 0.0

    @property
    def socket_errors(self) -> int:
        return self.connect + self.read + self.write + self.timeout

    @property
    def errors(self) -> int:
        return self.status + self.socket_errors

    @property
    def bytes_per_response(self) -> float:
        return self.bytes / self.requests if self.requests else 0.0


def available() -> bool:
    return shutil.which("wrk") is not None


def version() -> str:
    """``4.1.0-3+b2`` from ``wrk debian/4.1.0-3+b2 [epoll] ...`` (wrk has no --version: it prints usage)."""
    done = subprocess.run(["wrk", "-v"], capture_output=True, text=True, timeout=10, check=False)
    words = (done.stdout or done.stderr).split()
    return words[1].removeprefix("debian/") if len(words) > 1 else "unknown"


def wrk_command(url: str, seconds: int, connections: int, cookie: str | None = None) -> list[str]:
    """The wrk command line loading ``url`` for ``seconds`` on ``connections`` connections."""
    command = [
        "wrk", "--latency",
        "--threads", str(THREADS),
        "--connections", str(connections),
        "--duration", f"{seconds}s",
        "--timeout", f"{TIMEOUT_SECONDS}s",
        "--script", str(SCRIPT),
    ]  # fmt: skip
    if cookie:
        command += ["--header", f"Cookie: {cookie}"]
    return [*command, url]


def read_summary(stdout: str, stderr: str = "") -> WrkSummary:
    """The totals that ``summary.lua`` printed."""
    for line in stdout.splitlines():
        if line.startswith(MARKER):
            return WrkSummary(**json.loads(line.removeprefix(MARKER)))
    raise RuntimeError(f"wrk printed no summary:\n{stdout}\n{stderr}")


def run_wrk(url: str, seconds: int, connections: int, cookie: str | None = None) -> WrkSummary:
    """Load ``url`` for ``seconds`` on ``connections`` connections; the totals."""
    done = subprocess.run(
        wrk_command(url, seconds, connections, cookie),
        capture_output=True,
        text=True,
        timeout=seconds + GRACE_SECONDS,
        check=True,
    )
    return read_summary(done.stdout, done.stderr)
