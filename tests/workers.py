"""Code run in separate processes by the multi-process tests."""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import event

from tests.models import User, db

READS = {
    "get": lambda: User.cache.get(1).views,
    "filter": lambda: User.cache.filter(username="user1")[0].views,
    "all": lambda: User.cache.filter(limit=1)[0].views,
    "window": lambda: User.cache.window(0, 1)[0][0].views,  # the page and the count under one lock
}


def read_loop(
    database_url: str,
    region: dict[str, Any],
    committed: Any,
    reads: Any,
    stop: Any,
    results: Any,
    threads: int = len(READS),
    pause: float = 0.002,
) -> None:
    """Read user 1 from several threads until told to stop; report reads and stale ones.

    A read is stale when it returns a value older than the one the writer had
    committed before the read began. Each SELECT is followed by ``pause``
    seconds, widening the window between a database read and its cache write.
    """
    from tests.conftest import make_app

    app = make_app(database_url, {"default": region})
    stale: list[tuple[str, int, int]] = []
    counts = [0] * threads

    def loop(index: int) -> None:
        name, read = list(READS.items())[index % len(READS)]
        with app.app_context():
            while not stop.value:
                floor = committed.value
                value = read()
                db.session.remove()
                if value < floor:
                    stale.append((name, floor, value))
                counts[index] += 1
                if counts[index] % 50 == 0:
                    with reads.get_lock():
                        reads.value += 50

    with app.app_context():
        event.listen(db.engine, "after_cursor_execute", lambda *args: time.sleep(pause))
    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    results.put((sum(counts), stale))
