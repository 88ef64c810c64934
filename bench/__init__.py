"""Benchmarks of the model cache against its rivals and against hard floors.

Not part of the test suite: run ``bash bench/run``. Timing is pyperf's
(calibration, warm-ups, worker processes, metadata; ``python -m pyperf
compare_to`` compares two runs' JSON); exact counts (SQL statements, backend
calls, round trips) are asserted by tests (``tests/test_bench_counts.py``)
and only printed here, through the same helper (:mod:`bench.counts`).
"""
