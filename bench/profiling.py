"""Where an operation's time goes: pyinstrument over many iterations of one case.

The breakdown is computed from the profile rather than written by hand, so
the report explains the numbers of *this* run: every function that takes
at least 1% of the operation, with its inclusive share. Shares
are what to read: a profiler slows Python calls down, and small functions
more than large ones, so its absolute times are inflated.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from pyinstrument import Profiler
from pyinstrument.frame import Frame

from .harness import Case

MIN_SHARE = 0.01
TEXT_LINES = 70


@dataclass
class Profile:
    """One case's profile: inclusive shares of its op by function, and the rendered tree.

    ``iterations`` counts ``unit``: the op's iterations for pyinstrument,
    the samples taken for a profile of another process (py-spy).
    """

    setup: str
    label: str
    group: str
    iterations: int
    shares: list[tuple[str, float]]
    text: str
    unit: str = "iterations"
    tool: str = "pyinstrument"


def _profiled_op(case: Case) -> None:
    """A named frame around the op, to find it in the profile."""
    case.op()


def _name(frame: Frame) -> str:
    qualified = f"{frame.class_name}.{frame.function}" if frame.class_name else frame.function
    module = (frame.file_path_short or "").removesuffix(".py").replace("/", ".")
    return f"{qualified} ({module.rsplit('.', 1)[-1]})" if module else qualified


def _walk(frame: Frame, path: frozenset[str]) -> Iterator[tuple[str, float]]:
    """(name, inclusive time) of every frame below, each function once per stack."""
    for child in frame.children:
        name = _name(child)
        if name not in path:
            yield name, child.time
        yield from _walk(child, path | {name})


def _op_frames(frame: Frame) -> Iterator[Frame]:
    if frame.function == _profiled_op.__name__:
        yield frame
        return
    for child in frame.children:
        yield from _op_frames(child)


def profile_case(setup: str, case: Case, seconds: float = 2.0) -> Profile:
    """Profile ``case.op`` (resets excluded from the shares) for about ``seconds``."""
    profiler = Profiler(interval=0.0001)
    iterations = 0
    with case.scope():
        profiler.start()
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            case.reset()
            _profiled_op(case)
            iterations += 1
        profiler.stop()
    root = profiler.last_session.root_frame() if profiler.last_session else None
    totals: dict[str, float] = {}
    op_time = 0.0
    for op_frame in _op_frames(root) if root else ():
        op_time += op_frame.time
        for name, spent in _walk(op_frame, frozenset()):
            totals[name] = totals.get(name, 0.0) + spent
    shares = sorted(
        ((n, t / op_time) for n, t in totals.items() if op_time and t / op_time >= MIN_SHARE),
        key=lambda item: -item[1],
    )
    text = profiler.output_text(unicode=True, color=False, show_all=False)
    return Profile(
        setup,
        case.label,
        case.group,
        iterations,
        shares,
        "\n".join(text.splitlines()[:TEXT_LINES]),
    )
