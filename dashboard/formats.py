"""How the dashboard writes counts, durations and times: "1 key", "3 min", "5 min ago"."""

from __future__ import annotations

import datetime

UNITS = (("d", 86_400), ("h", 3_600), ("min", 60), ("s", 1))


def plural(count: int, word: str) -> str:
    """``1 key``, ``2 keys``, ``0 keys``."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def duration(seconds: float | None) -> str:
    """A span in its largest whole unit (``42 s``, ``3 min``, ``2 h``); ``—`` when unknown."""
    if seconds is None:
        return "—"
    sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
    name, size = next((u for u in UNITS if seconds >= u[1]), UNITS[-1])
    return f"{sign}{int(seconds // size)} {name}"


def ago(iso_time: str, now: datetime.datetime | None = None) -> str:
    """``5 min ago`` for an ISO time with an offset (``just now`` under a second)."""
    now = now or datetime.datetime.now(datetime.UTC)
    try:
        seconds = (now - datetime.datetime.fromisoformat(iso_time)).total_seconds()
    except (TypeError, ValueError):  # a log entry's time is checked as text only
        return iso_time
    return "just now" if 0 <= seconds < 1 else f"{duration(seconds)} ago"


HELPERS = {"plural": plural, "duration": duration, "ago": ago}
