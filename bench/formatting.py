"""How the report writes numbers and profiles, shared by the library's sections and the HTTP one."""

from __future__ import annotations

from .profiling import Profile

NOT_MEASURED = "—"
TIMES = "\u00d7"
PROFILE_ROWS = 16


def divide(a: float | None, b: float | None) -> float | None:
    """``a / b``, or None when either is missing or ``b`` is zero: a ratio never raises in a report."""
    return a / b if a is not None and b else None


def us(value: float | None) -> str:
    """Microseconds, to three figures or so."""
    if value is None:
        return NOT_MEASURED
    return f"{value:.1f}" if value < 100 else f"{value:,.0f}"


def pct(value: float | None) -> str:
    return NOT_MEASURED if value is None else f"{value:.0%}"


def ratio(value: float | None) -> str:
    return NOT_MEASURED if value is None else f"{value:.2f}{TIMES}"


def profile_table(profile: Profile) -> list[str]:
    """A profile folded away (``<details>``): its shares table, then its text."""
    rows = [
        f"<details><summary>Profile: {profile.group}, {profile.label} ({profile.setup}, "
        f"{profile.iterations:,} {profile.unit}, {profile.tool})</summary>",
        "",
        "| function (module) | share of the operation |",
        "| --- | ---: |",
    ]
    rows += [f"| `{name}` | {share:.0%} |" for name, share in profile.shares[:PROFILE_ROWS]]
    rows += ["", "```text", profile.text, "```", "", "</details>"]
    return rows
