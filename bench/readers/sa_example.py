"""SQLAlchemy's own ``examples/dogpile_caching``, loaded from the source distribution.

The example is not installed with SQLAlchemy, and copying it here would
let it drift from the version being compared, so the sdist of the
*installed* version is downloaded once with pip into a cache directory
outside the repository and ``caching_query.py`` is imported from there.
Its API: an ``ORMCache`` listens on the session's ``do_orm_execute``; a
statement with its ``FromCache`` option is answered from the region,
stored as a ``FrozenResult`` and merged into the session (``load=False``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from types import ModuleType
from typing import Any

import sqlalchemy
from sqlalchemy import event

from dashboard.extensions import db

from ..environment import Setup
from . import get_statement, listing_statement, rival_region

EXAMPLE = Path("examples", "dogpile_caching", "caching_query.py")


def _cache_dir() -> Path:
    base = os.environ.get("BENCH_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "caching-bench"
    )
    return Path(base)


def example_source(version: str = sqlalchemy.__version__) -> Path:
    """``caching_query.py`` of SQLAlchemy ``version``, downloaded and extracted if needed."""
    root = _cache_dir() / f"sqlalchemy-{version}"
    path = root / f"sqlalchemy-{version}" / EXAMPLE
    if path.exists():
        return path
    root.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--disable-pip-version-check",
            "--no-binary",
            ":all:",
            "--no-deps",
            f"sqlalchemy=={version}",
            "--dest",
            str(root),
        ],
        check=True,
    )
    (archive,) = root.glob(f"sqlalchemy-{version}.tar.gz")
    with tarfile.open(archive) as tar:
        member = f"sqlalchemy-{version}/{EXAMPLE.as_posix()}"
        tar.extract(member, root, filter="data")
    return path


def load_example() -> ModuleType:
    """The example's ``caching_query`` module, imported from its file."""
    spec = importlib.util.spec_from_file_location("sqlalchemy_example_caching_query", example_source())
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def md5_key_mangler(key: str) -> str:
    """The example's mangler (environment.py): its keys are whole SQL strings."""
    return hashlib.md5(key.encode("ascii")).hexdigest()


class SQLAlchemyExampleReader:
    """Statements with the example's ``FromCache`` on ``db.session``; invalidation by hand."""

    name = "SQLAlchemy example"
    kind = "rival"
    caches = True

    def __init__(self, setup: Setup, example: ModuleType) -> None:
        self.region = rival_region(setup, key_mangler=md5_key_mangler)
        self.regions = [self.region]
        self.option = example.FromCache("default")
        self.orm_cache = example.ORMCache({"default": self.region})
        self.orm_cache.listen_on_session(db.session)

    def get(self, pk: int) -> Any:
        return db.session.execute(get_statement(pk).options(self.option)).scalar_one_or_none()

    def forget(self, pk: int) -> None:
        self.orm_cache.invalidate(get_statement(pk).options(self.option), {}, self.option)

    def listing(self, views: int) -> list[Any]:
        return list(db.session.scalars(listing_statement(views).options(self.option)))

    def forget_listing(self, views: int) -> None:
        self.orm_cache.invalidate(listing_statement(views).options(self.option), {}, self.option)

    def close(self) -> None:
        event.remove(db.session, "do_orm_execute", self.orm_cache._do_orm_execute)
