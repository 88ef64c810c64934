"""What the dashboard's front page costs as the cache grows: 10 000 keys against 1 000 000.

    python -m bench.front_page

Starts a private ``redis-server``, fills the cache's namespace with
``DEBUG POPULATE`` (keys shaped as a model's, ``caching:user@<fp>:user.id:<n>``),
and renders the front page, logged in, ``PAGES`` times at each size: the
median time per page, and the Redis commands it sends, counted exactly by
Redis (``INFO commandstats`` after ``CONFIG RESETSTAT``). For contrast it
times, once per size, what the page did before: counting the namespace with
``SCAN``. Writes ``docs/benchmarks/front_page.md``.
"""

from __future__ import annotations

import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "benchmarks" / "front_page.md"
SIZES = (10_000, 1_000_000)
PAGES = 30
LIMIT = 1.5  # the 1M page may cost at most this many times the 10k page


def _redis() -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    executable = shutil.which("redis-server")
    if executable is None:
        raise SystemExit("redis-server is not installed")
    debug = ("--enable-debug-command", "yes")  # DEBUG POPULATE: a million keys in a second
    process = subprocess.Popen(
        [executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "", *debug],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    import redis

    for _ in range(100):
        try:
            redis.Redis.from_url(url).ping()
            return process, url
        except redis.ConnectionError:
            time.sleep(0.05)
    raise SystemExit("redis-server did not start")


def _commands(client: Any) -> dict[str, int]:
    """Commands Redis ran since the last ``CONFIG RESETSTAT``, by name (the counting calls aside)."""
    stats = client.info("commandstats")
    counts = {name.removeprefix("cmdstat_"): value["calls"] for name, value in stats.items()}
    return {name: calls for name, calls in counts.items() if not name.startswith("config")}


def measure(url: str, workdir: str) -> list[dict[str, Any]]:
    import redis

    from caching.mapping import info_for
    from dashboard import create_app
    from dashboard.auth import create_admin
    from dashboard.browse import count_matching
    from dashboard.extensions import caching, db
    from dashboard.models import User
    from tests.dashboard_helpers import ADMIN, log_in

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir}/bench.db",
            "SECRET_KEY": "bench",
            "CACHE_REGIONS": {"default": {"backend": "dogpile.cache.redis", "arguments": {"url": url}}},
        }
    )
    client = redis.Redis.from_url(url)
    with app.app_context():
        db.create_all()
        create_admin(db, *ADMIN)
        prefix = f"caching:user@{info_for(User).fingerprint}:user.id"
    browser = app.test_client()
    assert log_in(browser).status_code == 302
    rows = []
    for size in SIZES:
        client.execute_command("DEBUG", "POPULATE", size, prefix, 20)  # keys <prefix>:0 to :size-1
        browser.get("/admin/")  # warm: templates compiled, connections open
        times = []
        client.config_resetstat()
        for _ in range(PAGES):
            started = time.perf_counter()
            response = browser.get("/admin/")
            times.append(time.perf_counter() - started)
            assert response.status_code == 200
        commands = _commands(client)
        shown = response.get_data(as_text=True).split('class="text-right region-keys">')[1].split("<")[0]
        with app.app_context():
            started = time.perf_counter()
            scanned = count_matching(caching.state(), "default", "*")
            scan_seconds = time.perf_counter() - started
        rows.append(
            {
                "size": client.dbsize(),
                "median_ms": 1000 * statistics.median(times),
                "commands": {name: calls / PAGES for name, calls in sorted(commands.items())},
                "shown": shown,
                "scanned": scanned,
                "scan_ms": 1000 * scan_seconds,
            }
        )
    return rows


def report(rows: list[dict[str, Any]]) -> str:
    small, large = rows[0], rows[-1]
    ratio = large["median_ms"] / small["median_ms"]
    lines = [
        "# What the front page costs as the cache grows",
        "",
        f"`python -m bench.front_page` (see its docstring): the front page rendered {PAGES} times, logged",
        "in, with the cache's Redis database holding each number of keys; median time per page, and the",
        "Redis commands one page sends, counted by Redis.",
        "",
        "| keys in Redis | page, median | Redis commands per page | key count shown | "
        "the old count (SCAN of the namespace) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        commands = ", ".join(f"{name} {calls:g}" for name, calls in row["commands"].items())
        lines.append(
            f"| {row['size']:,} | {row['median_ms']:.1f} ms | {commands} | {row['shown']} | "
            f"{row['scan_ms']:.0f} ms for {row['scanned']:,} keys |"
        )
    verdict = "within" if ratio <= LIMIT else "NOT within"
    lines += [
        "",
        f"The page at {large['size']:,} keys takes {ratio:.2f}x the time it takes at {small['size']:,}: "
        f"{verdict} the {LIMIT}x target. It sends the same commands at both sizes: one `DBSIZE`, "
        "and past 1 000 keys one pipeline of `RANDOMKEY` samples instead of a `SCAN`; the stats are one "
        "`HGETALL` of the totals and one of the series. The old count walked every key of the "
        "namespace on every view (last column).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    process, url = _redis()
    try:
        with tempfile.TemporaryDirectory() as workdir:
            rows = measure(url, workdir)
    finally:
        process.terminate()
        process.wait(timeout=10)
    text = report(rows)
    OUT.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
