"""Default configuration: SQLite and the in-memory cache, switched by the environment.

``DATABASE_URL`` selects another database (e.g. PostgreSQL), ``CACHE_REDIS_URL``
puts the cache on Redis (one cache shared by every worker process),
``CACHE_ENABLED=0`` turns the cache off (reads go to the database), to compare.
``SECRET_KEY`` signs sessions; without it a key is generated on first run and
kept in the instance folder, so that every worker and every restart agree.
``SESSION_COOKIE_SECURE=1`` sends the session cookie over HTTPS only, and
``DEMO_PUBLIC=1`` opens the demo pages to visitors who have not logged in.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

KEY_FILE_NAME = "secret_key"


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
        "CACHE_ENABLED": _flag("CACHE_ENABLED", True),
        "SECRET_KEY": os.environ.get("SECRET_KEY"),  # else create_app's instance_secret_key
        "SQLALCHEMY_DATABASE_URI": database_url,
        # a pooled connection that died with the database is replaced, not handed to a request
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "CACHE_REGIONS": {"default": region},
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _flag("SESSION_COOKIE_SECURE", False),
        "DEMO_PUBLIC": _flag("DEMO_PUBLIC", False),
    }


def instance_secret_key(instance: Path) -> str:
    """The key kept in ``instance/secret_key``, made on first run. Several workers
    starting at once agree: the file appears whole (written aside, then linked in)
    and the first link wins."""
    path = instance / KEY_FILE_NAME
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        draft = instance / f".{KEY_FILE_NAME}.{os.getpid()}.{secrets.token_hex(4)}"
        draft.write_text(secrets.token_hex(32))
        draft.chmod(0o600)
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another worker was first: use its key
        finally:
            draft.unlink()
    return path.read_text().strip()


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.lower() not in ("0", "false", "no", "off", "")
