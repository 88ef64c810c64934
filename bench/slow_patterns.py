"""Hostile patterns under load: do normal pages stay fast while an attacker loops on the
patterns that used to take a worker down for a minute each?

``gunicorn -w 3`` serves the dashboard on PostgreSQL and Redis. The invalidation
log holds a few hundred entries and the cache some long keys, so the patterns have
something to chew on. Three ``wrk`` processes send the slow patterns of issue 10
(log filter, key browser, flush count) in a loop for the whole run, while a fourth
measures the normal pages, one after the other; then the same pages are measured
without the attack, for comparison. Writes ``slow_patterns.md``.

Run it with ``bash bench/run --slow-patterns`` (it starts its own PostgreSQL and Redis).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dashboard.extensions import db
from dashboard.models import User

from .http import environment, gunicorn, log_in, seed, site, wrk, wrk_command, wrk_summary
from .report import table

WORKERS, LOGGED_COMMITS, SECONDS, CONNECTIONS, P99_TARGET_MS = 3, 300, 20, 2, 200
SLOW = urllib.parse.quote("*?*?*?*?*?*?*?*?*?*?!")
ATTACKS = {
    "log filter": f"/admin/log/?key={SLOW}",
    "key browser": f"/admin/keys/?pattern={SLOW}",
    "flush count": f"/admin/keys/flush?pattern={SLOW}",
}
PAGES = {"demo listing": "/demo/", "admin user list": "/admin/user/", "dashboard front page": "/admin/"}


def prepare(database_url: str, redis_url: str) -> str:
    """Users, a full invalidation log and long cached keys, written on Redis by the app the server runs.

    Returns a logged-in session's cookie.
    """
    seed(database_url, redis_url)
    app = site(database_url, redis_url)
    with app.app_context():
        users = list(db.session.scalars(db.select(User)))
        for i in range(LOGGED_COMMITS):
            users[i % len(users)].views += 1
            db.session.commit()
        for i in range(20):  # listings under keys of some 200 characters
            User.cache.filter(email=f"{'a' * 180}{i}@example.org")
        db.session.remove()
    return log_in(app.test_client())


def ms(run: dict[str, Any], fields: tuple[str, ...] = ("p50_us", "p99_us")) -> list[str]:
    """wrk's latencies (µs) in ms."""
    return [f"{run[field] / 1000:.1f}" for field in fields]


def report(
    quiet: dict[str, Any], loaded: dict[str, Any], attacked: dict[str, Any], met: bool
) -> Iterator[str]:
    yield "# Hostile patterns under load\n"
    yield (
        f"`bash bench/run --slow-patterns`: gunicorn with {WORKERS} sync workers, PostgreSQL and Redis, "
        f"the HTTP bench's users, {LOGGED_COMMITS} logged commits and 20 cached keys of some 200 "
        f"characters; the slow pattern is `{urllib.parse.unquote(SLOW)}` (issue 10, item 1: over 60 s "
        f"per request before the linear matcher). Each page is measured for {SECONDS} s on {CONNECTIONS} "
        "connections with wrk, first alone, then while three more wrk loops send the slow pattern to the "
        "log filter, the key browser and the flush count (one connection each) for the whole run.\n"
    )
    yield "## Normal pages\n"
    rows = ([name, *ms(quiet[name]), *ms(loaded[name]), loaded[name]["errors"]] for name in PAGES)
    yield from table(
        "page | quiet p50 ms | quiet p99 ms | under attack p50 ms | under attack p99 ms | errors", rows
    )
    yield f"\nTarget: p99 under {P99_TARGET_MS} ms under attack: **{'met' if met else 'missed'}**.\n"
    yield "## The attack\n"
    rows = ([name, s["requests"], *ms(s, ("p50_us", "p99_us", "max_us"))] for name, s in attacked.items())
    yield from table("slow request | requests | p50 ms | p99 ms | max ms", rows)


def main(out: Path) -> int:
    """Run the load test and write ``out/slow_patterns.md``; 1 if the target is missed."""
    database_url, redis_url = os.environ["CACHE_TEST_DATABASE_URL"], os.environ["CACHE_TEST_REDIS_URL"]
    cookie = prepare(database_url, redis_url)
    env = environment(database_url, redis_url)
    with tempfile.TemporaryDirectory() as scratch, gunicorn(env, Path(scratch) / "log", WORKERS) as (base, _):
        quiet = {name: wrk(base + path, SECONDS, cookie, CONNECTIONS) for name, path in PAGES.items()}
        commands = [wrk_command(base + path, SECONDS * len(PAGES), cookie, 1) for path in ATTACKS.values()]
        attack = [subprocess.Popen(c, stdout=subprocess.PIPE, text=True) for c in commands]
        loaded = {name: wrk(base + path, SECONDS, cookie, CONNECTIONS) for name, path in PAGES.items()}
        attacked = {name: wrk_summary(p.communicate()[0]) for name, p in zip(ATTACKS, attack)}
    met = all(s["p99_us"] < P99_TARGET_MS * 1000 for s in loaded.values())
    text = "\n".join(report(quiet, loaded, attacked, met)) + "\n"
    (out / "slow_patterns.md").write_text(text)
    print(text)
    return 0 if met else 1
