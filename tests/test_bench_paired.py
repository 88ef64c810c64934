"""``bench.paired``: a ratio timed in pairs is the ratio of the work, whatever the resets cost."""

import contextlib
import time

from bench import paired


def _work(rounds: int) -> None:
    total = 0
    for i in range(rounds):
        total += i * i


def test_twice_the_work_reads_as_twice_the_time():
    found = paired.ratio((lambda: _work(4000), lambda: None), (lambda: _work(2000), lambda: None), chunks=21)

    assert 1.6 < found["ratio"] < 2.5
    assert found["low"] <= found["ratio"] <= found["high"]


def test_resets_are_not_timed():
    """A reset that takes longer than the operation, on one side only, changes nothing."""
    slow_reset = (lambda: _work(1000), lambda: time.sleep(0.0005))
    found = paired.ratio(slow_reset, (lambda: _work(1000), lambda: None), chunks=21)

    assert 0.7 < found["ratio"] < 1.4


def test_each_side_runs_within_its_own_context_untimed():
    """Two apps' reads alternate: each side's operation runs inside its context, whose entry costs nothing."""
    inside = {"top": False, "bottom": False}

    @contextlib.contextmanager
    def entered(side, seconds):
        time.sleep(seconds)
        inside[side] = True
        yield
        inside[side] = False

    def work(side):
        assert inside[side] and not inside[{"top": "bottom", "bottom": "top"}[side]]
        _work(1000)

    found = paired.ratio(
        (lambda: work("top"), lambda: None),
        (lambda: work("bottom"), lambda: None),
        chunks=21,
        within=(lambda: entered("top", 0.002), lambda: entered("bottom", 0)),
    )

    assert 0.7 < found["ratio"] < 1.4
