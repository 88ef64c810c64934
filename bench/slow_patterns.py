"""Hostile patterns under load: do normal pages stay fast while an attacker loops on the
patterns that used to take a worker down for a minute each?

``gunicorn -w 3`` serves the dashboard on PostgreSQL and Redis. The invalidation
log holds a few hundred entries and the cache some long keys, so the patterns have
something to chew on. Three ``wrk`` processes send the slow patterns of issue 10
(log filter, key browser, flush count) in a loop for the whole run, while a fourth
measures the normal pages, one after the other; then the same pages are measured
without the attack, for comparison. Writes ``docs/benchmarks/slow_patterns.md``.

Run it with ``bash bench/slow_patterns.sh`` (it starts its own PostgreSQL and Redis).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import urllib.parse
from pathlib import Path

from dashboard import create_app
from dashboard.extensions import db
from dashboard.models import User

from .httpload import client, server, wrk

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "docs" / "benchmarks" / "slow_patterns.md"
WORKERS = 3
USERS = 200
LOGGED_COMMITS = 300
SLOW = "*?*?*?*?*?*?*?*?*?*?!"
ATTACKS = {
    "log filter": "/admin/log/?key=" + urllib.parse.quote(SLOW),
    "key browser": "/admin/keys/?pattern=" + urllib.parse.quote(SLOW),
    "flush count": "/admin/keys/flush?pattern=" + urllib.parse.quote(SLOW),
}
PAGES = {"demo listing": "/demo/", "admin user list": "/admin/user/", "dashboard front page": "/admin/"}
SECONDS = 20
CONNECTIONS = 2
P99_TARGET_MS = 200


def prepare(services: server.Services) -> None:
    """Users, a full invalidation log and long cached keys, written by the app itself."""
    server.seed(services, USERS)
    env = {"DATABASE_URL": services.database_url, "CACHE_REDIS_URL": services.redis_url}
    os.environ.update(env)
    app = create_app({"SECRET_KEY": server.SECRET_KEY})
    with app.app_context():
        users = list(db.session.scalars(db.select(User)))
        for i in range(LOGGED_COMMITS):
            users[i % len(users)].views += 1
            db.session.commit()
        for i in range(20):  # listings under keys of some 200 characters
            User.cache.filter(email=f"{'a' * 180}{i}@example.org")
        db.session.remove()
        db.engine.dispose()


def attackers(base_url: str, cookie: str, seconds: int) -> list[subprocess.Popen[str]]:
    """One wrk loop per slow pattern, one connection each, for ``seconds``."""
    return [
        subprocess.Popen(
            wrk.wrk_command(base_url + path, seconds, 1, cookie),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for path in ATTACKS.values()
    ]


def summary_of(process: subprocess.Popen[str]) -> wrk.WrkSummary:
    out, err = process.communicate(timeout=SECONDS * len(PAGES) + wrk.GRACE_SECONDS)
    return wrk.read_summary(out, err)


def measure(base_url: str, cookie: str) -> dict[str, wrk.WrkSummary]:
    return {name: wrk.run_wrk(base_url + path, SECONDS, CONNECTIONS, cookie) for name, path in PAGES.items()}


def main() -> int:
    services = server.Services(os.environ["CACHE_TEST_DATABASE_URL"], os.environ["CACHE_TEST_REDIS_URL"])
    prepare(services)
    with (
        tempfile.TemporaryDirectory() as scratch,
        server.Gunicorn(
            services, cache=True, log_path=Path(scratch) / "gunicorn.log", workers=WORKERS
        ) as gunicorn,
    ):
        cookie = client.log_in(gunicorn.base_url, *server.ADMIN)
        for name, path in ATTACKS.items():
            status, _ = client.fetch(gunicorn.base_url + path, cookie)
            assert status == 200, f"{name}: HTTP {status}"
        quiet = measure(gunicorn.base_url, cookie)
        attack = attackers(gunicorn.base_url, cookie, SECONDS * len(PAGES))
        loaded = measure(gunicorn.base_url, cookie)
        attacked = {name: summary_of(process) for name, process in zip(ATTACKS, attack)}
    REPORT.write_text(report(quiet, loaded, attacked))
    print(REPORT.read_text())
    return 0 if all(s.p99_us < P99_TARGET_MS * 1000 and not s.errors for s in loaded.values()) else 1


def ms(microseconds: int) -> str:
    return f"{microseconds / 1000:.1f}"


def report(
    quiet: dict[str, wrk.WrkSummary], loaded: dict[str, wrk.WrkSummary], attacked: dict[str, wrk.WrkSummary]
) -> str:
    lines = [
        "# Hostile patterns under load",
        "",
        f"`bash bench/slow_patterns.sh`: gunicorn with {WORKERS} sync workers, PostgreSQL and Redis, "
        f"{USERS} users, {LOGGED_COMMITS} logged commits and 20 cached keys of some 200 characters; "
        f"the slow pattern is `{SLOW}` (issue 10, item 1: over 60 s per request before the linear "
        f"matcher). Each page is measured for {SECONDS} s on {CONNECTIONS} connections with wrk, "
        "first alone, then while three more wrk loops send the slow pattern to the log filter, the "
        "key browser and the flush count (one connection each) for the whole run. Machine: 2 shared cores.",
        "",
        "## Normal pages",
        "",
        "| page | quiet p50 ms | quiet p99 ms | under attack p50 ms | under attack p99 ms | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in PAGES:
        q, a = quiet[name], loaded[name]
        lines.append(
            f"| {name} | {ms(q.p50_us)} | {ms(q.p99_us)} | {ms(a.p50_us)} | {ms(a.p99_us)} | {a.errors} |"
        )
    verdict = all(s.p99_us < P99_TARGET_MS * 1000 for s in loaded.values())
    lines += [
        "",
        f"Target: p99 under {P99_TARGET_MS} ms under attack: **{'met' if verdict else 'missed'}**.",
        "",
        "## The attack",
        "",
        "| slow request | requests | per second | p50 ms | p99 ms | max ms | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, s in attacked.items():
        lines.append(
            f"| {name} | {s.requests} | {s.requests_per_s:.0f} | {ms(s.p50_us)} | {ms(s.p99_us)} | "
            f"{ms(s.max_us)} | {s.errors} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
