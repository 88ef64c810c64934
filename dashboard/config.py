"""Default configuration: SQLite and the in-memory cache, switched by the environment.

``DATABASE_URL`` selects another database (e.g. PostgreSQL), ``CACHE_REDIS_URL``
puts the cache on Redis (one cache shared by every worker process) and
``SECRET_KEY`` signs sessions, and ``CACHE_ENABLED=0`` turns the cache off
(reads go to the database), to compare. Without ``SECRET_KEY`` a random key is made
per process, which logs everyone out on restart.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any


def default_config(instance_path: str) -> dict[str, Any]:
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{Path(instance_path) / 'dashboard.db'}"
    redis_url = os.environ.get("CACHE_REDIS_URL")
    if redis_url:
        region: dict[str, Any] = {
            "backend": "dogpile.cache.redis",
            "expiration_time": 300,
            "arguments": {"url": redis_url, "socket_timeout": 1.0},
        }
    else:
        region = {"backend": "dogpile.cache.memory", "expiration_time": 300}
    return {
        "CACHE_ENABLED": os.environ.get("CACHE_ENABLED", "1").lower() not in ("0", "false", "no", "off"),
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_hex(32),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "CACHE_REGIONS": {"default": region},
    }
