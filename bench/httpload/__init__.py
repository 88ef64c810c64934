"""The HTTP part of the benchmarks: the dashboard under gunicorn, loaded by ``wrk``.

The library benchmarks time one operation in one process; what a user of
the dashboard sees is a whole request: gunicorn, Flask, Flask-Login, the
read and the template. This part serves ``dashboard:create_app()`` with
gunicorn on PostgreSQL + Redis, once with the cache on and once with
``CACHE_ENABLED=0``, and drives two pages with ``wrk`` from another
process on loopback: requests/s, latency percentiles and errors, the CPU
each process spent per request, and a py-spy profile of one worker.
"""

from __future__ import annotations

from .results import HttpBudget, HttpRun
from .runner import run_http

__all__ = ["HttpBudget", "HttpRun", "run_http"]
