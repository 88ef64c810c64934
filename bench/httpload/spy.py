"""Where a gunicorn worker's time goes under load: py-spy, from outside the process.

The server is profiled as it runs, unmodified: py-spy samples one worker
(the load is spread evenly over the four) while wrk keeps it busy. The
stacks are read back from py-spy's collapsed ("raw") output and summed in
two ways: the inclusive share of every function, as the library's
profiles show them, and the request split into parts (the read, the
template, the login check...) that the report reasons with. A sample
belongs to the first part whose function is on its stack, in the order of
``PARTS``, so the parts add up to the whole.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..profiling import MIN_SHARE, Profile

RATE = 250  # samples per second
GROUP = "HTTP"
REQUEST_FRAME = "SyncWorker.handle"  # the worker handling one connection: its request, start to end
SELF_ROWS = 25
_LINE = re.compile(r":\d+\)$")
_FILE = re.compile(r" \((?:.*site-packages/)?([^()]*?)(?:\.py)?\)$")

READ = "reading the data (`Model.cache`, `FromCache`, lazy loads; SQL when off)"
LOGIN = "loading the signed-in admin (Flask-Login `user_loader`: cached, 1 SELECT when off)"
RENDER = "rendering the template (Jinja2; Flask-Admin's list and row actions)"
TEARDOWN = "closing the session (`ROLLBACK` of the request's transaction)"
FLASK = "the rest of Flask and Flask-Admin (routing, contexts, cookie, CSRF, access check)"
GUNICORN = "gunicorn (reading the request, writing the response, closing)"
LOOP = "gunicorn's worker loop, between requests"
PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (LOGIN, ("load_admin (",)),
    (READ, ("Cache.", "Session.execute (", "Session.scalars (", "Query.all (", "Query.scalar (")),
    (RENDER, ("render_template (", "BaseView.render (")),
    (TEARDOWN, ("Flask.do_teardown_appcontext (",)),
    (FLASK, ("Flask.wsgi_app (",)),
    (GUNICORN, (f"{REQUEST_FRAME} (",)),
)


@dataclass
class WorkerProfile:
    """One worker's profile: the shares table and text (as the library's), and the request's parts."""

    profile: Profile
    parts: dict[str, float]


def available() -> bool:
    return shutil.which("py-spy") is not None


def _frame(raw: str) -> str:
    """``Flask.wsgi_app (flask/app.py:1479)`` -> ``Flask.wsgi_app (flask/app)``."""
    return _FILE.sub(lambda m: f" ({m.group(1)})", _LINE.sub(")", raw))


def read_stacks(path: Path) -> Counter[tuple[str, ...]]:
    """py-spy's raw output: one ``frame;frame;...;frame count`` line per distinct stack."""
    stacks: Counter[tuple[str, ...]] = Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks[tuple(_frame(f) for f in stack.split(";"))] += int(count)
    return stacks


def _request(stack: tuple[str, ...]) -> tuple[str, ...]:
    """The part of a stack from the worker's handling of a request down; empty between requests."""
    for i, frame in enumerate(stack):
        if frame.startswith(f"{REQUEST_FRAME} ("):
            return stack[i:]
    return ()


def _part(stack: tuple[str, ...]) -> str:
    for part, needles in PARTS:
        if any(frame.startswith(needles) for frame in stack):
            return part
    return LOOP


def summarize(stacks: Counter[tuple[str, ...]], setup: str, label: str) -> WorkerProfile:
    """Inclusive shares, the hottest functions by self time, and the parts, from the stacks."""
    total = sum(stacks.values()) or 1
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    parts: Counter[str] = Counter()
    for stack, count in stacks.items():
        for name in set(_request(stack)):
            inclusive[name] += count
        own[stack[-1]] += count
        parts[_part(stack)] += count
    shares = [(name, n / total) for name, n in inclusive.most_common() if n / total >= MIN_SHARE]
    text = "\n".join(
        [f"self time, share of {total:,} samples:"]
        + [f"{n / total:6.1%}  {name}" for name, n in own.most_common(SELF_ROWS)]
    )
    profile = Profile(setup, label, GROUP, total, shares, text, unit="samples", tool="py-spy")
    return WorkerProfile(profile, {part: parts[part] / total for part, _ in (*PARTS, (LOOP, ()))})


def profile_worker(
    pid: int, seconds: int, load: Callable[[int], Any], out: Path, setup: str, label: str
) -> WorkerProfile:
    """Sample worker ``pid`` for ``seconds`` while ``load(seconds)`` keeps it busy.

    ``--gil``: only samples where the worker holds the GIL, i.e. runs
    Python: its waits on a socket (PostgreSQL, Redis, the next
    connection) release the GIL and are left out, so shares are shares of
    the worker's CPU, which is what the cores are short of.
    ``--nonblocking``: the worker is not paused to be read, so the profile
    does not slow it down; ``--function``: lines of one function count as one.
    """
    command = [
        "py-spy", "record", "--pid", str(pid),
        "--duration", str(seconds), "--rate", str(RATE),
        "--format", "raw", "--function", "--nonblocking", "--gil",
        "--output", str(out),
    ]  # fmt: skip
    spy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        load(seconds + 1)  # a second more, so the load covers the whole recording
        _, errors = spy.communicate(timeout=seconds + 30)
    except BaseException:
        spy.kill()
        spy.wait()
        raise
    if spy.returncode != 0 or not out.exists():
        raise RuntimeError(f"py-spy failed: {errors.decode(errors='replace').strip()[-300:]}")
    return summarize(read_stacks(out), setup, label)
