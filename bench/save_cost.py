"""What invalidation costs a save: SQL statements and time per commit.

    python -m bench.save_cost [--baseline REV] [--database URL] [--redis URL]

Each variant runs in a process of its own on the same database: the app
without the cache, the library as it was at ``--baseline`` (checked out in a
temporary git worktree), and the library in this tree. A save is a commit
after changing objects loaded beforehand (the load is not timed): one update,
ten updates in one commit, an insert, a delete. Statements are counted with
``before_cursor_execute`` (exact); times are the best of several rounds, as
ratios to the no-cache run, so they compare within one run only. Writes a
markdown table to ``docs/benchmarks/save_cost.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "benchmarks" / "save_cost.md"
ROUNDS = 5
SAVES = 100
SEED = 100


def _workload(cached: bool, database: str, redis_url: str | None) -> dict[str, dict[str, float]]:
    """Time each kind of save in the app of whichever tree is first on ``sys.path``."""
    from flask import Flask
    from sqlalchemy import event

    from dashboard.extensions import caching, db
    from dashboard.models import User

    backend = (
        {"backend": "dogpile.cache.redis", "expiration_time": 300, "arguments": {"url": redis_url}}
        if redis_url
        else {"backend": "dogpile.cache.memory", "expiration_time": 300}
    )
    app = Flask("save_cost")
    app.config.update(
        SQLALCHEMY_DATABASE_URI=database, SECRET_KEY="bench", CACHE_REGIONS={"default": backend}
    )
    db.init_app(app)
    if cached:
        caching.init_app(app, db)
    statements = 0

    def count(*args: Any) -> None:
        nonlocal statements
        statements += 1

    with app.app_context():
        db.drop_all()
        db.create_all()
        db.session.add_all(User(username=f"u{i}", email=f"u{i}@example.org", views=0) for i in range(SEED))
        db.session.commit()
        event.listen(db.engine, "before_cursor_execute", count)
        serial = iter(range(10**9))

        def update(n: int) -> Callable[[], None]:
            def prepare() -> None:
                db.session.remove()
                for user in db.session.query(User).filter(User.id <= n):
                    user.views += 1

            return prepare

        def insert() -> None:
            db.session.remove()
            db.session.add(User(username=f"new{next(serial)}", email="n@example.org", views=1))

        def delete() -> None:
            db.session.remove()
            user = User(username=f"gone{next(serial)}", email="g@example.org", views=2)
            db.session.add(user)
            db.session.commit()
            db.session.delete(user)

        results = {}
        for name, prepare in (
            ("update 1 object", update(1)),
            ("update 10 objects", update(10)),
            ("insert 1 object", insert),
            ("delete 1 object", delete),
        ):
            best = float("inf")
            per_save = 0.0
            for _ in range(ROUNDS):
                elapsed = 0.0
                counted = 0
                for _ in range(SAVES):
                    prepare()
                    before = statements
                    started = time.perf_counter()
                    db.session.commit()
                    elapsed += time.perf_counter() - started
                    counted += statements - before
                best = min(best, elapsed / SAVES)
                per_save = counted / SAVES
            results[name] = {"seconds": best, "statements": per_save}
        db.session.remove()
        db.drop_all()
    return results


def _run_variant(tree: Path, cached: bool, database: str, redis_url: str | None) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", "cached" if cached else "plain"]
    command += ["--database", database] + (["--redis", redis_url] if redis_url else [])
    env = {**os.environ, "PYTHONPATH": str(tree)}
    output = subprocess.run(command, env=env, check=True, capture_output=True, text=True, cwd=tree).stdout
    return json.loads(output.strip().splitlines()[-1])


def _table(variants: dict[str, dict[str, Any]]) -> str:
    plain = variants["no cache"]
    lines = [
        "| save | " + " | ".join(variants) + " |",
        "| --- |" + " --- |" * len(variants),
    ]
    for save in plain:
        cells = []
        for results in variants.values():
            result = results[save]
            ratio = result["seconds"] / plain[save]["seconds"]
            cells.append(f"{result['seconds'] * 1e6:.0f} µs ({ratio:.2f}x), {result['statements']:g} SQL")
        lines.append(f"| {save} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.save_cost", description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default="05da5f0", help="the revision to compare with (before issue 8)")
    parser.add_argument("--database", action="append", help="database URL (repeat); default a SQLite file")
    parser.add_argument("--redis", help="put the cache on this Redis (default: the memory backend)")
    parser.add_argument("--worker", choices=("cached", "plain"), help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(_workload(args.worker == "cached", args.database[0], args.redis)))
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        databases = args.database or [f"sqlite:///{scratch}/save_cost.db"]
        baseline = Path(scratch) / "baseline"
        checkout = ["git", "worktree", "add", "--detach", "-q", str(baseline), args.baseline]
        subprocess.run(checkout, cwd=ROOT, check=True)
        try:
            sections = []
            for database in databases:
                variants = {
                    "no cache": _run_variant(ROOT, False, database, args.redis),
                    f"cache at {args.baseline}": _run_variant(baseline, True, database, args.redis),
                    "cache now": _run_variant(ROOT, True, database, args.redis),
                }
                setup = f"{database.split(':', 1)[0]}, cache on {'Redis' if args.redis else 'memory'}"
                sections.append(f"### {setup}\n\n{_table(variants)}")
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(baseline)], cwd=ROOT, check=True)
    args.out.write_text(
        "# What a save costs\n\n"
        "`python -m bench.save_cost` (see its docstring): time per commit, best of "
        f"{ROUNDS} rounds of {SAVES} saves, with its ratio to no cache, and SQL statements per commit.\n\n"
        + "\n\n".join(sections)
        + "\n"
    )
    print(args.out.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
