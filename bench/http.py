"""The dashboard under gunicorn and wrk: requests/s, CPU per request, and a modelled latency.

    python -m bench --http-only [--quick]     # needs the servers bench/run starts, and wrk

Two ``gunicorn -w 4 dashboard:create_app()`` serve the same seeded
PostgreSQL database, one with the cache on Redis and one with
``CACHE_ENABLED=0``. Each page is checked (a 200, not a redirect to the
login page), warmed on both, then loaded by ``wrk`` (one thread, 8
connections; ``wrk.lua`` prints its totals as one JSON line) in rounds, the
modes taking turns so that other work on the machine lands on both alike.
The documented equivalent by hand::

    wrk --latency -t1 -c8 -d5s -s bench/wrk.lua -H "Cookie: session=..." http://127.0.0.1:PORT/demo/

CPU per request is what every process on the shared cores spent (psutil:
the gunicorn master and workers, PostgreSQL's backends, Redis, and wrk,
a child of this process) over the requests served. Each page's warm view
is also counted exactly in process (``bench.counts.warm_view``), and its
latency modelled where the database and Redis are on other hosts: CPU +
SQL statements x database round trip + cache calls x Redis round trip.
For ``/demo/addresses/``, a profile in process splits each mode's request
into reading the data and the rest (Flask, the template): what no cache can
take away bounds how much faster the page can get.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import psutil
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.orm.attributes import set_committed_value

from dashboard import create_app
from dashboard.auth import create_admin
from dashboard.commands import seed_users
from dashboard.extensions import caching, db
from dashboard.models import Address, User
from dashboard.views.demo import users_and_addresses

from . import paired
from .counts import warm_view
from .library import attach_floor, table_rows
from .profile import shares

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(__file__).with_name("wrk.lua")
WORKERS, CONNECTIONS, USERS = 4, 8, 100
SECRET_KEY = "bench-http-secret"
ADMIN = ("bench-admin", "bench-admin-password")
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
PAGES = {  # path: what it reads
    "/demo/": "every user, `User.cache.filter()`",
    "/demo/users/7/": "one user, `User.cache.get(7)`",
    "/demo/addresses/": "every user and their addresses (`selectinload`; with `FromCache`, one entry)",
    "/admin/user/": "a page of 20 and its count, `User.cache.window(offset, limit)`",
    "/admin/user/?search=a&sort=1": "a search sorted by email, and its count, `FromCache`",
    "/admin/user/edit/?id=7": "a user's form, its addresses and choices",
}
ROUND_TRIPS_MS = (0.2, 0.5, 1.0)
PROFILED = "/demo/addresses/"
READING = (  # (file, function): a request's reads are its view minus its rendering, plus the lazy loads
    ("flask/app.py", "dispatch_request", 1),
    ("flask/templating.py", "render_template", -1),
    ("sqlalchemy/orm/attributes.py", "_fire_loader_callables", 1),
)


def environment(database_url: str, redis_url: str, cache: bool = True) -> dict[str, str]:
    """The dashboard's settings as gunicorn's workers read them, from the environment (its config.py)."""
    return {"DATABASE_URL": database_url, "CACHE_REDIS_URL": redis_url, "SECRET_KEY": SECRET_KEY,
            "CACHE_ENABLED": "1" if cache else "0", "DEMO_PUBLIC": "1"}  # fmt: skip


def site(database_url: str, redis_url: str, cache: bool = True) -> Flask:
    """The app gunicorn serves, in this process: built from the same environment, which is then restored."""
    with mock.patch.dict(os.environ, environment(database_url, redis_url, cache)):
        return create_app()


def seed(database_url: str, redis_url: str) -> None:
    """Fresh tables with USERS demo users (a fixed random seed: the same pages every run) and the admin."""
    random.seed(0)
    with site(database_url, redis_url).app_context():
        db.drop_all()
        db.create_all()
        seed_users(USERS)
        create_admin(db, *ADMIN)
        db.session.remove()
        db.engine.dispose()
    redis.Redis.from_url(redis_url).flushdb()


@contextmanager
def gunicorn(env: dict[str, str], log: Path, workers: int = WORKERS) -> Iterator[tuple[str, psutil.Process]]:
    """A gunicorn on a free port, until every worker answers; (base URL, its master process)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}",
               "--error-logfile", str(log), "dashboard:create_app()"]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env})
    base = f"http://127.0.0.1:{port}"
    try:
        master = psutil.Process(process.pid)
        for _ in range(150):
            if len(master.children()) == workers and _answers(f"{base}/admin/login"):
                break
            time.sleep(0.2)
        else:
            raise RuntimeError(f"gunicorn did not start:\n{log.read_text()[-2000:]}")
        yield base, master
    finally:
        process.terminate()
        process.wait(timeout=30)


def _answers(url: str, cookie: str = "") -> bool:
    """Whether a GET of ``url`` answers 200 itself, not through a redirect (to the login page, say)."""
    request = urllib.request.Request(url, headers={"Cookie": cookie})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status == 200 and response.url == url
    except OSError:  # no answer, or an HTTP error
        return False


def log_in(client: FlaskClient) -> str:
    """Log the test client in through the form, CSRF token included; its session cookie, for wrk.

    The cookie is valid on every server of the same database and secret.
    """
    token = CSRF.search(client.get("/admin/login").get_data(as_text=True))
    form = {"username": ADMIN[0], "password": ADMIN[1], "csrf_token": token.group(1) if token else ""}
    if client.post("/admin/login", data=form).status_code != 302:
        raise RuntimeError("logging in failed")
    cookie = client.get_cookie("session")
    assert cookie is not None
    return f"session={cookie.value}"


def wrk_command(url: str, seconds: int, cookie: str, connections: int = CONNECTIONS) -> list[str]:
    """The documented wrk run: its totals come back as one JSON line (``wrk.lua``)."""
    return ["wrk", "--latency", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s",
            "-s", str(SCRIPT), "-H", f"Cookie: {cookie}", url]  # fmt: skip


def wrk_summary(stdout: str) -> dict[str, Any]:
    """Requests, duration_us, latencies in µs and errors by kind, from ``wrk.lua``'s line."""
    return json.loads(stdout.split("WRK-SUMMARY ", 1)[1].splitlines()[0])


def wrk(url: str, seconds: int, cookie: str, connections: int = CONNECTIONS) -> dict[str, Any]:
    """One wrk run's totals."""
    command = wrk_command(url, seconds, cookie, connections)
    return wrk_summary(subprocess.run(command, capture_output=True, text=True, check=True).stdout)


def _servers(app: Flask, client: redis.Redis) -> tuple[psutil.Process, psutil.Process]:
    """redis-server and PostgreSQL's postmaster (the backends are its children), by the pids they give."""
    with app.app_context():
        backend = db.session.scalar(text("SELECT pg_backend_pid()"))
    return psutil.Process(client.info("server")["process_id"]), psutil.Process(backend).parent()


def _cpu(processes: list[psutil.Process]) -> dict[int, float]:
    """CPU seconds so far by pid: ``processes``, and (as pid 0) this process's children that ended, wrk."""
    own = psutil.Process().cpu_times()
    seconds = {0: own.children_user + own.children_system}
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = process.cpu_times()
            seconds[process.pid] = times.user + times.system
    return seconds


def _commands(client: redis.Redis) -> int:
    return sum(v["calls"] for k, v in client.info("commandstats").items() if k != "cmdstat_info")


def run(output: Path, quick: bool) -> None:
    """Every page in both modes, on the servers bench/run starts, into ``output`` (JSON): wrk's rounds,
    CPU and Redis commands per request, exact counts.

    The exact counts come from an app of each mode in this process, logged in
    once (the dashboard limits logins per minute); wrk sends the first one's cookie.
    """
    database_url, redis_url = os.environ["CACHE_TEST_DATABASE_URL"], os.environ["CACHE_TEST_REDIS_URL"]
    seconds, rounds, warmup = (2, 1, 1) if quick else (5, 3, 3)
    seed(database_url, redis_url)
    apps = {mode: site(database_url, redis_url, mode == "on") for mode in ("on", "off")}
    clients = {mode: app.test_client() for mode, app in apps.items()}
    cookie, _ = log_in(clients["on"]), log_in(clients["off"])
    client = redis.Redis.from_url(redis_url)
    redis_server, postmaster = _servers(apps["off"], client)
    pages: dict[str, Any] = {}
    with (
        tempfile.TemporaryDirectory(prefix="bench-http-") as logs,  # gunicorn's logs, read on failure
        gunicorn(environment(database_url, redis_url, True), Path(logs, "on.log")) as on,
        gunicorn(environment(database_url, redis_url, False), Path(logs, "off.log")) as off,
    ):
        servers = {"on": on, "off": off}
        for path in PAGES:
            runs: dict[str, list[dict[str, Any]]] = {mode: [] for mode in servers}
            for mode, (base, _) in servers.items():
                if not _answers(base + path, cookie):
                    raise RuntimeError(f"{path} ({mode}) does not answer 200")
                wrk(base + path, warmup, cookie)  # unmeasured: fills the cache
            for _ in range(rounds):
                for mode, (base, master) in servers.items():
                    processes = [master, *master.children(), redis_server, postmaster, *postmaster.children()]
                    before, commands = _cpu(processes), _commands(client)
                    totals = wrk(base + path, seconds, cookie)
                    after = _cpu(processes)
                    totals["cpu_s"] = sum(after[p] - before.get(p, after[p]) for p in after)
                    runs[mode].append(totals | {"redis": _commands(client) - commands})
            pages[path] = {}
            for mode, results in runs.items():
                with apps[mode].app_context():
                    counts = warm_view(clients[mode], path, db.engine, [caching.regions["default"]])
                r = pages[path][mode] = _summary(results) | {"sql": counts.sql, "calls": counts.calls}
                if path == PROFILED:
                    r["read_share"] = read_share(clients[mode], path)
                    if mode == "on":
                        r["attach_share"] = attach_share(apps[mode])["ratio"]
                print(f"  {path:<30} {mode:<3} {r['requests_per_s']:7.0f} req/s  {r['cpu_ms']:.2f} ms CPU")
    result = {"cores": psutil.cpu_count(), "workers": WORKERS, "connections": CONNECTIONS, "users": USERS,
              "seconds": seconds, "rounds": rounds, "pages": pages}  # fmt: skip
    output.write_text(json.dumps(result, indent=1))


def attach_share(app: Flask) -> dict[str, float]:
    """The profiled page's floor (:func:`page_floor`) over its cached read, timed in pairs
    (:mod:`bench.paired`): whatever a cache stores, a read that gives these objects pays this."""
    with app.app_context():
        floor = functools.partial(page_floor, table_rows(User), table_rows(Address))
        expunge = db.session.expunge_all
        return paired.ratio((floor, expunge), (users_and_addresses, expunge))


def page_floor(users: list[dict[str, Any]], addresses: list[dict[str, Any]]) -> list[User]:
    """The profiled page's users with their addresses from their rows, as the ORM's loader builds
    them (:func:`bench.library.attach_floor`), each user's collection set: no cache's bookkeeping."""
    owned = defaultdict(list)
    for address in attach_floor(addresses, Address):
        owned[address.user_id].append(address)
    objects = attach_floor(users)
    for user in objects:
        set_committed_value(user, "addresses", owned[user.id])
    return objects


def read_share(client: FlaskClient, path: str, requests: int = 50) -> float:
    """The share of a warm request's profiled time spent reading its data: the view's own
    work outside the template, and the lazy loads the template sets off."""
    for _ in range(3):
        client.get(path)
    return shares(lambda: client.get(path), {"reading": READING}, requests)["reading"]


def _summary(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    requests = sum(r["requests"] for r in rounds)
    return {
        "rounds": rounds,
        "requests": requests,
        "requests_per_s": statistics.median(r["requests"] / r["duration_us"] * 1e6 for r in rounds),
        "p50_ms": statistics.median(r["p50_us"] for r in rounds) / 1e3,
        "p99_ms": statistics.median(r["p99_us"] for r in rounds) / 1e3,
        "errors": sum(r["errors"] for r in rounds),
        "cpu_ms": sum(r["cpu_s"] for r in rounds) / requests * 1e3 if requests else 0.0,
        "redis_per_request": sum(r["redis"] for r in rounds) / requests if requests else 0.0,
    }


def modelled_ms(run: dict[str, Any], round_trip_ms: float) -> float:
    """A page's latency with PostgreSQL and Redis ``round_trip_ms`` away."""
    return run["cpu_ms"] + (run["sql"] + run["calls"]) * round_trip_ms
