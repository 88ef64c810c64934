"""The dashboard as it is deployed: seeded through its own helpers, served by gunicorn.

The data is made by the app's own code (``seed_users``, ``create_admin``)
so the pages render what a user of the demo would see, and the server is
the real ``dashboard:create_app()`` configured by the environment only,
as in production: ``CACHE_ENABLED=0`` is the one difference between the
two runs of a page.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import redis
from flask import Flask

from dashboard import create_app
from dashboard.auth import create_admin
from dashboard.commands import seed_users
from dashboard.extensions import db

from .costs import children

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 4
SECRET_KEY = "bench-http-secret"
ADMIN = ("bench-admin", "bench-admin-password")
START_SECONDS = 30.0
STOP_SECONDS = 30.0


@dataclass(frozen=True)
class Services:
    """The PostgreSQL and Redis servers that ``.ci/services.sh`` started."""

    database_url: str
    redis_url: str


def _app(services: Services) -> Flask:
    """The dashboard on the benchmark's database, in this process (its cache is irrelevant here)."""
    return create_app({"SQLALCHEMY_DATABASE_URI": services.database_url, "SECRET_KEY": SECRET_KEY})


def seed(services: Services, users: int) -> None:
    """Fresh tables with ``users`` demo users and one admin, and an empty Redis database.

    Runs in this process, through ``create_app``, as ``flask seed`` and
    ``flask create-admin`` would. The names are random in the app's helper;
    a fixed seed makes every run render the same pages.
    """
    random.seed(0)
    with _app(services).app_context():
        db.drop_all()
        db.create_all()
        seed_users(users)
        create_admin(db, *ADMIN)
        db.session.remove()
        db.engine.dispose()
    flush_redis(services)


def flush_redis(services: Services) -> None:
    """Empty the cache (and the stats), so a run starts cold and warms up for itself."""
    client = redis.Redis.from_url(services.redis_url)
    try:
        client.flushdb()
    finally:
        client.close()


def drop_tables(services: Services) -> None:
    """Leave the database as the library benchmarks leave it: no tables."""
    with _app(services).app_context():
        db.drop_all()
        db.engine.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """``gunicorn -w 4 dashboard:create_app()`` on a free loopback port, for a ``with`` block.

    Sync workers, as ``tests/test_gunicorn.py`` runs them: one request at a
    time per process, so four workers are the concurrency. The server's
    log goes to ``log_path`` to diagnose a failed start.
    """

    def __init__(self, services: Services, cache: bool, log_path: Path, workers: int = WORKERS) -> None:
        self.port = free_port()
        self.workers_wanted = workers
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.env = {
            **os.environ,
            "DATABASE_URL": services.database_url,
            "CACHE_REDIS_URL": services.redis_url,
            "SECRET_KEY": SECRET_KEY,
            "CACHE_ENABLED": "1" if cache else "0",
            "DEMO_PUBLIC": "1",  # the demo listing is measured as a visitor's page, as before
        }
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Gunicorn:
        command = [
            sys.executable, "-m", "gunicorn",
            "--workers", str(self.workers_wanted),
            "--bind", f"127.0.0.1:{self.port}",
            "--error-logfile", str(self.log_path),
            "--log-level", "warning",
            "dashboard:create_app()",
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            self._wait_until_serving()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def workers(self) -> list[int]:
        """The worker processes' ids (children of the master)."""
        return children(self.process.pid) if self.process else []

    def stop(self) -> None:
        """SIGTERM to the master (it stops its workers), SIGKILL if it is still there after a while."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=STOP_SECONDS)

    def _wait_until_serving(self) -> None:
        """Until every worker has booted and one of them answers ``/admin/login``."""
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                break
            if len(self.workers()) == self.workers_wanted and self._answers():
                return
            time.sleep(0.2)
        log = self.log_path.read_text() if self.log_path.exists() else ""
        raise RuntimeError(f"gunicorn did not start within {START_SECONDS:.0f} s:\n{log[-2000:]}")

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/admin/login", timeout=5) as response:
                return response.status == 200
        except (OSError, urllib.error.HTTPError):
            return False
