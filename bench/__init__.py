"""Benchmarks of the model cache against its rivals and against hard floors.

Not part of the test suite: run ``bash bench/run`` (or ``python -m bench``
with the services already up). Every number in the report is measured in
one process and one run, so ratios between rows are meaningful even on a
noisy machine, where absolute microseconds are not.
"""
